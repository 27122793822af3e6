"""Names that do not exist fail here, not in the middle of an integration run (pyflakes, undefined names only)."""
import subprocess
from pathlib import Path

from pyflakes.api import checkPath
from pyflakes.reporter import Reporter

REPO = Path(__file__).resolve().parents[2]


class _Collect(Reporter):
    def __init__(self):
        self.found = []

    def flake(self, message):
        if type(message).__name__ in ("UndefinedName", "UndefinedLocal", "UndefinedExport"):
            self.found.append(str(message))

    def unexpectedError(self, filename, msg):
        self.found.append(f"{filename}: {msg}")

    def syntaxError(self, filename, msg, lineno, offset, text):
        self.found.append(f"{filename}:{lineno}: {msg}")


def test_no_undefined_names():
    files = subprocess.check_output(["git", "ls-files", "*.py"], cwd=REPO, text=True).split()
    report = _Collect()
    for name in files:
        checkPath(str(REPO / name), report)
    assert report.found == []
