"""Fixtures shared by every test layer.

The integration and e2e layers use real RabbitMQ and PostgreSQL: each test run gets its own
freshly migrated databases on this machine's PostgreSQL (dropped at the end), a RabbitMQ node
of its own (tests/broker.py) and each test its own vhost there (nameko's rabbit_config fixture),
so nothing is shared between runs or between tests' broker state.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402 — nameko's integration fixtures need it before any import

import os  # noqa: E402
import uuid  # noqa: E402

# The test process's own connections (fixtures, checks, CLI runs) by name in pg_stat_activity, beside the
# services' meldpunt-<service>: tests/parallel.py names each job's (meldpunt-tests-job<n>).
os.environ.setdefault("PGAPPNAME", "meldpunt-tests")

import pytest  # noqa: E402

from tests import support  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item):
    cancel = getattr(item, "cancel_timeout", None)
    if cancel is not None:
        cancel()
    return True


def pytest_configure(config):
    _use_rabbit_api(config.getoption("RABBIT_API_URI", default=None))


def _use_rabbit_api(api):
    if api:
        support.RABBIT_API_URI = api.rstrip("/") + ("/" if api.rstrip("/").endswith("/api") else "/api/")


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """pytest-timeout's signal method, made to work under eventlet. pytest-timeout falls back to its
    thread method when the test does not run on the main thread, which under eventlet's patched
    threading it never seems to; that method ends the whole process (os._exit) on a test's
    timeout: one slow test lost the run's every result. Here the test that overran fails, with
    the stack where it waited, and the run goes on."""
    if settings.method != "signal" or not settings.timeout:
        return None
    import signal

    import greenlet
    from eventlet.hubs import get_hub
    from eventlet.patcher import original

    test = greenlet.getcurrent()  # the greenlet the test and its fixtures run in
    timeout = settings.timeout + _first_use_of_session_fixtures(item)
    if getattr(item, "_meldpunt_last", False):  # it also tears the session down
        timeout += SESSION_SETUP_SECONDS

    def overran(signum, frame):
        failure = pytest.fail.Exception(f"Timeout: the test took more than {timeout:.0f} s")
        if greenlet.getcurrent() is test:
            raise failure
        # the hub or another green thread runs: fail the test where it waits
        hub.schedule_call_global(0, test.throw, failure)
        # and wake the hub: a signal does not end its poll (Python resumes an interrupted system call, PEP 475),
        # so without a byte to read it slept on to its next timer, the test's own wait (30 s for a 1 s timeout)
        plain_os.write(wake_w, b"!")

    # the hub listens on a pipe of the test's own for as long as its timer runs (os's plain read and write:
    # eventlet's green ones wait in the hub, which the signal handler and the hub's callback must not)
    plain_os = original("os")
    hub = get_hub()
    wake_r, wake_w = plain_os.pipe()
    waking = hub.add(hub.READ, wake_r, lambda fd: plain_os.read(fd, 64), lambda exc: None, lambda: None)

    def cancel():  # called twice for a test that failed (pytest-timeout's pytest_exception_interact too)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        if not waking.spent:
            hub.remove(waking)
            waking.defang()
            plain_os.close(wake_r)
            plain_os.close(wake_w)

    item.cancel_timeout = cancel
    signal.signal(signal.SIGALRM, overran)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    return True


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    item._meldpunt_last = nextitem is None
    yield


SESSION_SETUP_SECONDS = 180  # a second PostgreSQL server, eight migrated databases, a broker node: 82 s at load 18
SHARED_HUB_SECONDS = 60      # a package's or module's hub of six services (signals_hub, workbench_hub)
_SHARED_FIXTURES_SEEN: set[tuple] = set()


def _first_use_of_session_fixtures(item) -> float:
    """Extra seconds for the test that first sets up session, package or module fixtures: their cost
    is the run's or the file's, not the test's (pytest-timeout counts a test's fixture setup with it).
    Under load the first test of the signals package (a six-service hub on top of the session's
    setup) took over 120 s and failed, and with it the package's other ten tests."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return 0
    extra = {"session": 0, "package": 0, "module": 0}
    for name, defs in info.name2fixturedefs.items():
        scope = defs[-1].scope if defs else None
        if scope not in extra or name in ("tmp_path_factory", "worker_id"):
            continue
        key = (name, scope, "" if scope == "session" else str(item.path.parent if scope == "package" else item.path))
        if key not in _SHARED_FIXTURES_SEEN:
            _SHARED_FIXTURES_SEEN.add(key)
            extra[scope] = SESSION_SETUP_SECONDS if scope == "session" else SHARED_HUB_SECONDS
    return sum(extra.values())


_OWN_NODE = None  # this run's RabbitMQ node (tests/broker.py), launched once the tests are collected


