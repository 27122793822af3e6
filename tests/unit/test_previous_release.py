"""How the upgrade test finds the previous release: its tag, else the commit id in CHANGELOG.md, else a reason."""
from __future__ import annotations

import subprocess

from tests import previous_release


def answers(**by_command):
    def git(*args):
        for command, (code, out) in by_command.items():
            if args[0] == command:
                return subprocess.CompletedProcess(args, code, out.encode(), b"")
        raise AssertionError(args)
    return git


def test_the_newest_tag_reachable_from_head(monkeypatch):
    monkeypatch.setattr(previous_release, "_git", answers(describe=(0, "v0.1.0\n"), **{"rev-parse": (0, "ab" * 20)}))
    assert previous_release.previous_release() == previous_release.Release("v0.1.0", "ab" * 20, "tag")


def test_without_tags_the_commit_id_in_the_changelog(monkeypatch):
    monkeypatch.setattr(previous_release, "_git", answers(describe=(128, ""), **{"cat-file": (0, "")}))
    found = previous_release.previous_release()
    assert found.found_by == "CHANGELOG.md" and found.version.startswith("v") and len(found.commit) == 40


def test_a_clone_without_that_history_says_why(monkeypatch):
    monkeypatch.setattr(previous_release, "_git", answers(describe=(128, ""), **{"cat-file": (128, "")}))
    reason = previous_release.previous_release()
    assert isinstance(reason, str) and "is not in this clone's history: fetch it" in reason


def test_the_changelog_names_the_tagged_commit():
    """CHANGELOG.md's release heading and the tag agree (when this clone has the tag)."""
    tagged = subprocess.run(["git", "-C", str(previous_release.REPO_ROOT), "rev-parse", "v0.1.0^{commit}"],
                            capture_output=True, text=True)
    text = (previous_release.REPO_ROOT / "CHANGELOG.md").read_text()
    [(version, commit)] = [m for m in previous_release.RELEASE_HEADING.findall(text) if m[0] == "v0.1.0"]
    if tagged.returncode == 0:
        assert commit == tagged.stdout.strip()
