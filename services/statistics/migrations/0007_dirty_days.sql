-- Days whose counts must be recomputed: folding an event marks its incident's day here instead
-- of recounting at once; a timer (and every read of the figures) recounts the marked days, each
-- once however many events touched it.
CREATE TABLE statistics.dirty_days (
    municipality  text NOT NULL,
    day           date NOT NULL,
    PRIMARY KEY (municipality, day)
);