def pytest_collection_finish(session):
    """Boot the run's RabbitMQ node while the session's databases are made, if any test needs it."""
    global _OWN_NODE
    from tests import broker

    if broker.wants_own_node(session.config) and broker.uses_rabbit(session.items):
        _OWN_NODE = broker.own_node()


@pytest.fixture(scope="session")
def rabbit_broker(request):
    """The RabbitMQ of this run: a node of its own (tests/broker.py says why), unless --amqp-uri
    named one. nameko's --amqp-uri / --rabbit-api-uri options are pointed at it, for every fixture
    and test that reads them."""
    global _OWN_NODE
    import shutil

    from tests import broker

    config = request.config
    if not broker.wants_own_node(config):
        yield None
        return
    node, _OWN_NODE = _OWN_NODE or broker.own_node(), None
    try:
        node.await_startup()
        config.option.RABBIT_AMQP_URI = node.amqp_uri
        config.option.RABBIT_API_URI = node.api_uri.removesuffix("/api/")
        _use_rabbit_api(config.option.RABBIT_API_URI)
        yield node
    finally:
        node.kill()  # a throwaway node: nothing to stop gracefully
        shutil.rmtree(node.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbit_manager(request, rabbit_broker):
    """nameko's management client, for the run's broker."""
    from nameko.testing import rabbit

    return rabbit.Client(request.config.getoption("RABBIT_API_URI"))


_VHOSTS = None  # the run's VhostPipeline, told when a test's teardown is over


@pytest.fixture(scope="session")
def vhost_pipeline(request, rabbit_broker, rabbit_manager):
    """A vhost for every test (rabbit_config takes one from here): a fresh one made ahead, or for a test
    that declares the hub's topology one that holds it, proven clean after its last test (tests/broker.py)."""
    global _VHOSTS
    from hub.registry import declare

    from tests.broker import VhostPipeline

    def canonical(amqp_uri):  # what the `declared` fixture declares
        declare(amqp_uri, len(support.RETRY_DELAYS.split(",")))

    pipeline = _VHOSTS = VhostPipeline(rabbit_manager, request.config.getoption("RABBIT_AMQP_URI"),
                                       declare=canonical)
    try:
        yield pipeline
    finally:
        _VHOSTS = None
        pipeline.close(throwaway_node=rabbit_broker is not None)


@pytest.fixture
def rabbit_config(request, vhost_pipeline):
    """nameko's rabbit_config (its fast_teardown orders it by this name), with the vhost from vhost_pipeline:
    for a test that asks for `declared`, one that holds the hub's topology already."""
    from urllib.parse import urlparse

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get(declared="declared" in request.fixturenames) as vhost:
        yield {"AMQP_URI": f"{uri.scheme}://{uri.netloc}/{vhost}", "username": uri.username, "vhost": vhost}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if _VHOSTS is not None:  # the test's containers are gone: its vhost can be recycled
        _VHOSTS.after_test()


@pytest.fixture(scope="session")
def second_postgres():
    """A second PostgreSQL server of this run's own (tests/engines.py): the test region keeps half
    its municipalities' case stores there, so every test of the path, isolation, erasure and the
    scans runs across two servers, as a region grown past one server does."""
    import shutil

    from tests.engines import postgres_server

    server = postgres_server()
    try:
        yield server
    finally:
        server.remove()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def region_file(tmp_path_factory, second_postgres):
    """A test copy of the demo region with fresh, migrated databases for this run: the first half
    of the municipalities on this machine's PostgreSQL, the second half on `second_postgres`."""
    run_id = uuid.uuid4().hex[:8]
    path = tmp_path_factory.mktemp("region") / "test-region.yaml"
    databases = support.write_test_region(path, run_id, f"postgresql://postgres@127.0.0.1:{second_postgres.port}")
    support.migrate(path)
    yield path
    support.drop_databases(databases)


@pytest.fixture
def hub_env(rabbit_config, region_file):
    """The MELDPUNT_* environment of a hub under test: its own vhost, free ports, quick retries."""
    return support.hub_environment(region_file, rabbit_config["AMQP_URI"])


@pytest.fixture
def settings(hub_env):
    from hub.registry import load_settings

    return load_settings(hub_env)


@pytest.fixture
def declared(settings, vhost_pipeline):
    from urllib.parse import unquote, urlparse

    from hub.registry import declare

    # a recycled vhost holds exactly the topology (tests/broker.py): declared again only where it may not
    vhost = unquote(urlparse(settings.amqp_uri).path.lstrip("/"))
    canonical = len(settings.retry_delays) == len(support.RETRY_DELAYS.split(","))
    if not (canonical and vhost and vhost_pipeline.holds_topology == vhost):
        declare(settings.amqp_uri, len(settings.retry_delays))
    return settings


@pytest.fixture
def start_services(container_factory, declared):
    """Start hub services in this process, each in its own nameko container on its own port."""
    from hub.registry import service_class

    def start(*names, settings=None, clock=None):
        """`clock`: a shared.clock.FixedClock the services then use as their `self.clock`."""
        settings = settings or declared
        started = {}
        for name in names:
            config = settings.nameko_config(name)
            if clock is not None:
                config["MELDPUNT_CLOCK"] = clock
            for key in ("WEB_SERVER_ADDRESS", "MELDPUNT_OPERATOR_ADDRESS"):
                if config.get(key) and support.listened_on(config[key]):
                    # a second instance of a service (scale-out tests) listens on ports of its own, as a replica
                    # on the same host must: a port is one listener's alone (shared/http.py)
                    config[key] = f"127.0.0.1:{support.free_port()}"
            container = container_factory(service_class(name), config)
            container.start()
            started[name] = container
        return started

    return start


@pytest.fixture
def hub(settings, start_services):
    """All five services running against the test region."""
    start_services("intake", "triage", "police_liaison", "aftercare", "statistics")
    return support.Hub(settings)


@pytest.fixture(scope="session")
def private_region():
    """One municipality and statistics on a PostgreSQL server of this test run's own, archiving its WAL to a
    pgBackRest repository of its own (hub/ops/drill_demo.py), with one full backup: what the backup, restore
    and doctor tests back up, restore and break. Never the system's server."""
    from tests.ops_support import require_tool

    require_tool("pgbackrest", "pgbackrest")
    from hub.ops import backup
    from hub.ops.drill_demo import PrivateRegion

    PrivateRegion.remove_abandoned()  # what a run killed by its timeout left running
    region = PrivateRegion()
    try:
        region.start()
        problems = backup.run(region.settings, "full", report=lambda line: None)
        assert not problems, problems
        yield region
    finally:
        region.stop()


# ------------------------------------------------------------------ people: the workbench

@pytest.fixture(scope="session")
def oidc_provider():
    """One real OpenID Connect provider (tools/node, panva's oidc-provider) for the whole run, with
    the demo's users: every role, with and without a second factor."""
    from tests import oidc

    missing = oidc.available()
    if missing:
        pytest.skip(missing)
    provider = oidc.TestProvider(support.free_port(), [f"http://127.0.0.1:{support.workbench_port()}"],
                                 support.OIDC_CLIENT_SECRET).start()
    support.OIDC_ISSUER = provider.issuer
    yield provider
    support.OIDC_ISSUER = None
    provider.stop()


@pytest.fixture(scope="module")
def workbench_hub(request, region_file, oidc_provider, vhost_pipeline):
    """All six services in this process, shared by a module's tests (each test makes its own cases):
    starting them is most of what a workbench test would otherwise cost."""
    from urllib.parse import urlparse

    from nameko.containers import ServiceContainer

    from hub.registry import declare, load_settings, service_class
    from shared.names import SERVICES

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        settings = load_settings(support.hub_environment(region_file, f"{uri.scheme}://{uri.netloc}/{vhost}"))
        declare(settings.amqp_uri, len(settings.retry_delays))
        containers = []
        try:
            clock = support.ShiftableClock()  # the workbench's: its sessions' timeouts are tested with it
            for name in SERVICES:
                config = settings.nameko_config(name)
                if name == "workbench":
                    config["MELDPUNT_CLOCK"] = clock
                container = ServiceContainer(service_class(name), config)
                container.start()
                containers.append(container)
            yield support.WorkbenchHub(settings, oidc_provider, clock)
        finally:
            for container in reversed(containers):
                try:
                    container.stop()
                except Exception:
                    container.kill()


@pytest.fixture(scope="session")
def rabbit_cluster():
    """Three RabbitMQ nodes of this run's own, joined into a cluster (tests/engines.py): tests
    that take a node down never touch the machine's broker, which other runs share."""
    from tests.engines import RabbitCluster

    cluster = RabbitCluster(f"mh{uuid.uuid4().hex[:6]}n", 3, fsync=False)
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def private_rabbit():
    """One RabbitMQ node of this run's own, for tests that stop it (the broker_outage tests)."""
    from tests.engines import RabbitNode

    node = RabbitNode(f"mh{uuid.uuid4().hex[:6]}p", fsync=False)
    try:
        yield node.start()
    finally:
        node.remove()


@pytest.fixture
def own_region(tmp_path):
    """A region file with databases of its own (dropped afterwards), for tests that count every
    case in the stores: cases other tests of the run left must not be in them."""
    path = tmp_path / "own-region.yaml"
    databases = support.write_test_region(path, uuid.uuid4().hex[:8])
    support.migrate(path)
    yield path
    support.drop_databases(databases)
