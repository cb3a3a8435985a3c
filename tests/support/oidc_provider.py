"""A real OpenID provider for the single sign-on tests (tests/sso, tests/browser/test_sso.py):
oidc-provider-mock's Flask app on a loopback port, and the settings that point the back-office at
it. Two test routes are added to the provider: POST /test/expire-codes forgets every authorization
code, as a provider does when they expire, and /impostor/ is an issuer whose discovery document
names another.
"""

import copy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin

import flask
import pytest
import requests
import werkzeug.serving

from backoffice.sso_settings import sso_origins
from mailings.sso import discovery

CLIENT_ID = "backoffice-tests"
OPERATOR_GROUP, VIEWER_GROUP, ADMIN_GROUP = "sms-operators", "sms-viewers", "it-admins"


@dataclass
class MockProvider:
    issuer: str

    def set_user(self, sub: str, **claims) -> None:
        """The person `sub` at the provider, with these claims from now on (groups too)."""
        requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def expire_codes(self) -> None:
        requests.post(f"{self.issuer}/test/expire-codes", timeout=5).raise_for_status()


def _provider_app(**options) -> flask.Flask:
    import oidc_provider_mock

    app = oidc_provider_mock.app(**options)

    @app.post("/test/expire-codes")
    def expire_codes():
        flask.g.oidc_provider_mock_storage._authorization_codes.clear()
        return "", 204

    @app.get("/impostor/.well-known/openid-configuration")
    def impostor():
        """The provider's discovery document, naming another issuer than the URL it was read at."""
        document = app.test_client().get("/.well-known/openid-configuration", base_url=flask.request.host_url).json
        return {**document, "issuer": "https://elsewhere.example.com"}

    return app


@contextmanager
def serve(app: flask.Flask) -> Iterator[str]:
    """The app on a free loopback port, in a thread, until the generator is closed: its base URL."""
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@contextmanager
def running_provider(**options) -> Iterator[MockProvider]:
    """The provider, requiring a nonce as ours always sends one; `options` are oidc_provider_mock.app's."""
    with serve(_provider_app(require_nonce=True, **options)) as url:
        yield MockProvider(url)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[MockProvider]:
    with running_provider() as provider:
        yield provider


def sso_settings(settings, issuer: str, **overrides) -> None:
    """The settings of backoffice/sso_settings.py for a provider at `issuer`."""
    values = {
        "SSO_ENABLED": True,
        "OIDC_ISSUER": issuer,
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": "test-secret",
        "OIDC_OPERATOR_GROUPS": [OPERATOR_GROUP],
        "OIDC_VIEWER_GROUPS": [VIEWER_GROUP],
        "OIDC_ADMIN_GROUPS": [ADMIN_GROUP],
        **overrides,
    }
    for name, value in values.items():
        setattr(settings, name, value)
    if "mailings.sso.backend.SsoBackend" not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "mailings.sso.backend.SsoBackend"]
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)  # as backoffice/settings.py adds the provider
    policy["DIRECTIVES"]["form-action"] = ["'self'", *sso_origins(issuer)]
    settings.CONTENT_SECURITY_POLICY = policy
    discovery.forget()


@pytest.fixture
def sso_on(settings, oidc_provider) -> MockProvider:
    sso_settings(settings, oidc_provider.issuer)
    yield oidc_provider
    discovery.forget()


class Browser:
    """A person's browser (cookies kept, redirects one at a time) through the sign-in."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.http.get(urljoin(self.base, url), allow_redirects=False, timeout=10, **kwargs)

    def start(self, next_url: str = "/admin/") -> str:
        """Click "Sign in with SSO": the provider's authorization URL."""
        response = self.get(f"/admin/sso/start/?next={next_url}")
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign in at the provider as `sub`: the callback URL it sends the browser back to."""
        response = self.http.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def log_out(self) -> requests.Response:
        """The admin's "Log out" button (a POST with the CSRF token): its answer."""
        self.get("/admin/")
        token = self.http.cookies["csrftoken"]
        url = urljoin(self.base, "/admin/logout/")
        return self.http.post(url, data={"csrfmiddlewaretoken": token}, allow_redirects=False, timeout=10)

    def sign_in(self, sub: str) -> requests.Response:
        """The whole flow: the callback's answer."""
        return self.get(self.authorize(self.start(), sub))
