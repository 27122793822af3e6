"""The composition root: the registry of services, the runner of one service, the supervisor of all,
and the operators' command `meldpunt`. It imports the services; nothing imports it."""

import shared  # noqa: F401 — first: it quiets eventlet's deprecation notice, which runner.py imports next
