"""A real mail server for the tests (tests/smtp_server.py, aiosmtpd in its own process) on a free port,
with a certificate of its own, a user and a password; the hub's signals section pointing at it; and the
hub's services started once for a whole test module (starting them is most of what such a test costs)."""
from __future__ import annotations

import contextlib
import datetime
import email
import email.policy
import ipaddress
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.support import REPO_ROOT, free_port

USER, PASSWORD = "meldpunt-hub", "test-mail-password-" + str(time.time_ns())


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key: the hub's mail client trusts it through `ca_file`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = folder / "smtp.crt", folder / "smtp.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


class MailServer:
    """The SMTP server process; `stop()` and `start()` again on the same port (a server that was down)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.inbox = folder / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.certfile, self.keyfile = self_signed(folder)
        (folder / "user").write_text(USER)
        (folder / "password").write_text(PASSWORD)
        self.process = None

    def start(self) -> "MailServer":
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "tests" / "smtp_server.py"), str(self.port), str(self.inbox),
             str(self.certfile), str(self.keyfile), USER, PASSWORD],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the test mail server did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=20)
            self.process = None

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(self.inbox.glob("*.eml"))]

    def raw(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.inbox.glob("*.eml")))

    def signals_section(self, addresses: dict, **extra) -> dict:
        """The region file's `signals:` section with this server as the mail server."""
        return {
            "addresses": addresses, "digest_times": ["08:30"],
            "workbench_url": "https://werkplek.meldpunt.test", "follow_up_url": "https://meldpunt.test",
            "mail": {"host": "127.0.0.1", "port": self.port, "starttls": True, "ca_file": str(self.certfile),
                     "username": {"file": str(self.folder / "user")},
                     "password": {"file": str(self.folder / "password")},
                     "sender": "noreply@meldpunt.test", "poll_seconds": 0.2, "first_delay_seconds": 0.3,
                     "max_delay_seconds": 1.0, "timeout_seconds": 5},
            **extra}


def region_with(region_file: Path, path: Path, **sections) -> Path:
    """A copy of the test region file with these sections set."""
    region = yaml.safe_load(region_file.read_text())
    region.update(sections)
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    return path


class ShiftableClock:
    """The system clock, moved forward on purpose (to a digest time)."""

    def __init__(self):
        self.offset = datetime.timedelta(0)

    def now(self):
        return datetime.datetime.now(datetime.timezone.utc) + self.offset


@contextlib.contextmanager
def module_hub(request, vhost_pipeline, region: Path, services, clocks: dict | None = None):
    """`services` running in this process against `region` in a vhost of their own, for a test module;
    `clocks`: {service: clock} for the services a test moves in time."""
    from urllib.parse import urlparse

    from nameko.containers import ServiceContainer

    from hub.registry import declare, load_settings, service_class
    from tests import support

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    with vhost_pipeline.get() as vhost:
        settings = load_settings(support.hub_environment(region, f"{uri.scheme}://{uri.netloc}/{vhost}"))
        declare(settings.amqp_uri, len(settings.retry_delays))
        containers = []
        try:
            for name in services:
                config = settings.nameko_config(name)
                if name in (clocks or {}):
                    config["MELDPUNT_CLOCK"] = clocks[name]
                container = ServiceContainer(service_class(name), config)
                container.start()
                containers.append(container)
            yield support.Hub(settings)
        finally:
            # the tests are done and the databases go with the run: killing is enough, and much quicker
            # than a graceful stop (which waits for every timer and consumer of every service)
            for container in reversed(containers):
                container.kill()
