"""Private RabbitMQ nodes and PostgreSQL servers for tests that stop, kill or cluster them.

The machine's own RabbitMQ (127.0.0.1:5672) and PostgreSQL (127.0.0.1:5432) are shared with
other test runs and the demo, so a test that takes a broker or database down starts its own
(docs/shared MACHINE facts): each node or server has its own name, ports and data folder,
runs as the `rabbitmq` / `postgres` user and is removed again by its fixture. Their folders
live under the system temp folder, not pytest's: pytest's folder is root's alone (mode 0700),
and the `rabbitmq` and `postgres` users could not enter it.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import closing
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


# Ports for what a test run starts (services, brokers, servers) come from a block of this run's own, below the
# kernel's ephemeral range (32768 up): `make test`'s pytest processes side by side (MELDPUNT_TEST_JOB 1, 2, …)
# never pick the same port, and no outgoing connection takes a port between its pick and its use, as happened
# with ports the kernel chose (bind to 0) and was free to hand out again. Within a block, ports are handed out
# in turn from a random start, so two plain pytest runs beside each other (job 0) rarely meet either.
_PORT_BLOCK = 2500
_PORT_BASE = 10000 + int(os.environ.get("MELDPUNT_TEST_JOB", "0") or 0) % 8 * _PORT_BLOCK
_next_port = [random.randrange(_PORT_BLOCK)]


def free_port() -> int:
    """A port nothing listens on, not handed out before in this run."""
    for _ in range(_PORT_BLOCK):
        port = _PORT_BASE + _next_port[0] % _PORT_BLOCK
        _next_port[0] += 1
        with closing(socket.socket()) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_PORT_BASE}-{_PORT_BASE + _PORT_BLOCK - 1}")


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _as(user: str, command: list[str], env: dict | None = None, timeout: float = 120,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run a command as `user` (tests run as root), with exactly the environment given."""
    full = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})}
    if os.geteuid() != 0:
        argv = command
    else:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command]
    result = subprocess.run(argv, env=full, capture_output=True, text=True, timeout=timeout,
                            preexec_fn=_open_files_to_the_hard_limit)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}… failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()[-800:]}")
    return result


