"""Profiles a Python process on CPU time between two signals, when MELDPUNT_PROFILE_DIR is set.

bench/profile_hub.py puts this folder on the hub's PYTHONPATH, so every process the hub
starts loads it. SIGUSR1 starts cProfile (so start-up and imports stay out of the figures),
SIGUSR2 stops it and writes <pid>-<what it is>.prof into MELDPUNT_PROFILE_DIR.
"""
import os
import signal
import sys

if os.environ.get("MELDPUNT_PROFILE_DIR"):
    import cProfile
    import time

    _profile = cProfile.Profile(time.process_time)  # CPU time: a greenthread waiting costs nothing

    def _start(signum, frame):
        _profile.enable()

    def _dump(signum, frame):
        _profile.disable()
        what = sys.argv[-1] if len(sys.argv) > 1 else "python"
        path = os.path.join(os.environ["MELDPUNT_PROFILE_DIR"], f"{os.getpid()}-{what}.prof")
        _profile.dump_stats(path + ".part")
        os.replace(path + ".part", path)  # whole or not at all, for the reader waiting on it

    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _dump)

if os.environ.get("MELDPUNT_SQL_COUNT_DIR"):
    # Counts SQL statements and transactions (bench/profiling/sql_count.py) from the start;
    # SIGRTMIN starts the count anew, SIGRTMIN+1 writes <pid>-<what it is>.sql.json. Real-time
    # signals, so that profiling (SIGUSR1/2 above) can run in the same process.
    import json

    import sql_count

    sql_count.install()

    def _reset(signum, frame):
        sql_count.reset()

    def _write(signum, frame):
        what = sys.argv[-1] if len(sys.argv) > 1 else "python"
        path = os.path.join(os.environ["MELDPUNT_SQL_COUNT_DIR"], f"{os.getpid()}-{what}.sql.json")
        with open(path + ".part", "w") as out:
            json.dump(sql_count.snapshot(), out)
        os.replace(path + ".part", path)

    signal.signal(signal.SIGRTMIN, _reset)
    signal.signal(signal.SIGRTMIN + 1, _write)
