"""Where the hub's CPU goes: the hub of bench/hub_bench.py under a paced load, each service
profiled, and its time split by the library it is spent in.

Two samplers. `cprofile` (the default) profiles every service with cProfile on CPU time
while the load runs (bench/profiling/sitecustomize.py, started and stopped by signals, so
start-up stays out): exact counts, some overhead; the time of C functions (isinstance, a
socket read) counts for the library that called them. `py-spy` samples the running services from outside (`py-spy record`, 100 Hz,
only a thread that holds the GIL, so an eventlet hub waiting in epoll or psycopg2 waiting for the server
is not counted as work) without touching them; py-spy must be installed
(`.venv/bin/pip install py-spy`) and allowed to ptrace the services.

    .venv/bin/python bench/profile_hub.py --rate 40 --duration 30
    .venv/bin/python bench/profile_hub.py --sampler py-spy

Prints per service the share of its profiled time in each library and its busiest functions.
"""
from __future__ import annotations

import argparse
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from hub_bench import INCIDENT, BenchHub, load_and_drain  # noqa: E402

from hub_bench import SERVICES  # noqa: E402  (the five services the bench runs)

# the first group whose marker is in a frame's file (or, for C functions, its name) takes it
GROUPS = (
    ("marshmallow", ("marshmallow",)),
    ("eventlet", ("eventlet", "greenlet")),
    ("psycopg2", ("psycopg2", "Cursor.execute")),
    ("amqp (kombu, py-amqp)", ("kombu", "/amqp/", "'amqp", "pika")),
    ("nameko", ("nameko",)),
    ("http (werkzeug)", ("werkzeug",)),
    ("crypto", ("cryptography", "hmac", "hashlib", "_hashlib")),
    ("json", ("json",)),
    ("logging", ("logging",)),
    ("hub (services/, shared/)", ("/services/", "/shared/")),
)


def group_of(where: str) -> str:
    for name, markers in GROUPS:
        if any(marker in where for marker in markers):
            return name
    return "other (Python itself, socket, select …)"


def _where(key) -> str:
    filename, line, function = key
    return f"{filename}:{line}({function})" if filename != "~" else function


def split_cprofile(path: Path) -> tuple[Counter, list[tuple[float, str]]]:
    """Own time (tottime) per group and the busiest functions of one profile; a C function's
    time goes to the groups of its callers, in proportion."""
    stats = pstats.Stats(str(path)).stats
    groups: Counter = Counter()
    functions = []
    for key, (_, _, own, _, callers) in stats.items():
        functions.append((own, _where(key).replace(str(REPO) + "/", "")))
        if key[0] != "~" or not callers:
            groups[group_of(_where(key))] += own
            continue
        for caller, (_, _, own_from_caller, _) in callers.items():
            groups[group_of(_where(caller)) if caller[0] != "~" else group_of(_where(key))] += own_from_caller
    return groups, sorted(functions, reverse=True)


def split_collapsed(path: Path) -> tuple[Counter, list[tuple[float, str]]]:
    """Samples per group by each sample's innermost frame, from py-spy's collapsed stacks."""
    groups: Counter = Counter()
    leaves: Counter = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        groups[group_of(leaf)] += int(count)
        leaves[leaf.replace(str(REPO) + "/", "")] += int(count)
    return groups, sorted(((n, leaf) for leaf, n in leaves.items()), reverse=True)


def report(service: str, groups: Counter, functions, unit: str, top: int) -> None:
    total = sum(groups.values()) or 1
    print(f"\n{service}: {total:,.1f} {unit} profiled")
    for name, value in groups.most_common():
        print(f"  {name:<42} {100 * value / total:5.1f} %")
    print("  busiest functions (own time):")
    for value, where in functions[:top]:
        print(f"    {100 * value / total:5.1f} %  {where[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sampler", choices=("cprofile", "py-spy"), default="cprofile")
    parser.add_argument("--rate", type=float, default=40, help="incidents per second offered")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--top", type=int, default=8, help="busiest functions shown per service")
    parser.add_argument("--keep", type=Path, help="copy the raw profiles into this folder (pstats files, or "
                        "py-spy's collapsed stacks) to look at them further")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if args.sampler == "py-spy" and py_spy is None:
        print("profile_hub: py-spy is not installed (.venv/bin/pip install py-spy)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profiles"
        out.mkdir()
        extra = {}
        if args.sampler == "cprofile":
            path = [str(REPO / "bench" / "profiling"), *filter(None, [os.environ.get("PYTHONPATH")])]
            extra = {"MELDPUNT_PROFILE_DIR": str(out), "PYTHONPATH": os.pathsep.join(path)}
        hub = BenchHub(Path(tmp), extra_env=extra)
        samplers = []
        try:
            hub.start()
            keys = {code: hub.key(code) for code in hub.settings.region.codes}
            pids = hub.service_pids()
            if args.sampler == "cprofile":
                for pid in pids.values():
                    os.kill(pid, signal.SIGUSR1)
            else:
                for service, pid in pids.items():
                    samplers.append((service, out / f"{service}.txt", subprocess.Popen(
                        [py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw", "--nonblocking", "--gil",
                         "--duration", str(int(args.duration)), "--output", str(out / f"{service}.txt")],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
            figures = load_and_drain(hub, keys, INCIDENT, args.rate, args.duration, 16, hub.counted)
            print(f"load: {figures['accepted_per_s']:.1f} incidents/s accepted for {args.duration:.0f} s "
                  f"({args.sampler})")
            if args.sampler == "cprofile":
                for pid in pids.values():
                    os.kill(pid, signal.SIGUSR2)
                deadline = time.monotonic() + 30
                while len(list(out.glob("*.prof"))) < len(pids) and time.monotonic() < deadline:
                    time.sleep(0.2)
            for service, _, proc in samplers:
                _, err = proc.communicate(timeout=args.duration + 60)
                if proc.returncode != 0:
                    print(f"py-spy on {service} failed: {err.strip().splitlines()[-1] if err.strip() else '?'}",
                          file=sys.stderr)
        finally:
            hub.stop()
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in out.iterdir():
                shutil.copy(path, args.keep / path.name)

        if args.sampler == "cprofile":
            for service in SERVICES:
                for path in sorted(out.glob(f"*-{service}.prof")):
                    report(service, *split_cprofile(path), "CPU seconds", args.top)
        else:
            for service, path, _ in samplers:
                if path.exists():
                    report(service, *split_collapsed(path), "samples", args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
