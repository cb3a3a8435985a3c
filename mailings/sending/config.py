"""The engine's knobs, read once from settings (see backoffice/settings.py, SENDING_*).

`gateway` is the `default` provider's client settings; every provider shares its timeouts and
concurrency, with its own URL and token (`gateway_for`). `enabled`: the providers messages may
go to (mailings/providers.py).
"""

import dataclasses
from dataclasses import dataclass, field

from django.conf import settings

from mailings.gateway import GatewayConfig
from mailings.providers import DEFAULT_PROVIDER, providers
from mailings.sending.circuit import CircuitSettings


@dataclass(frozen=True)
class SendingConfig:
    batch_size: int
    max_queued: int
    queue_grace: float
    lease: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    gateway: GatewayConfig
    circuit: CircuitSettings
    # Answers accepted and not yet recorded a process aims to stay under (sending/pacing.py); 0: off.
    unrecorded_target: int = 0
    # The named providers other than `default`: (name, url, token), enabled or not.
    others: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    enabled: frozenset[str] = frozenset({DEFAULT_PROVIDER})

    def gateway_for(self, provider: str) -> GatewayConfig | None:
        """The client settings of an enabled provider (None: disabled or unknown)."""
        if provider not in self.enabled:
            return None
        if provider == DEFAULT_PROVIDER:
            return self.gateway
        for name, url, token in self.others:
            if name == provider:
                return dataclasses.replace(self.gateway, url=url, token=token)
        return None

    @classmethod
    def from_settings(cls) -> "SendingConfig":
        configured = providers()
        return cls(
            batch_size=settings.SENDING_BATCH_SIZE,
            max_queued=settings.SENDING_MAX_QUEUED,
            queue_grace=settings.SENDING_QUEUE_GRACE,
            lease=settings.SENDING_LEASE,
            max_attempts=settings.SENDING_MAX_ATTEMPTS,
            backoff_base=settings.SENDING_BACKOFF_BASE,
            backoff_cap=settings.SENDING_BACKOFF_CAP,
            gateway=GatewayConfig(
                url=settings.SENDING_API_URL,
                token=settings.SENDING_API_TOKEN,
                connect_timeout=settings.SENDING_CONNECT_TIMEOUT,
                read_timeout=settings.SENDING_READ_TIMEOUT,
                concurrency=settings.SENDING_CONCURRENCY,
            ),
            unrecorded_target=settings.SENDING_UNRECORDED_TARGET,
            circuit=CircuitSettings(
                threshold=settings.SENDING_CIRCUIT_THRESHOLD,
                cooldown=settings.SENDING_CIRCUIT_COOLDOWN,
                max_cooldown=settings.SENDING_CIRCUIT_MAX_COOLDOWN,
            ),
            others=tuple((p.name, p.url, p.token) for p in configured.values() if p.name != DEFAULT_PROVIDER),
            enabled=frozenset(p.name for p in configured.values() if p.enabled),
        )
