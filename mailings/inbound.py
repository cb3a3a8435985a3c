"""Providers' replies: which providers may deliver them (and with which secret), and which texts
are opt-out or opt-in words.

A provider is named in the URL, `POST /inbound/<provider>/` (mailings/providers.py): `default`
is the provider of `SENDING_API_URL`, and its secret is `INBOUND_SECRET`; another's is
`INBOUND_SECRET_<NAME>`. A word is matched case-insensitively,
trimmed, with trailing punctuation ignored ("Stop!" is STOP); anything else is not a word.
"""

import hmac
import re

from django.conf import settings

from mailings.providers import DEFAULT_PROVIDER, provider_named, providers

__all__ = ["DEFAULT_PROVIDER", "inbound_providers", "inbound_secret", "is_opt_in", "is_opt_out", "secret_matches"]

_TRAILING_PUNCTUATION = re.compile(r"[\s.,!?;:…]+$")


def inbound_providers() -> list[str]:
    """The providers whose replies have an endpoint (configured or not)."""
    return list(providers())


def inbound_secret(provider: str) -> str | None:
    """The secret `provider` presents as `Authorization: Bearer <secret>`; "" while none is set
    (its replies are refused), None for a provider that does not exist."""
    found = provider_named(provider)
    return None if found is None else found.inbound_secret


def secret_matches(*, provider: str, presented: str) -> bool:
    secret = inbound_secret(provider)
    return bool(secret) and hmac.compare_digest(presented.encode(), secret.encode())


def _word(text: str) -> str:
    return _TRAILING_PUNCTUATION.sub("", text.strip()).casefold()


def _words(configured: list[str]) -> set[str]:
    return {_word(word) for word in configured if _word(word)}


def is_opt_out(text: str) -> bool:
    return _word(text) in _words(settings.OPT_OUT_WORDS)


def is_opt_in(text: str) -> bool:
    return _word(text) in _words(settings.OPT_IN_WORDS)
