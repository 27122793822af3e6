"""Dependencies (issue 21, item 16): requirements.lock pins every transitive dependency of the hub and its tests
with hashes, agrees with pyproject.toml, and is what `make install` (and so `make run` and `make test`) installs;
pika is a test dependency only; `make audit` runs pip-audit, or says it could not."""
import re
import tomllib

from shared.config import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every requirement in a pip-compile lock file."""
    found, current = {}, None
    for line in (REPO_ROOT / path).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _PIN.match(line)
        if match:
            current = _normal(match[1])
            found[current] = (match[2], 0)
        elif "--hash=sha256:" in line and current:
            version, hashes = found[current]
            found[current] = (version, hashes + line.count("--hash=sha256:"))
        else:
            assert line.startswith(" ") or line.startswith("-"), line
    return found


def declared(*extras) -> dict[str, str]:
    requirements = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        requirements += PYPROJECT["project"]["optional-dependencies"][extra]
    return {_normal(m[1]): m[2] for m in (_PIN.match(r) for r in requirements)}


def test_the_lock_pins_every_package_with_hashes_and_agrees_with_pyproject():
    lock = locked("requirements.lock")
    assert len(lock) > 60  # the transitive ones too (nameko, eventlet, kombu, … and theirs)
    assert all(hashes >= 1 for _, hashes in lock.values()), [n for n, (_, h) in lock.items() if not h]
    for name, version in declared("test").items():
        assert lock.get(name, (None,))[0] == version, name
    # the editable install builds with these, from the lock (--no-build-isolation)
    assert {"setuptools", "wheel"} <= set(lock)
    for name, version in declared("build").items():
        assert lock[name][0] == version


def test_the_tools_have_their_own_hashed_lock():
    tools = locked("requirements-tools.lock")
    for name, version in declared("tools").items():
        assert tools[name][0] == version
    assert all(hashes >= 1 for _, hashes in tools.values())


def test_pika_is_a_test_dependency_only():
    assert "pika" not in declared()
    assert "pika" in declared("test")


def test_make_installs_the_lock_with_hashes_and_audits():
    makefile = (REPO_ROOT / "Makefile").read_text()
    stamp = makefile[makefile.index("$(STAMP): pyproject.toml"):]
    stamp = stamp[:stamp.index("\n\n")]
    assert "$(LOCK)" in stamp.splitlines()[0]
    assert "--require-hashes --no-deps -r $(LOCK)" in stamp
    assert "--no-deps --no-build-isolation -e ." in stamp
    assert "\naudit:" in makefile and "tools/audit" in makefile
    audit = (REPO_ROOT / "tools" / "audit").read_text()
    assert "pip-audit" in audit and "NOT audited" in audit
