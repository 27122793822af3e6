"""The previous release, found in the repository's history and installed into a venv of its own under
var/releases/ (kept there: a rerun takes it as it is).

Which release: the newest `v*` tag reachable from HEAD; a clone without tags (many CI clones) finds it in
CHANGELOG.md, whose release headings carry the commit id (`## v0.1.0 — 2026-12-06 — commit e772960…`).
Only when that commit is not in the clone (a shallow one) is there nothing to install.

How: `git archive` of that commit into `src/`, a venv whose path includes `src/` (as an editable install
would), and the release's own pinned dependencies — taken from the running interpreter's site-packages
when they are the very versions installed there (no download), else installed with pip.
"""
from __future__ import annotations

import fcntl
import importlib.metadata
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from shared.config import REPO_ROOT

RELEASE_HEADING = re.compile(r"^## (v\d+\.\d+\.\d+) — .*?commit ([0-9a-f]{40})\s*$", re.M)


@dataclass(frozen=True)
class Release:
    version: str
    commit: str
    found_by: str          # "tag" or "CHANGELOG.md"


@dataclass(frozen=True)
class Installed:
    release: Release
    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    @property
    def cli_module(self) -> str:
        """The module of its `meldpunt` command (shared.cli in v0.1.0, hub.cli later)."""
        scripts = tomllib.loads((self.src / "pyproject.toml").read_text())["project"]["scripts"]
        return scripts["meldpunt"].split(":")[0]

    def meldpunt(self, env: dict, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.python), "-m", self.cli_module, *args], cwd=self.src, env=env,
                              capture_output=True, text=True, timeout=timeout)


def _git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, timeout=60)


def previous_release() -> Release | str:
    """The release to upgrade from, or why there is none to be had."""
    described = _git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD")
    if described.returncode == 0:
        tag = described.stdout.decode().strip()
        commit = _git("rev-parse", f"{tag}^{{commit}}").stdout.decode().strip()
        return Release(tag, commit, "tag")
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    found = RELEASE_HEADING.search(changelog)
    if not found:
        return "CHANGELOG.md names no release with its commit id"
    version, commit = found.groups()
    if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return (f"the previous release {version} (commit {commit[:12]}, from CHANGELOG.md) is not in this clone's "
                "history: fetch it (git fetch --unshallow, or --tags)")
    return Release(version, commit, "CHANGELOG.md")


def install(release: Release) -> Installed:
    installed = Installed(release, REPO_ROOT / "var" / "releases" / f"{release.version}-{release.commit[:12]}")
    stamp = installed.root / ".installed"
    if stamp.exists():
        return installed
    installed.root.mkdir(parents=True, exist_ok=True)
    with open(installed.root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once: one installs, the other waits
        if stamp.exists():
            return installed
        for leftover in ("src", "venv"):
            shutil.rmtree(installed.root / leftover, ignore_errors=True)
        archive = _git("archive", "--format=tar", release.commit)
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {release.commit}: {archive.stderr.decode().strip()}")
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(installed.src, filter="data")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(installed.root / "venv")], check=True)
        site = Path(subprocess.run([str(installed.python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                    "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
        pins = tomllib.loads((installed.src / "pyproject.toml").read_text())["project"]["dependencies"]
        if all(_installed_here(pin) for pin in pins):
            (site / "meldpunt-release-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        else:
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site), *pins],
                           check=True, timeout=600)
        (site / "meldpunt-release-src.pth").write_text(str(installed.src) + "\n")
        stamp.write_text(f"{release.version} {release.commit}\n")
    return installed


def _installed_here(pin: str) -> bool:
    name, _, version = pin.partition("==")
    try:
        return importlib.metadata.version(name.strip()) == version.strip()
    except importlib.metadata.PackageNotFoundError:
        return False
