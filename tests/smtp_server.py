"""A real SMTP server for the tests (aiosmtpd), run in its own process: aiosmtpd is asyncio, the tests run
under eventlet. STARTTLS is required, and AUTH (PLAIN or LOGIN) with one user over TLS; every message
is written to a folder as one .eml file (atomically), which the tests read.

    python tests/smtp_server.py PORT FOLDER CERTFILE KEYFILE USER PASSWORD

prints `ready` once it listens, and stops when its stdin closes or on SIGTERM.
"""
from __future__ import annotations

import os
import signal
import ssl
import sys
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(envelope.original_content or envelope.content)
        os.replace(temporary, self.folder / f"{name}.eml")
        return "250 Message accepted for delivery"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
            and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    return check


def main(port: str, folder: str, certfile: str, keyfile: str, user: str, password: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    controller = Controller(Saver(Path(folder)), hostname="127.0.0.1", port=int(port), tls_context=context,
                            require_starttls=True, authenticator=authenticator(user, password),
                            auth_required=True, auth_require_tls=True)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()
    print("ready", flush=True)
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
