"""The SMS providers the back-office sends through, by name (settings: backoffice/provider_settings.py).

`default` is always there, read from the settings it has always had (`SENDING_API_URL`,
`SENDING_API_TOKEN`, `SENDING_PARTS_PER_SECOND`, `SENDING_API_ENABLED`, `INBOUND_SECRET`,
`DELIVERY_REPORT_SECRET`); `SENDING_PROVIDERS` holds the others. A provider's token and secrets
never appear in its `repr`, a page or a log line.
"""

from dataclasses import dataclass, field

from django.conf import settings

from backoffice.provider_settings import DEFAULT_PROVIDER

__all__ = ["DEFAULT_PROVIDER", "Provider", "provider_named", "providers"]


@dataclass(frozen=True)
class Provider:
    name: str
    url: str
    token: str = field(repr=False)
    parts_per_second: float = 0.0  # 0: no limit
    enabled: bool = True
    inbound_secret: str = field(default="", repr=False)  # Bearer secret of its replies; "" refuses them
    report_secret: str = field(default="", repr=False)  # secret of its delivery reports; "" refuses them


def _default() -> Provider:
    return Provider(
        name=DEFAULT_PROVIDER,
        url=settings.SENDING_API_URL,
        token=settings.SENDING_API_TOKEN,
        parts_per_second=settings.SENDING_PARTS_PER_SECOND,
        enabled=settings.SENDING_API_ENABLED,
        inbound_secret=settings.INBOUND_SECRET,
        report_secret=settings.DELIVERY_REPORT_SECRET,
    )


def providers() -> dict[str, Provider]:
    """Every configured provider by name, `default` first (enabled or not)."""
    others = {name: Provider(name=name, **values) for name, values in settings.SENDING_PROVIDERS.items()}
    return {DEFAULT_PROVIDER: _default(), **others}


def provider_named(name: str) -> Provider | None:
    if name == DEFAULT_PROVIDER:
        return _default()
    values = settings.SENDING_PROVIDERS.get(name)
    return None if values is None else Provider(name=name, **values)
