"""A real OpenID Connect provider for the tests (panva's oidc-provider, tools/node/) and a plain
HTTP client that signs in through it the way a browser does (forms and redirects, no script)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urljoin

import requests

from shared.config import REPO_ROOT

NODE_TOOLS = REPO_ROOT / "tools" / "node"
PROVIDER_SCRIPT = NODE_TOOLS / "oidc-provider.mjs"
DEMO_USERS = REPO_ROOT / "deploy" / "oidc" / "demo-users.json"
CLIENT_ID = "meldpunt-workbench"
SHORT_CLIENT_ID = "meldpunt-workbench-short"  # its codes live one second (the expired-code test)


def available() -> str | None:
    """None when the provider can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_TOOLS / "node_modules" / "oidc-provider").exists():
        return "run `make tools` first (installs oidc-provider into tools/node)"
    return None


class TestProvider:
    def __init__(self, port: int, workbench_urls: list[str], client_secret: str):
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.folder = Path(tempfile.mkdtemp(prefix="mh_test_oidc_"))
        users = json.loads(DEMO_USERS.read_text(encoding="utf-8"))["users"]
        config = {
            "issuer": self.issuer, "port": port, "users": users,
            "clients": [
                {"client_id": CLIENT_ID, "client_secret": client_secret,
                 "redirect_uris": [f"{url}/aanmelden/terug" for url in workbench_urls],
                 "post_logout_redirect_uris": [f"{url}/afgemeld" for url in workbench_urls]},
                {"client_id": SHORT_CLIENT_ID, "client_secret": client_secret, "code_ttl_seconds": 1,
                 "redirect_uris": [f"{url}/aanmelden/terug" for url in workbench_urls]},
            ],
        }
        (self.folder / "provider.json").write_text(json.dumps(config))
        self.process = None

    def start(self):
        self.log = open(self.folder / "provider.log", "w+")
        self.process = subprocess.Popen(["node", str(PROVIDER_SCRIPT), str(self.folder / "provider.json")],
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError(f"the test OpenID provider did not start: {line}"
                               f"{(self.folder / 'provider.log').read_text()[-2000:]}")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


class Browser:
    """requests with a cookie jar, following redirects one at a time like a browser without script."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=15, **kwargs)

    def post(self, url: str, data: dict, **kwargs) -> requests.Response:
        return self.http.post(url, data=data, allow_redirects=False, timeout=15, **kwargs)

    def follow(self, response: requests.Response, stop_at: str | None = None) -> requests.Response:
        """Follow redirects until a page (or the first redirect to a URL starting with `stop_at`)."""
        while response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if stop_at and target.startswith(stop_at):
                response.stop_url = target
                return response
            response = self.get(target)
        return response

    def form_action(self, page: requests.Response) -> str:
        return urljoin(page.url, re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1).replace("&amp;", "&"))

    def csrf(self, page: requests.Response) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def sign_in(self, workbench: str, domain: str, username: str, password: str = "demo",
                stop_before_callback: bool = False) -> requests.Response:
        """Choose the organisation, sign in at its provider, come back: the page landed on (or, with
        `stop_before_callback`, the provider's redirect to the workbench's callback, not followed)."""
        login_page = self.follow(self.get(f"{workbench}/aanmelden/{domain}"))
        assert "Gebruikersnaam" in login_page.text, login_page.text[:500]
        answer = self.post(self.form_action(login_page), {"username": username, "password": password})
        return self.follow(answer, stop_at=f"{workbench}/aanmelden/terug" if stop_before_callback else None)
