"""The SMS providers' settings (mailings/providers.py), read from the environment.

`default` is the provider of `SENDING_API_URL` and `SENDING_API_TOKEN`, so a one-provider set-up
needs nothing more. Others are named in `SENDING_PROVIDERS` (comma-separated: lower-case letters,
digits, `-` and `_`), each with `SENDING_PROVIDER_<NAME>_URL` and `_TOKEN` (required),
`_PARTS_PER_SECOND` (0, the default: no limit) and `_ENABLED` (yes). `<NAME>` is the name in
upper case with `-` as `_`. Each provider's secrets for what it sends back: `INBOUND_SECRET` and
`DELIVERY_REPORT_SECRET` for `default`, `INBOUND_SECRET_<NAME>` and `DELIVERY_REPORT_SECRET_<NAME>`
for the others.
"""

import re
from collections.abc import Callable

import environ
from django.core.exceptions import ImproperlyConfigured

DEFAULT_PROVIDER = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def env_suffix(name: str) -> str:
    """How a provider's name is written in its variables: `eu-backup` → `EU_BACKUP`."""
    return name.upper().replace("-", "_")


def _parts_per_second(variable: str, raw: str) -> float:
    raw = raw.strip() or "0"
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{variable}={raw!r}: expected a number of SMS parts per second (0: no limit)"
        ) from None
    if value < 0 or value != value or value == float("inf"):
        raise ImproperlyConfigured(f"{variable}={raw!r}: expected a number of SMS parts per second, 0 or more")
    return value


def read_provider_settings(env: environ.Env, env_bool: Callable[..., bool]) -> dict[str, object]:
    """The settings of `default` (flat, as they have always been) and `SENDING_PROVIDERS`: the
    others, {name: {url, token, parts_per_second, enabled, inbound_secret, report_secret}}."""
    found: dict[str, object] = {
        "SENDING_PARTS_PER_SECOND": _parts_per_second(
            "SENDING_PARTS_PER_SECOND", env.str("SENDING_PARTS_PER_SECOND", default="0")
        ),
        "SENDING_API_ENABLED": env_bool("SENDING_API_ENABLED", default=True),
        "INBOUND_SECRET": env.str("INBOUND_SECRET", default=""),
        "DELIVERY_REPORT_SECRET": env.str("DELIVERY_REPORT_SECRET", default=""),
    }
    providers: dict[str, dict] = {}
    for name in (item.strip() for item in env.str("SENDING_PROVIDERS", default="").split(",")):
        if not name:
            continue
        if not _NAME.match(name):
            raise ImproperlyConfigured(
                f"SENDING_PROVIDERS names {name!r}: a provider's name is lower-case letters, digits, - and _ "
                "(at most 40, starting with a letter or digit)"
            )
        if name == DEFAULT_PROVIDER or name in providers:
            raise ImproperlyConfigured(f"SENDING_PROVIDERS names {name!r} twice (`default` is SENDING_API_URL's)")
        prefix = f"SENDING_PROVIDER_{env_suffix(name)}"
        url = env.str(f"{prefix}_URL", default="").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"{prefix}_URL: provider {name!r} needs the http(s) URL of its API")
        token = env.str(f"{prefix}_TOKEN", default="")
        if not token:
            raise ImproperlyConfigured(f"{prefix}_TOKEN: provider {name!r} needs the token its API expects")
        providers[name] = {
            "url": url,
            "token": token,
            "parts_per_second": _parts_per_second(
                f"{prefix}_PARTS_PER_SECOND", env.str(f"{prefix}_PARTS_PER_SECOND", default="0")
            ),
            "enabled": env_bool(f"{prefix}_ENABLED", default=True),
            "inbound_secret": env.str(f"INBOUND_SECRET_{env_suffix(name)}", default=""),
            "report_secret": env.str(f"DELIVERY_REPORT_SECRET_{env_suffix(name)}", default=""),
        }
    found["SENDING_PROVIDERS"] = providers
    return found
