-- The keys made together with a case's key, found by index (0002).
CREATE INDEX CONCURRENTLY IF NOT EXISTS case_keys_made_with ON hub.case_keys (municipality, made_with)
    WHERE made_with IS NOT NULL;
