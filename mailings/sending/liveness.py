"""Which worker processes are alive, announced in Redis, and which claims a dead one left behind.

- **Heartbeat.** Each worker process has an identity (host, pid, a random part) and a key
  in the cache, `liveness-beat:<identity>`, that lives `SENDING_HEARTBEAT_TTL` seconds. A
  daemon thread touches it every third of that, so it beats while the event loop is busy
  with a batch, and stops with the process (SIGKILL) or with it (SIGSTOP).
- **Claims.** `claim` registers its claim token under the identity
  (`liveness-claim:<token>`) before it flips any row, and the batch's end removes it.
- **Hand-back.** The tick (`dead_claims`) reads the tokens of the rows `sending`, their
  identities and those identities' keys: a token whose identity's key is gone belongs to
  a dead process, and its rows go back to pending. A token with no registration (Redis was
  down at the claim, or lost it since) waits for its lease.
- **Fencing.** An identity whose key expired never beats again: the thread takes a new one,
  and the batches claimed under the old one stop sending (`Fence.lost`). A batch also stops
  when its process cannot show a beat younger than the key's lifetime (`alive_until`): a
  process resumed after a pause stops before its thread has even asked Redis. Its writes
  present the claim token, so they do not land on rows handed back meanwhile.

While Redis does not answer, nobody can declare a process dead (the tick cannot read the
keys either): the process goes on sending, and the lease is the backstop.
"""

import logging
import os
import secrets
import socket
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

# A worker's write transaction left open this long between statements is ended by PostgreSQL.
IDLE_IN_TRANSACTION_MS = 3000
BEAT_KEY = "liveness-beat:{}"
CLAIM_KEY = "liveness-claim:{}"


def heartbeat_ttl() -> float:
    return settings.SENDING_HEARTBEAT_TTL


class Heartbeat:
    """This process's identity and the thread that keeps its key alive."""

    def __init__(self, ttl: float):
        self.pid = os.getpid()
        self.ttl = ttl
        self.identity = ""
        # Until when (time.monotonic) this process's key surely lives: set from the start of the
        # last touch that found it, so the key in Redis lives at least as long.
        self.alive_until = float("-inf")
        self.redis_failing = False
        self._wake = threading.Event()
        self._renew()
        self._thread = threading.Thread(target=self._run, name="liveness-heartbeat", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        """A new identity, announced: the old one (if any) stays dead."""
        identity = f"{socket.gethostname()}:{self.pid}:{secrets.token_hex(4)}"
        started = time.monotonic()
        try:
            cache.set(BEAT_KEY.format(identity), 1, timeout=self.ttl)
            self.alive_until = started + self.ttl
            self.redis_failing = False
        except Exception:
            self.redis_failing = True
            logger.warning("could not announce this worker process in the cache", exc_info=True)
        self.identity = identity

    def beat(self) -> None:
        started = time.monotonic()
        try:
            alive = cache.touch(BEAT_KEY.format(self.identity), timeout=self.ttl)
        except Exception:
            if not self.redis_failing:
                logger.warning("could not renew this worker process's heartbeat", exc_info=True)
            self.redis_failing = True
            return
        self.redis_failing = False
        if alive:
            self.alive_until = started + self.ttl
            return
        # The key expired (a pause, a starved thread, Redis restarted): the tick may hand back or
        # may have handed back every claim under it. Those batches stop; new ones use a new name.
        logger.warning("this worker process's heartbeat had expired; its open batches stop", extra={"pid": self.pid})
        self._renew()

    def _run(self) -> None:
        while not self._wake.wait(self.ttl / 3):
            self.beat()

    def stop(self) -> None:
        self._wake.set()


_heartbeat: Heartbeat | None = None
_lock = threading.Lock()


def heartbeat() -> Heartbeat:
    """This process's heartbeat, started on first use (a forked child starts its own)."""
    global _heartbeat
    with _lock:
        if _heartbeat is None or _heartbeat.pid != os.getpid():
            _heartbeat = Heartbeat(heartbeat_ttl())
        return _heartbeat


def forget_inherited(**_signal_kwargs) -> None:
    """In a freshly forked worker process: the parent's heartbeat thread did not come along."""
    global _heartbeat
    _heartbeat = None


class Fence:
    """Whether a batch may still start requests: the process it was claimed under is not
    (and cannot yet have been) declared dead."""

    def __init__(self, beat: Heartbeat | None, identity: str):
        self.beat = beat  # None: the claim is not registered, only its lease can end it
        self.identity = identity

    def lost(self) -> bool:
        beat = self.beat
        if beat is None:
            return False
        if beat.identity != self.identity:
            return True
        return not beat.redis_failing and time.monotonic() >= beat.alive_until


_registered: dict[int, Fence] = {}


def register_claim(token: int, lease: float) -> Fence:
    """Say, before the claim flips its rows, that `token` belongs to this process.

    When Redis does not answer the claim goes on unregistered: the lease alone takes its rows
    back should the process die.
    """
    beat = heartbeat()
    if time.monotonic() >= beat.alive_until:
        beat.beat()  # an idle process whose thread has not run lately: its key may have expired
    identity = beat.identity
    try:
        cache.set(CLAIM_KEY.format(token), identity, timeout=lease + 60)
        fence = Fence(beat, identity)
    except Exception:
        logger.warning("could not register a claim; its lease alone covers it", exc_info=True)
        fence = Fence(None, identity)
    _registered[token] = fence
    return fence


def claim_fence(token: int) -> Fence:
    """The fence of a claim this process registered (a no-op one if it did not)."""
    return _registered.get(token) or Fence(None, "")


def release_claim(token: int) -> None:
    _registered.pop(token, None)
    try:
        cache.delete(CLAIM_KEY.format(token))
    except Exception:  # it expires with the lease
        logger.warning("could not remove a claim's registration", exc_info=True)


def dead_claims(tokens: list[int]) -> list[int]:
    """Of these claim tokens, those registered by a process whose heartbeat has stopped."""
    if not tokens:
        return []
    try:
        owners = cache.get_many([CLAIM_KEY.format(token) for token in tokens])
        beats = cache.get_many([BEAT_KEY.format(identity) for identity in set(owners.values())])
    except Exception:
        logger.warning("could not read the worker heartbeats; leases alone take rows back", exc_info=True)
        return []
    return [token for token in tokens if (owner := owners.get(CLAIM_KEY.format(token))) is not None
            and BEAT_KEY.format(owner) not in beats]  # fmt: skip


def forget_claims(tokens: list[int]) -> None:
    try:
        cache.delete_many([CLAIM_KEY.format(token) for token in tokens])
    except Exception:
        logger.warning("could not remove dead claims' registrations", exc_info=True)


def release_locks_if_paused() -> None:
    """In a worker's write transaction (claim, record): were the process paused between its
    statements, PostgreSQL ends the transaction after IDLE_IN_TRANSACTION_MS, so that its row
    locks do not hold up the tick handing its rows back (nor anyone else). The paused
    process's commit then fails, and its rows are as the tick leaves them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL idle_in_transaction_session_timeout = {int(IDLE_IN_TRANSACTION_MS)}")
