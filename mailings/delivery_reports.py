"""Providers' delivery reports: which providers may post them, and how a request proves it is
the provider's.

A provider is named in the URL, `POST /providers/<name>/delivery-reports/` (mailings/providers.py).
Its report secret is `DELIVERY_REPORT_SECRET` for `default` and `DELIVERY_REPORT_SECRET_<NAME>`
for another. A request carries either `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
keyed with the secret, or `Authorization: Bearer <secret>`; both are compared in constant time.
"""

import hashlib
import hmac

from mailings.providers import provider_named, providers

__all__ = ["SIGNATURE_PREFIX", "bearer_matches", "report_providers", "report_secret", "sign", "signature_matches"]

SIGNATURE_PREFIX = "sha256="


def report_providers() -> list[str]:
    """The providers whose reports have an endpoint (configured or not)."""
    return list(providers())


def report_secret(provider: str) -> str | None:
    """The provider's report secret; "" while none is set (its reports are refused), None for a
    provider that does not exist."""
    found = provider_named(provider)
    return None if found is None else found.report_secret


def sign(*, secret: str, body: bytes) -> str:
    """The `X-Signature` header's value for `body` (what the sandbox provider sends)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(*, provider: str, body: bytes, presented: str) -> bool:
    secret = report_secret(provider)
    return bool(secret) and hmac.compare_digest(presented.encode(), sign(secret=secret, body=body).encode())


def bearer_matches(*, provider: str, presented: str) -> bool:
    secret = report_secret(provider)
    return bool(secret) and hmac.compare_digest(presented.encode(), secret.encode())
