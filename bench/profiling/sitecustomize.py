"""Profiles a Python process on CPU time between two signals, when MELDPUNT_PROFILE_DIR is set.

bench/profile_hub.py puts this folder on the hub's PYTHONPATH, so every process the hub
starts loads it. SIGUSR1 starts cProfile (so start-up and imports stay out of the figures),
SIGUSR2 stops it and writes <pid>-<what it is>.prof into MELDPUNT_PROFILE_DIR.
"""
import os

if os.environ.get("MELDPUNT_PROFILE_DIR"):
    import cProfile
    import signal
    import sys
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
