"""Where an idle hub's CPU goes, process by process (/proc/<pid>/stat deltas over a window).

The machine's busy time counts whatever else runs on it; these figures hold still beside other
work: each service process, each kind of PostgreSQL process of the server the bench uses (its
background processes, the backends serving the bench's databases, other backends, and the
children that exited during the window, from the postmaster's reaped-children time), and the
RabbitMQ node. The server and the broker may serve others too (on a shared machine: other
sessions' tests); what they do is in their figures, and the bench says so.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")

# PostgreSQL's background processes, as their titles name them (postgres: [cluster: ]<kind>)
BACKGROUND = ("checkpointer", "background writer", "walwriter",
              "logical replication launcher", "archiver", "stats collector", "walsender", "walreceiver")


def _stat(pid: int) -> tuple[int, int] | None:
    """(own CPU ticks, reaped children's CPU ticks) of `pid`; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def postgres_kind(title: str, database_prefix: str) -> str:
    """The line a PostgreSQL child process counts in, from its title."""
    rest = title.removeprefix("postgres: ")
    if "autovacuum" in rest.split(" ", 2)[:2] or "autovacuum:" in rest.split(" ", 2)[:2] or \
            rest.startswith("autovacuum"):
        return "postgresql autovacuum launcher" if "autovacuum launcher" in rest else "postgresql autovacuum workers"
    head, sep, tail = rest.partition(": ")
    if sep and " " not in head:
        rest = tail  # the cluster's name (cluster_name)
    for kind in BACKGROUND:
        if rest.startswith(kind):
            return f"postgresql {kind}"
    if f" {database_prefix}" in f" {rest}":
        return "postgresql backends of the hub's databases"
    return "postgresql other backends"


class ProcessCpu:
    """Samples the processes of one idle window; `sample()` as often as the window allows (a backend
    or autovacuum worker that lives shorter than the sampling interval counts under the postmaster's
    reaped children), `figures(seconds)` the CPU per line in percent of one core."""

    def __init__(self, services: dict[str, int], postmaster: int | None, broker: int | None,
                 database_prefix: str, own: tuple[int, ...] = ()):
        """`own`: the backends of the bench's own looks (counted apart, as the bench's)."""
        self.services = services
        self.own = own
        self.postmaster = postmaster
        self.broker = broker
        self.prefix = database_prefix
        self._first: dict[int, tuple[str, int]] = {}   # pid -> (line, ticks at its first sample)
        self._last: dict[int, int] = {}                  # pid -> ticks at its last sample
        self._machine = self._machine_ticks()
        self._reaped = (_stat(postmaster) or (0, 0))[1] if postmaster else 0
        self._titles: dict[int, str] = {}
        self.sample(first=True)
        self._others = self._everyone()

    @staticmethod
    def _machine_ticks() -> int:
        user, nice, system, _idle, _iowait, irq, softirq = (
            int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8])
        return user + nice + system + irq + softirq

    def _everyone(self) -> dict[int, tuple[str, int]]:
        """Every other process's (name, CPU ticks), not counted in a line of its own (nor this bench)."""
        out = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in self._first and int(entry.name) != os.getpid():
                try:
                    text = (entry / "stat").read_text()
                except OSError:
                    continue
                name, _, rest = text.partition(" (")[2].rpartition(")")
                fields = rest.split()
                out[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
        return out

    def _watch(self, pid: int, line: str, first: bool) -> None:
        stat = _stat(pid)
        if stat is None:
            return
        if pid not in self._first:
            # present at the window's start: only what it does from now counts; born since: all of it
            self._first[pid] = (line, stat[0] if first else 0)
        self._last[pid] = stat[0]

    def sample(self, first: bool = False) -> None:
        for name, pid in self.services.items():
            self._watch(pid, f"service {name}", first)
        if self.broker:
            self._watch(self.broker, "rabbitmq (beam.smp)", first)
        if self.postmaster:
            self._watch(self.postmaster, "postgresql postmaster", first)
            for pid in _children(self.postmaster):
                if pid not in self._first or pid not in self._titles or "autovacuum" in self._titles[pid]:
                    self._titles[pid] = _title(pid)  # a backend's title changes with its state; its kind does not
                self._watch(pid, "the bench's own looks (postgresql backend)" if pid in self.own
                            else postgres_kind(self._titles[pid], self.prefix), first)

    def figures(self, seconds: float) -> dict[str, float]:
        """Percent of one core per line over `seconds`. 'postgresql exited children, unsampled' is what the
        postmaster reaped beyond the last samples of the children seen exiting (short-lived ones never
        sampled, e.g. autovacuum workers); 'other processes' those of the machine alive at both ends of the
        window (the three busiest named); the machine's line counts every process, this bench's too."""
        self.sample()
        lines: dict[str, float] = {}
        exited = 0
        for pid, (line, start) in self._first.items():
            lines[line] = lines.get(line, 0) + self._last[pid] - start
            if pid != self.postmaster and line.startswith("postgresql") and _stat(pid) is None:
                exited += self._last[pid]  # the postmaster reaps its whole life's CPU
        if self.postmaster:
            reaped = (_stat(self.postmaster) or (0, 0))[1] - self._reaped
            lines["postgresql exited children, unsampled"] = max(0, reaped - exited)
        others = self._everyone()
        busy = sorted(((ticks - self._others[pid][1], name) for pid, (name, ticks) in others.items()
                       if pid in self._others), reverse=True)
        lines["other processes"] = sum(ticks for ticks, _ in busy)
        for ticks, name in busy[:3]:
            lines[f"other processes: {name}"] = lines.get(f"other processes: {name}", 0) + ticks
        lines["machine (every process)"] = self._machine_ticks() - self._machine
        return {line: ticks / TICK / seconds * 100 for line, ticks in sorted(lines.items())}


def broker_pid(api: str) -> int | None:
    """The OS process of the RabbitMQ node the management API at `api` belongs to."""
    import requests
    try:
        nodes = requests.get(f"{api}/nodes", timeout=10).json()
        return int(nodes[0]["os_pid"]) if nodes else None
    except requests.ConnectionError:  # no management plugin: ask the local node itself
        try:
            return int(subprocess.run(["rabbitmqctl", "-q", "eval", "list_to_integer(os:getpid())."],
                                      capture_output=True, text=True, check=True, timeout=60).stdout)
        except Exception:  # noqa: BLE001 — the breakdown then shows no broker line
            return None
    except Exception:  # noqa: BLE001 — the breakdown then shows no broker line
        return None


def postmaster_pid(dsn: str) -> int | None:
    """The postmaster of the PostgreSQL server at `dsn`, when it runs on this machine (else None)."""
    import psycopg2
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{backend}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None  # not on this machine
    return int(fields[1])


def sample_for(cpu: ProcessCpu, seconds: float, every: float = 0.2, each_second=None) -> None:
    """Sample `cpu` every `every` s for `seconds`; `each_second()` once a second (the bench's own looks)."""
    end = time.monotonic() + seconds
    next_second = time.monotonic()
    while time.monotonic() < end:
        if each_second is not None and time.monotonic() >= next_second:
            each_second()
            next_second += 1
        cpu.sample()
        time.sleep(min(every, max(0.0, end - time.monotonic())))
