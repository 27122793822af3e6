"""The benchmarks use the test fixtures: fresh databases, their own vhost, in-process services."""
from tests.conftest import *  # noqa: F401,F403
