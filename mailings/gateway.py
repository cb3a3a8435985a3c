"""The SMS provider's client and the classification of what it answers.

`POST {SENDING_API_URL}/send/{msgId}` with `Authorization: Bearer {SENDING_API_TOKEN}`
and `{"id": msgId, "phone": <int>, "text": ...}`. Only HTTP 200 with a JSON body
whose `code` is 0 means sent. The token never reaches a log line or an error: every
`SendResult.error` passes through `backoffice.redaction.redact` (a provider may echo our
`Authorization` header back), which also caps its length.
"""

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

import aiohttp

from backoffice.redaction import redact

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"  # retry later: timeouts, connection errors, 5xx, 429, a 200 with a bad body
    PERMANENT = "permanent"  # this message will never go: other 4xx
    UNAUTHORIZED = "unauthorized"  # the provider refuses us (401/403): hold everything


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: int
    outcome: Outcome
    status: int | None
    error: str
    duration: float
    # No answer says whether the provider took it (a timeout or a connection dropped after the
    # request may have left, a 200 without code 0): the message must not move to another provider.
    ambiguous: bool = False


def classify(status: int, body: bytes) -> tuple[Outcome, str]:
    """What an HTTP answer means for the message: (outcome, reason, raw: `Gateway.send` redacts it)."""
    if status == 200:
        try:
            data = json.loads(body)
        except ValueError:
            return Outcome.TRANSIENT, f"HTTP 200 with a body that is not JSON: {_snippet(body)}"
        code = data.get("code") if isinstance(data, dict) else None
        if code == 0 and not isinstance(code, bool):
            return Outcome.SENT, ""
        return Outcome.TRANSIENT, f"HTTP 200 without code 0: {_snippet(body)}"
    if status in (401, 403):
        return Outcome.UNAUTHORIZED, f"HTTP {status}: the provider refused our token"
    if status == 429 or status >= 500:
        return Outcome.TRANSIENT, f"HTTP {status}: {_snippet(body)}"
    if 400 <= status < 500:
        return Outcome.PERMANENT, f"HTTP {status}: {_snippet(body)}"
    return Outcome.TRANSIENT, f"unexpected HTTP {status}"


def _snippet(body: bytes, limit: int = 4096) -> str:
    return body[:limit].decode("utf-8", "replace").strip() or "(empty body)"


@dataclass(frozen=True)
class GatewayConfig:
    url: str
    token: str
    connect_timeout: float
    read_timeout: float
    concurrency: int


def open_session(config: GatewayConfig) -> aiohttp.ClientSession:
    """The provider session of one worker process (bench/bare_client.py opens the same, for the ceiling)."""
    connector = aiohttp.TCPConnector(limit=config.concurrency, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector, headers={"Authorization": f"Bearer {config.token}"}, raise_for_status=False
    )


def timeout_for(config: GatewayConfig, total: float | None = None) -> aiohttp.ClientTimeout:
    """A request's timeout (bench/bare_client.py uses it too)."""
    return aiohttp.ClientTimeout(total=total or config.read_timeout, sock_connect=config.connect_timeout)


class Gateway:
    """An async client for one batch: `async with Gateway(config) as gw: await gw.send(...)`."""

    def __init__(self, config: GatewayConfig):
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        # One timer per request, aiohttp's `total`: the read timeout bounds the whole request,
        # connecting included; the connect timeout bounds opening a new connection (a pooled one
        # needs none). A timer per phase (connect, each read) cost the worker about 16 µs of CPU
        # per request, 8% of a bare client's.
        self._timeout = timeout_for(config)

    async def __aenter__(self) -> "Gateway":
        self._session = open_session(self.config)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, *, message_id: int, phone: str, text: str, deadline: float | None = None) -> SendResult:
        """Send one message; never raises for the provider's trouble, reports it instead.

        `deadline` (a `time.time()` value) bounds the whole request: the client hangs up
        by then, so a provider that drops abandoned requests cannot accept it later.
        """
        assert self._session is not None, "use Gateway as an async context manager"
        cfg = self.config
        timeout = self._timeout
        if deadline is not None:
            left = deadline - time.time()
            if left <= 0:  # aiohttp would read a non-positive total as "no limit"
                return SendResult(message_id, Outcome.TRANSIENT, None, "not sent: the deadline had passed", 0.0)
            if left < cfg.read_timeout:
                timeout = timeout_for(cfg, left)
        started = time.perf_counter()
        try:
            async with self._session.post(
                f"{cfg.url}/send/{message_id}",
                json={"id": message_id, "phone": int(phone), "text": text},
                timeout=timeout,
            ) as response:
                body = await response.read()
                outcome, error = classify(response.status, body)
                status: int | None = response.status
                ambiguous = status == 200 and outcome is not Outcome.SENT
        except aiohttp.ConnectionTimeoutError:  # never connected: the request did not leave
            outcome, error, status = Outcome.TRANSIENT, f"timed out after {time.perf_counter() - started:.1f}s", None
            ambiguous = False
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable: the request did not leave
            outcome, error, status, ambiguous = Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}", None, False
        except TimeoutError:
            outcome, error, status = Outcome.TRANSIENT, f"timed out after {time.perf_counter() - started:.1f}s", None
            ambiguous = True
        except aiohttp.ClientError as exc:
            outcome, error, status, ambiguous = Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}", None, True
        except asyncio.CancelledError:
            raise
        duration = time.perf_counter() - started
        return SendResult(message_id, outcome, status, redact(error, secrets=(cfg.token,)), duration, ambiguous)
