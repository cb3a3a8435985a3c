"""The engine's knobs, read once from settings (see backoffice/settings.py, SENDING_*)."""

from dataclasses import dataclass

from django.conf import settings

from mailings.gateway import GatewayConfig
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

    @classmethod
    def from_settings(cls) -> "SendingConfig":
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
        )
