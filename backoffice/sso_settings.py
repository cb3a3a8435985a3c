"""The admin's single sign-on settings (docs/sso.md), read from `OIDC_*` and `ADMIN_PASSWORD_LOGIN`.

Nothing here reaches the network: the provider's endpoints are discovered from `OIDC_ISSUER` on
the first sign-in (mailings/sso/discovery.py), unless `OIDC_OP_*_ENDPOINT` name them. SSO is on
when `OIDC_RP_CLIENT_ID` is set; it needs `OIDC_ISSUER` and at least one mapped group.
"""

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

ENDPOINTS = ("AUTHORIZATION", "TOKEN", "USER", "JWKS", "LOGOUT")


def _names(items: list[str]) -> list[str]:
    return [item.strip() for item in items if item.strip()]


def sso_origins(*urls: str) -> list[str]:
    """The origins (scheme://host[:port]) of these URLs, once each, empty ones left out."""
    origins = [urlunsplit((parts.scheme, parts.netloc, "", "", "")) for parts in map(urlsplit, urls) if parts.netloc]
    return list(dict.fromkeys(origins))


def read_sso_settings(env: environ.Env, env_bool: Callable[..., bool]) -> dict[str, object]:
    """The settings mozilla-django-oidc and mailings/sso read, as a dict for the settings module."""
    issuer = env.str("OIDC_ISSUER", default="").strip().rstrip("/")
    endpoints = {
        name: url.strip()
        for name, url in {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default=""),
            "OIDC_OP_TOKEN_ENDPOINT": env.str("OIDC_OP_TOKEN_ENDPOINT", default=""),
            "OIDC_OP_USER_ENDPOINT": env.str("OIDC_OP_USER_ENDPOINT", default=""),
            "OIDC_OP_JWKS_ENDPOINT": env.str("OIDC_OP_JWKS_ENDPOINT", default=""),
            "OIDC_OP_LOGOUT_ENDPOINT": env.str("OIDC_OP_LOGOUT_ENDPOINT", default=""),
        }.items()
    }
    client_id = env.str("OIDC_RP_CLIENT_ID", default="").strip()
    enabled = bool(client_id)
    if enabled and not issuer:
        raise ImproperlyConfigured(
            "OIDC_RP_CLIENT_ID is set but OIDC_ISSUER is not: set it to the provider's issuer (its endpoints are "
            "discovered from it, and the ID token's `iss` is checked against it)"
        )
    groups_claim = env.str("OIDC_GROUPS_CLAIM", default="groups").strip() or "groups"
    scopes = env.str("OIDC_RP_SCOPES", default="openid email profile").split()
    if enabled and "openid" not in scopes:
        raise ImproperlyConfigured(f"OIDC_RP_SCOPES={' '.join(scopes)!r}: OpenID Connect needs the `openid` scope")
    roles = {
        "ADMIN": _names(env.list("OIDC_ADMIN_GROUPS", default=[])),
        "OPERATOR": _names(env.list("OIDC_OPERATOR_GROUPS", default=[])),
        "VIEWER": _names(env.list("OIDC_VIEWER_GROUPS", default=[])),
    }
    if enabled and not any(roles.values()):
        raise ImproperlyConfigured(
            "SSO is on but no group is mapped: set OIDC_OPERATOR_GROUPS, OIDC_VIEWER_GROUPS and/or OIDC_ADMIN_GROUPS"
        )
    password_login = env_bool("ADMIN_PASSWORD_LOGIN", default=True)
    if not password_login and not enabled:
        raise ImproperlyConfigured(
            "ADMIN_PASSWORD_LOGIN=0 needs SSO (OIDC_RP_CLIENT_ID, OIDC_ISSUER): nobody could sign in"
        )
    return {
        "SSO_ENABLED": enabled,
        "ADMIN_PASSWORD_LOGIN": password_login,
        "OIDC_ISSUER": issuer,
        **endpoints,
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": env.str("OIDC_RP_CLIENT_SECRET", default=""),
        "OIDC_RP_SCOPES": " ".join(scopes),
        "OIDC_RP_SIGN_ALGO": env.str("OIDC_RP_SIGN_ALGO", default="RS256"),
        "OIDC_GROUPS_CLAIM": groups_claim,
        "OIDC_ADMIN_GROUPS": roles["ADMIN"],
        "OIDC_OPERATOR_GROUPS": roles["OPERATOR"],
        "OIDC_VIEWER_GROUPS": roles["VIEWER"],
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_STORE_ID_TOKEN": True,  # the hint for the provider's logout
        "OIDC_TIMEOUT": env.float("OIDC_TIMEOUT", default=10.0),
        # A session signed in through SSO ends after this, so that the person's groups are read again.
        "OIDC_SESSION_HOURS": env.float("OIDC_SESSION_HOURS", default=10.0),
        # Seconds of clock difference allowed with the provider when checking the ID token's times.
        "OIDC_CLOCK_SKEW": env.int("OIDC_CLOCK_SKEW", default=60),
        "OIDC_AUTHENTICATE_CLASS": "mailings.sso.views.SsoStart",
        "OIDC_CALLBACK_CLASS": "mailings.sso.views.SsoCallback",
        "LOGIN_REDIRECT_URL": "admin:index",
    }
