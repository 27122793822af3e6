"""The suite's own timeout (tests/conftest.py): a test over its time fails alone and the run goes on."""
import re
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_slow_test_fails_alone_and_the_next_test_still_runs(tmp_path):
    (tmp_path / "test_slow.py").write_text(textwrap.dedent("""
        import eventlet
        import pytest

        @pytest.mark.timeout(1)
        def test_waits_too_long():
            eventlet.sleep(60)

        def test_after_it():
            assert sum([1, 1]) == 2
    """))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                          "--durations=0", "--durations-min=0",
                          "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=280)

    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "Timeout: the test took more than 1 s" in run.stdout
    # failed at its timeout, not when its own wait ended: the signal woke eventlet's hub (tests/conftest.py)
    waited = float(re.search(r"^([\d.]+)s call .*test_waits_too_long", run.stdout, re.MULTILINE).group(1))
    assert waited < 30, run.stdout
