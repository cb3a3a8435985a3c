"""The identity provider's endpoints: from `<OIDC_ISSUER>/.well-known/openid-configuration`, read on
the first sign-in and kept for an hour in this process, with any `OIDC_OP_*_ENDPOINT` setting taking
precedence. With the three that sign-in needs (authorization, token, JWKS) set, nothing is fetched.
"""

import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings

from mailings.sso.errors import ProviderUnavailable

KEEP_SECONDS = 3600.0
# Our setting name, the discovery document's field.
FIELDS = {
    "AUTHORIZATION": "authorization_endpoint",
    "TOKEN": "token_endpoint",
    "USER": "userinfo_endpoint",
    "JWKS": "jwks_uri",
    "LOGOUT": "end_session_endpoint",
}
REQUIRED = ("AUTHORIZATION", "TOKEN", "JWKS")

_lock = threading.Lock()
_found: dict[str, tuple[float, dict[str, str]]] = {}


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str  # "" when the provider has none: the ID token's claims alone
    jwks_uri: str
    end_session_endpoint: str  # "" when the provider has no RP-initiated logout


def provider() -> Provider:
    """The provider's endpoints; ProviderUnavailable saying why when they cannot be had."""
    explicit = {name: getattr(settings, f"OIDC_OP_{name}_ENDPOINT", "") for name in FIELDS}
    discovered = {} if all(explicit[name] for name in REQUIRED) else _discover(settings.OIDC_ISSUER)
    endpoints = {name: explicit[name] or discovered.get(field, "") for name, field in FIELDS.items()}
    missing = [FIELDS[name] for name in REQUIRED if not endpoints[name]]
    if missing:
        raise ProviderUnavailable(f"The identity provider's configuration has no {', '.join(missing)}.")
    return Provider(settings.OIDC_ISSUER, *(endpoints[name] for name in FIELDS))


def forget() -> None:
    """Read the discovery document again on the next sign-in."""
    with _lock:
        _found.clear()


def _discover(issuer: str) -> dict[str, str]:
    with _lock:
        kept = _found.get(issuer)
        if kept and time.monotonic() - kept[0] < KEEP_SECONDS:
            return kept[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(
            f"The identity provider does not answer at {url} ({type(exc).__name__}): try again later, "
            "or sign in with a password if it is allowed here."
        ) from exc
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        found = document.get("issuer") if isinstance(document, dict) else None
        raise ProviderUnavailable(f"The identity provider at {url} names itself {found!r}, not OIDC_ISSUER {issuer!r}.")
    endpoints = {field: value for field in FIELDS.values() if isinstance(value := document.get(field), str)}
    with _lock:
        _found[issuer] = (time.monotonic(), endpoints)
    return endpoints
