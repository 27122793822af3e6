"""Fixtures shared by every test layer.

The integration and e2e layers use the real RabbitMQ and PostgreSQL of this machine:
each test run gets its own freshly migrated databases (dropped at the end) and each test
its own RabbitMQ vhost (nameko's rabbit_config fixture), so nothing is shared between
runs or between tests' broker state.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402 — nameko's integration fixtures need it before any import

import uuid  # noqa: E402

import pytest  # noqa: E402

from tests import support  # noqa: E402


@pytest.fixture(scope="session")
def region_file(tmp_path_factory):
    """A test copy of the demo region with fresh, migrated databases for this run."""
    run_id = uuid.uuid4().hex[:8]
    path = tmp_path_factory.mktemp("region") / "test-region.yaml"
    databases = support.write_test_region(path, run_id)
    support.migrate(path)
    yield path
    support.drop_databases(databases)


@pytest.fixture
def hub_env(rabbit_config, region_file):
    """The MELDPUNT_* environment of a hub under test: its own vhost, free ports, quick retries."""
    return support.hub_environment(region_file, rabbit_config["AMQP_URI"])


@pytest.fixture
def settings(hub_env):
    from shared.config import load_settings

    return load_settings(hub_env)


@pytest.fixture
def declared(settings):
    from shared.messaging.topology import declare

    declare(settings.amqp_uri, len(settings.retry_delays))
    support.bind_unwired_events(settings.amqp_uri)
    return settings


@pytest.fixture
def start_services(container_factory, declared):
    """Start hub services in this process, each in its own nameko container on its own port."""
    from shared.messaging.topology import service_class

    def start(*names, settings=None, clock=None):
        """`clock`: a shared.clock.FixedClock the services then use as their `self.clock`."""
        settings = settings or declared
        started = {}
        for name in names:
            config = settings.nameko_config(name)
            if clock is not None:
                config["MELDPUNT_CLOCK"] = clock
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
