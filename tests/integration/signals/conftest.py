"""One hub for the tests of issue 19 (decisions carried out, signals, mail, the reporter's feedback, the
workbench's signals page): every service in this process, started once for the package, since starting
and stopping them is most of what these tests would otherwise cost. A real SMTP server (aiosmtpd with
STARTTLS and a password) and a police unit's webhook receiver stand beside it; the signals service runs
on a clock a test may move forward (to a digest time). Each test makes its own cases."""
from __future__ import annotations


import pytest

from shared.names import SERVICES

from tests import support
from tests.mail_support import MailServer, ShiftableClock, module_hub, region_with
from tests.webhook_receiver import WebhookReceiver

MUNICIPALITIES = ("GM0687", "GM0718", "GM0664", "GM0715")
ADDRESSES = {code: {"coordinator": f"coordinator@{code.lower()}.test", "staff": f"staff@{code.lower()}.test",
                    "aftercare_worker": f"nazorg@{code.lower()}.test"} for code in MUNICIPALITIES}
UNIT = "zwb-walcheren"  # Middelburg's and Vlissingen's basisteam


@pytest.fixture(scope="package")
def mail_server(tmp_path_factory):
    server = MailServer(tmp_path_factory.mktemp("smtp")).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def receiver():
    """A police unit's webhook (Walcheren's): answers 200 and keeps every event it is sent."""
    with WebhookReceiver(lambda request: 200) as unit:
        yield unit


@pytest.fixture(scope="package")
def signals_hub(request, region_file, vhost_pipeline, mail_server, receiver, tmp_path_factory):
    """Every service, with the signals' mail server and a webhook for Walcheren's referrals; the workbench
    signs people in at the test identity provider when node can run it (else its test is skipped)."""
    try:
        provider = request.getfixturevalue("oidc_provider")
    except pytest.skip.Exception:
        provider = None
    folder = tmp_path_factory.mktemp("signals-region")
    (folder / "webhook.secret").write_text("webhook-secret-for-the-signals-tests")
    region = region_with(
        region_file, folder / "region.yaml", signals=mail_server.signals_section(ADDRESSES),
        police_liaison={"webhooks": {UNIT: {
            "url": f"{receiver.base}/hook",
            "secret_file": str(folder / "webhook.secret"), "first_delay_seconds": 0.2, "max_delay_seconds": 1.0,
            "timeout_seconds": 5}}})
    clock = ShiftableClock()
    with module_hub(request, vhost_pipeline, region, SERVICES, {"signals": clock}) as hub:
        wb = support.WorkbenchHub(hub.settings, provider)
        wb.clock, wb.has_provider = clock, provider is not None
        wb.env = support.hub_environment(region, hub.settings.amqp_uri)  # for a command in a process of its own
        yield wb