def _open_files_to_the_hard_limit():
    """A node started with `ulimit -n 1024` limits its file handle cache to 927 handles, which
    the message stores of a few dozen vhosts use up: then it makes no vhost any more."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


OWNER = "owner.pid"  # the test process a node's or server's folder belongs to


def _owned_folder(prefix: str, user: str) -> Path:
    reap_orphans()
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / OWNER).write_text(str(os.getpid()))
    if os.geteuid() == 0:
        shutil.chown(folder, user, user)
    return folder


def reap_orphans() -> list[str]:
    """Nodes and servers left by a test process that is gone (a run killed by its timeout cannot
    tear down its fixtures): kill -9 what still runs from their folders and delete them."""
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob("mh-*-*"):
        try:
            owner = int((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        for pid_file in [folder / "rabbit.pid", *folder.glob("*/data/postmaster.pid")]:
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
        shutil.rmtree(folder, ignore_errors=True)
        reaped.append(folder.name)
    return reaped


# --------------------------------------------------------------------------- RabbitMQ

class RabbitNode:
    """One RabbitMQ node of our own: `<name>@localhost` on its own AMQP, distribution and
    (optionally) management ports, its data under its own folder."""

    def __init__(self, name: str, folder: Path | None = None, management: bool = False,
                 enabled_plugins: list[str] | None = None, fsync: bool = True):
        """`fsync=False`: the quorum queues' write-ahead log is written but not fsynced after each batch (ra's
        `wal_sync_method none`), for the tests' throwaway nodes. What a node wrote survives its process being
        killed either way (the data is in the kernel's page cache); only a crash of the machine could lose it,
        which no test makes. Each consumer's consume, cancel and ack is a Raft command of its queue: a test with a
        hub of five services cost its node 0.43/0.36 CPU-s with the fsyncs, 0.31/0.31 without (12 such tests,
        two runs each alternating, 2026-12-07); 1,000 confirmed publishes to four queues 0.58 -> 0.42. The
        benches keep the default (datasync), as in production."""
        self.name = name
        self.nodename = f"{name}@localhost"
        self.folder = folder or _owned_folder(f"mh-rabbit-{name}-", "rabbitmq")
        self.port = free_port()
        self.dist_port = free_port()
        self.management_port = free_port() if management else None
        plugins = enabled_plugins if enabled_plugins is not None else (["rabbitmq_management"] if management else [])
        self.plugins_file = self.folder / "enabled_plugins"
        self._write(self.plugins_file, "[" + ",".join(plugins) + "].\n")
        conf = [f"listeners.tcp.local = 127.0.0.1:{self.port}", "loopback_users = none",
                # a machine shared by several test runs has little free disk; the default 50 MB
                # watermark is fine, but keep the node's memory modest
                "vm_memory_high_watermark.relative = 0.2"]
        if self.management_port:
            conf += [f"management.tcp.port = {self.management_port}", "management.tcp.ip = 127.0.0.1"]
        self.config_file = self.folder / "rabbitmq.conf"
        self._write(self.config_file, "\n".join(conf) + "\n")
        if not fsync:
            self._write(self.folder / "advanced.config", "[{ra, [{wal_sync_method, none}]}].\n")

    def _write(self, path: Path, text: str):
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "rabbitmq", "rabbitmq")

    @property
    def env(self) -> dict:
        return {
            "HOME": "/var/lib/rabbitmq",  # where the shared .erlang.cookie lives (clustering needs it)
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",  # the system file pins NODENAME=rabbit@localhost
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.config_file.with_suffix("")),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.plugins_file),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            # +sbwt none: the node's schedulers sleep when out of work instead of spinning for it; five test runs'
            # nodes beside their pytest processes on two cores otherwise spin away CPU the tests wait for
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1} "
                                                   "+sbwt none +sbwtdcpu none +sbwtdio none",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def api_uri(self) -> str | None:
        return f"http://guest:guest@127.0.0.1:{self.management_port}/api/" if self.management_port else None

    def ctl(self, *args, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return _as("rabbitmq", [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.nodename, *args],
                   self.env, timeout, check)

    def plugins(self, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        return _as("rabbitmq", [str(RABBIT_BIN / "rabbitmq-plugins"), "-n", self.nodename, *args],
                   self.env, timeout)

    def start(self, timeout: float = 120) -> "RabbitNode":
        self.launch()
        return self.await_startup(timeout)

    def launch(self):
        """Start the node's VM in the background (`rabbitmq-server -detached`); `await_startup` waits."""
        _as("rabbitmq", [str(RABBIT_BIN / "rabbitmq-server"), "-detached"], self.env, timeout=60)

    def await_startup(self, timeout: float = 120) -> "RabbitNode":
        # await_startup fails at once until the node listens for its peers (and so for the CLI),
        # and each CLI call costs a second or two: look at the port first
        _wait(lambda: port_answers(self.dist_port), timeout, f"RabbitMQ node {self.nodename} to boot")
        _wait(lambda: self.ctl("-q", "await_startup", timeout=timeout, check=False).returncode == 0,
              timeout, f"RabbitMQ node {self.nodename} to start", interval=0.5)
        _wait(lambda: port_answers(self.port), 30, f"{self.nodename} to listen on {self.port}")
        return self

    @property
    def pid(self) -> int | None:
        try:
            return int((self.folder / "rabbit.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_app(self, give_up_after: float | None = None) -> bool:
        """`rabbitmqctl stop_app`. With `give_up_after`, False if it has not returned by then instead of
        failing: on a starved machine it took over 120 s (2026-12-07, load 14 on two cores), and a test
        that kills the node next loses it all the same."""
        try:
            self.ctl("-q", "stop_app", timeout=give_up_after or 120)
            return True
        except Exception as exc:  # by name: under eventlet the subprocess module may be a green copy
            if give_up_after is None or type(exc).__name__ != "TimeoutExpired":
                raise
            return False

    def start_app(self, timeout: float = 120):
        self.ctl("-q", "start_app", timeout=timeout)
        self.ctl("-q", "await_startup", timeout=timeout)

    def kill(self):
        """kill -9 of the node's Erlang VM (and whatever it started: epmd is not ours)."""
        pid = self.pid
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait(lambda: not _alive(pid), 30, f"{self.nodename} to die")

    def stop(self):
        """`rabbitmqctl stop`, then kill -9 if the node is still there: on a starved machine the CLI
        call itself outlived 60 s (a fresh-clone run at load 20, 2026-12-07 20:15), and a node being
        removed needs no clean shutdown."""
        if self.pid and _alive(self.pid):
            try:
                self.ctl("-q", "stop", check=False, timeout=60)
            except Exception as exc:  # by name: under eventlet the subprocess module may be a green copy
                if type(exc).__name__ != "TimeoutExpired":
                    raise
            if self.pid and _alive(self.pid):
                self.kill()

    def remove(self):
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0): look at its state
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


class RabbitCluster:
    """Three (or `size`) nodes of our own, joined with `rabbitmqctl join_cluster` to the first (as an
    operator does by hand; peer discovery from each node's config would spare about 1.7 CPU-s of CLI per
    start, measured 2026-12-06, but the cluster is built as the issue and docs/operations.md describe)."""

    def __init__(self, prefix: str, size: int = 3, management: bool = False, fsync: bool = True):
        self.nodes = [RabbitNode(f"{prefix}{i}", management=management and i == 0, fsync=fsync) for i in range(size)]

    def start(self) -> "RabbitCluster":
        """Start every node at once (each boots on its own), then join the others to the first."""
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.await_startup()
        for node in self.nodes[1:]:
            self.join(node)
        return self

    def join(self, node: RabbitNode):
        """`join_cluster` resets the node itself; `start_app` returns once the node runs again."""
        node.stop_app()
        node.ctl("-q", "join_cluster", self.nodes[0].nodename)
        node.ctl("-q", "start_app")

    @property
    def amqp_uri(self) -> str:
        """Every node's address: kombu fails over from one to the next (`;`-separated)."""
        return ";".join(node.amqp_uri for node in self.nodes)

    def running(self, via: RabbitNode | None = None) -> list[str]:
        """The cluster's running nodes, as `via` (default: the first running node) sees them."""
        via = via or next(n for n in self.nodes if n.pid and _alive(n.pid))
        try:
            # the CLI boots an Erlang VM of its own (2-3 CPU-s): on a starved machine (load 13 on two cores)
            # a call can take tens of seconds, and a 30 s limit would see "none running" on every try
            out = via.ctl("-q", "eval", "rabbit_nodes:all_running().", timeout=120).stdout
        except Exception as exc:  # a node still coming back may not answer yet: none seen running
            # by name: under eventlet the subprocess that raised it may be a green copy with its own class
            if type(exc).__name__ != "TimeoutExpired":
                raise
            return []
        return sorted(n.strip().strip("'") for n in out.strip().strip("[]").split(",") if n.strip())

    def remove(self):
        """Throwaway nodes: kill -9 each VM (a graceful stop costs seconds per node), then their folders."""
        for node in self.nodes:
            node.kill()
            shutil.rmtree(node.folder, ignore_errors=True)


# --------------------------------------------------------------------------- PostgreSQL

def postgres_server(name: str = "second"):
    """A PostgreSQL server of our own (hub/ops/pgserver.py's LocalServer: initdb into a temp
    folder, its own port, trust authentication), started; `.remove()` stops and deletes it."""
    from hub.ops.pgserver import LocalServer

    reap_orphans()
    root = Path(tempfile.mkdtemp(prefix=f"mh-postgres-{name}-"))
    (root / OWNER).write_text(str(os.getpid()))
    os.chmod(root, 0o711)  # the server's user reaches its folder inside
    server = LocalServer(root / "pg", free_port())
    server.init()
    # a scratch server: no durability to pay for; room for a test run's pools
    server.start({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"})
    server.root = root
    return server
