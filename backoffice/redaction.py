"""Credentials masked out of text that people or logs will see.

`redact` is for text that came from outside (a provider's answer): the known secrets in
any of their usual encodings, whatever follows an `Authorization`, any `Bearer`/`Token`/
`Basic` credential and the password of any URL, then the length capped.
`mask_url_passwords` alone is for values we own (settings, the environment).
"""

import json
import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "********"

# scheme://user:password@host -> scheme://user:********@host
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#@\s]*:)([^@/?#\s]+)@")
_AUTHORIZATION = re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)[^"'\r\n,;}]+""")
_CREDENTIAL = re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}")


def mask_url_passwords(text: str) -> str:
    return _URL_PASSWORD.sub(rf"\1{MASK}@", text)


def redact(text: str, *, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """The text with credentials masked, then cut to `limit` characters (so no cut leaves part of one)."""
    if not text:  # every sent message's result: nothing to look at
        return text
    for secret in secrets:
        if secret:
            escaped = json.dumps(secret)[1:-1]
            for form in {secret, escaped, escaped.replace("/", "\\/"), quote(secret, safe="")}:
                text = text.replace(form, MASK)
    text = _AUTHORIZATION.sub(rf"\1{MASK}", text)
    text = _CREDENTIAL.sub(rf"\1\2{MASK}", text)
    text = mask_url_passwords(text)
    return (text[:limit] + "…") if len(text) > limit else text
