"""Helpers for the operations tests: Debian's operations tools (promtool, amtool, pgBackRest), found
or skipped with the reason and the way to get them (`tools/prepare test`, which `make test` runs first)."""
from __future__ import annotations

import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    """The tool's path; skips the test when it is not installed, saying how to install it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed: apt-get install {package} (`tools/prepare test`, which make test runs, does as root)")
    return path
