"""Drive the test OpenID Connect provider (provider.mjs, the npm package oidc-provider)
from the tests: start it on loopback, add accounts, play the person's part at its pages.
"""

import json
import re
import select
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("provider.mjs")
NODE = shutil.which("node")

CLIENT_ID = "mesads-test"
CLIENT_SECRET = "secret-du-client-mes-ads-pour-les-tests-uniquement"  # noqa: S105


def skip_reason() -> str | None:
    """Why the provider cannot run here, or None."""
    if NODE is None:
        return "node is not installed: the ProConnect tests need a real OpenID Connect provider"
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        return "the npm package oidc-provider is not installed (make node)"
    return None


class TestProvider:
    """One running provider.mjs, with one client registered for the given addresses."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, redirect_uris: list[str], post_logout_redirect_uris: list[str]):
        self.config = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris,
        }
        self.process: subprocess.Popen | None = None
        self.issuer = ""

    def start(self, timeout: float = 15) -> "TestProvider":
        # Its notices go to a file: a pipe nobody reads would fill up and block it.
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [NODE, str(SCRIPT), json.dumps(self.config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        match = re.fullmatch(r"listening (\d+)\n", line)
        if not match:
            self.stop()
            self.stderr.seek(0)
            raise RuntimeError(f"the test provider did not start: {self.stderr.read()!r}")
        self.issuer = f"http://127.0.0.1:{match[1]}"
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    # --- the test-only endpoints of provider.mjs -------------------------------------------

    def add_account(self, sub: str, **claims) -> None:
        requests.post(f"{self.issuer}/__test__/accounts", json={"sub": sub, **claims}, timeout=5)

    def set_id_token_mode(self, mode: str) -> None:
        """'tamper' (the ID token's payload changed, its signature kept), 'expire' (the ID
        token re-signed, expired an hour ago), 'other-audience' (the ID token re-signed for
        another client), 'tamper-userinfo' (the userinfo's address changed, its signature
        kept), 'userinfo-other-sub' (the userinfo re-signed for another subject),
        'userinfo-unsigned' (the userinfo's claims as plain JSON) or 'normal'."""
        requests.post(f"{self.issuer}/__test__/id-token-mode", json={"mode": mode}, timeout=5)

    def end_session_requests(self) -> list[dict]:
        return requests.get(f"{self.issuer}/__test__/end-session-log", timeout=5).json()

    def reset(self) -> None:
        requests.post(f"{self.issuer}/__test__/reset", timeout=5)


class ProviderUser:
    """A person's browser at the provider's pages (its cookies: its session there)."""

    def __init__(self, provider: TestProvider):
        self.provider = provider
        self.http = requests.Session()
        self.login_pages_seen = 0

    def _is_provider(self, url: str) -> bool:
        return url.startswith(self.provider.issuer + "/")

    def sign_in(self, authorize_url: str, login: str) -> str:
        """Follow the authorization request, sign in as ``login`` when asked; return the
        address the provider sends the browser back to (the client's callback)."""
        url, posted = authorize_url, False
        for _ in range(12):
            response = self.http.get(url, allow_redirects=False, timeout=5)
            while response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if not self._is_provider(url):
                    return url
                response = self.http.get(url, allow_redirects=False, timeout=5)
            if 'name="login"' not in response.text:
                raise AssertionError(f"unexpected page at the provider: {response.text[:500]}")
            if posted:
                raise AssertionError(f"the provider refused the login {login!r}")
            self.login_pages_seen += 1
            action = urljoin(url, unescape(re.search(r'action="([^"]+)"', response.text)[1]))
            response = self.http.post(action, data={"login": login}, allow_redirects=False)
            posted = True
            url = urljoin(action, response.headers["Location"])
            if not self._is_provider(url):
                return url
        raise AssertionError("too many redirections at the provider")

    def sign_out(self, end_session_url: str) -> str:
        """Confirm the logout at the provider; return where it sends the browser back."""
        response = self.http.get(end_session_url, allow_redirects=False, timeout=5)
        assert response.status_code == 200, response.text[:500]
        action = unescape(
            re.search(r'<form id="op.logoutForm"[^>]* action="([^"]+)"', response.text)[1]
        )
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', response.text)[1]
        response = self.http.post(
            urljoin(end_session_url, action),
            data={"xsrf": xsrf, "logout": "yes"},
            allow_redirects=False,
            timeout=5,
        )
        assert response.is_redirect, response.text[:500]
        return urljoin(end_session_url, response.headers["Location"])
