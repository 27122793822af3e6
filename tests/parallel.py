"""`make test`: the whole suite in a few pytest processes side by side, so that it stays well under
CI's ten minutes as it grows.

Most of a test's time is waiting (for the broker, a database, a service's timer, a CLI process),
so a few processes finish sooner even on two cores; past a few, the suite is CPU-bound and more jobs
only add their own nodes and polling: four by default (a quiet fresh clone on 2026-12-07, the jobs'
seconds with 3 / 4 / 5 jobs: 515 / 490 / 521; docs/operations.md#the-suites-time). Each process is a pytest session of its
own with its own RabbitMQ node, databases and second PostgreSQL server (tests/conftest.py): they
share nothing but the machine. pytest-xdist cannot be used: its workers talk over execnet threads,
which eventlet's monkey patching (tests/conftest.py) stops, and the run hangs at "bringing up nodes".

Test files are dealt out longest first to the process with the least work so far, by the seconds
each file took in a measured run (tests/durations.json; `--record` writes it from this run) or, for a
file not measured yet, an estimate from its layer and number of tests. A whole file stays in one
process (module fixtures start services once per file). Files marked `whole_hub` (a hub of service
processes, up to about 30 PostgreSQL connections at once) go to the first WHOLE_HUB_JOBS processes only,
so that no more than two such hubs run at once: with three beside the other jobs the machine's PostgreSQL
ran out of its 100 connections (docs/operations.md#tests-and-postgresql-connections); in one process
they were its long pole (526 of 2,100 test-seconds). End-to-end files are dealt like the others: kept
together in one process they made that process the run's long pole (about 1300 of 6100 test-seconds).

    python -m tests.parallel [--jobs N] [--record] [pytest arguments and paths ...]
    python -m tests.parallel --print-jobs   (the number of jobs: --jobs, MELDPUNT_TEST_JOBS, else JOBS)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOBS = 4  # by default; tools/prepare asks here (--print-jobs) how many jobs' connections to expect
DURATIONS = ROOT / "tests" / "durations.json"
# seconds per test where a file has no measured duration yet, by layer
ESTIMATE = {"unit": 0.4, "integration": 6.0, "e2e": 40.0}
TEST = re.compile(r"^\s*(?:async\s+)?def (test_\w+)", re.MULTILINE)


def jobs() -> int:
    """MELDPUNT_TEST_JOBS, else JOBS."""
    return int(os.environ.get("MELDPUNT_TEST_JOBS") or JOBS)


def layer(path: str) -> str:
    parts = Path(path).parts
    return next((p for p in parts if p in ESTIMATE), "integration")


def test_files(paths: list[str]) -> list[str]:
    files = []
    for given in paths or ["tests"]:
        if "::" in given:  # one test: as given
            files.append(given)
            continue
        p = (ROOT / given) if not Path(given).is_absolute() else Path(given)
        found = [p] if p.is_file() else sorted(p.rglob("test_*.py"))
        files += [str(f.relative_to(ROOT)) for f in found if "triage_corpus" not in f.parts]
    return files


def expected_seconds(files: list[str]) -> dict[str, float]:
    measured = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    out = {}
    for f in files:
        if f in measured:
            out[f] = measured[f]
        else:
            tests = len(TEST.findall((ROOT / f.split("::")[0]).read_text(encoding="utf-8")))
            out[f] = max(1, tests) * ESTIMATE[layer(f)]
    return out


WHOLE_HUB = re.compile(r"^pytestmark\s*=.*\bpytest\.mark\.whole_hub\b", re.MULTILINE)


def whole_hub(path: str) -> bool:
    """Whether the file is marked `whole_hub` (pytestmark): it needs many connections at once by design."""
    return bool(WHOLE_HUB.search((ROOT / path.split("::")[0]).read_text(encoding="utf-8")))


WHOLE_HUB_JOBS = 2


def deal(files: list[str], jobs: int) -> list[list[str]]:
    """Longest first to the least loaded job; the `whole_hub` files first, to the first WHOLE_HUB_JOBS jobs only."""
    seconds = expected_seconds(files)
    groups: list[list[str]] = [[] for _ in range(jobs)]
    load = [0.0] * jobs
    for f in sorted(files, key=lambda f: (not whole_hub(f), -seconds[f])):
        i = min(range(min(jobs, WHOLE_HUB_JOBS) if whole_hub(f) else jobs), key=lambda j: load[j])
        groups[i].append(f)
        load[i] += seconds[f]
    return [sorted(g) for g in groups if g]


def run(groups: list[list[str]], pytest_args: list[str], record: bool) -> int:
    logs = Path(tempfile.mkdtemp(prefix="meldpunt-tests-"))
    started, procs = time.monotonic(), []
    for n, group in enumerate(groups, 1):
        log = logs / f"job{n}.log"
        report = logs / f"job{n}.json"
        argv = [sys.executable, "-u", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *pytest_args, *group]
        if record:
            argv += ["--durations=0", "--durations-min=0"]
        print(f"job {n}: {len(group)} files, pytest output in {log}", flush=True)
        procs.append((n, subprocess.Popen(argv, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                          env={**os.environ, "MELDPUNT_TEST_JOB": str(n),
                                               "PGAPPNAME": f"meldpunt-tests-job{n}"}), log, report))
    worst = 0
    for n, proc, log, _ in procs:
        code = proc.wait()
        text = log.read_text(errors="replace")
        summary = next((line for line in reversed(text.splitlines()) if line.strip()), "")
        print(f"job {n}: exit {code} after {time.monotonic() - started:.0f} s: {summary}", flush=True)
        if code not in (0, 5):  # 5: no tests collected; a job killed by a signal has a negative code
            worst = worst or (code if code > 0 else 1)
    for n, proc, log, _ in procs:
        if proc.returncode not in (0, 5):
            print(f"\n{'=' * 30} job {n} (exit {proc.returncode}) {'=' * 30}\n{log.read_text(errors='replace')}")
    if record:
        _record(procs)
    print(f"all jobs done in {time.monotonic() - started:.0f} s: {'passed' if worst == 0 else 'FAILED'}")
    return worst


def _record(procs) -> None:
    """Seconds per test file (setup, call and teardown of its tests) from the runs' --durations."""
    line = re.compile(r"^([\d.]+)s (?:setup|call|teardown)\s+(\S+?)::")
    per_file: dict[str, float] = {}
    for _, _, log, _ in procs:
        for m in map(line.match, log.read_text(errors="replace").splitlines()):
            if m:
                per_file[m.group(2)] = round(per_file.get(m.group(2), 0.0) + float(m.group(1)), 1)
    if per_file:
        DURATIONS.write_text(json.dumps(dict(sorted(per_file.items())), indent=1) + "\n")
        print(f"recorded the seconds of {len(per_file)} files in {DURATIONS.relative_to(ROOT)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=jobs())
    parser.add_argument("--record", action="store_true", help="write tests/durations.json from this run")
    parser.add_argument("--print-jobs", action="store_true", help="print the number of jobs and stop (tools/prepare)")
    args, rest = parser.parse_known_args(argv)
    if args.print_jobs:
        print(max(1, args.jobs))
        return 0
    paths = [a for a in rest if not a.startswith("-") and (ROOT / a.split("::")[0]).exists()]
    options = [a for a in rest if a not in paths]
    files = test_files(paths)
    if not files:
        print("no test files", file=sys.stderr)
        return 2
    return run(deal(files, max(1, args.jobs)), options, args.record)


if __name__ == "__main__":
    sys.exit(main())
