"""How many requests the API takes: per user, and per client address without valid credentials.

DRF authtoken gives a user one token, so per user is per token; the same user's admin session
shares that allowance. Requests without valid credentials are counted per client address, read
as the login limits read it (backoffice/client_ip.py, TRUSTED_PROXY_COUNT), not with DRF's
NUM_PROXIES. The rates are `DEFAULT_THROTTLE_RATES` (`user`, `anon`), read at each request;
the counting is mailings/rate_limits.py, in the shared cache.

Past its rate a request is answered 429 with a `Retry-After` header (whole seconds, from the
exception's `wait`) and a `detail` naming the limit. When the cache does not answer, requests
go through uncounted: the API answers without Redis, as it does for everything else.
"""

import logging

from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from backoffice.client_ip import client_ip
from backoffice.rates import parse_rate
from mailings.rate_limits import Verdict, rate_limit_hit

logger = logging.getLogger(__name__)


class RateLimited(exceptions.Throttled):
    def __init__(self, *, detail: str, wait: int):
        super().__init__(detail=detail)  # no wait here: DRF would append its own sentence
        self.wait = wait  # the exception handler's Retry-After


class _FixedWindowThrottle(BaseThrottle):
    scope: str  # its key in DEFAULT_THROTTLE_RATES
    who: str  # whose allowance, in the refusal

    def bucket(self, request) -> str | None:
        """Where this request is counted; None: this throttle does not count it."""
        raise NotImplementedError

    def get_ident(self, request) -> str:
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        """True, or RateLimited raised with the limit in its detail (DRF's own refusal cannot name it)."""
        bucket = self.bucket(request)
        if bucket is None:
            return True
        rate = parse_rate(self.scope, api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        try:
            verdict = rate_limit_hit(bucket=bucket, rate=rate)
        except Exception:
            logger.warning("the cache did not answer; API request not counted against its rate", exc_info=True)
            return True
        if not verdict.allowed:
            raise RateLimited(detail=self.refusal(verdict), wait=verdict.retry_after)
        return True

    def refusal(self, verdict: Verdict) -> str:
        return (
            f"Too many requests: {verdict.rate} {self.who}. "
            f"Try again in {verdict.retry_after} s (the Retry-After header)."
        )


class PerUserThrottle(_FixedWindowThrottle):
    scope = "user"
    who = "per user (its token and its admin session together)"

    def bucket(self, request) -> str | None:
        user = request.user
        return f"api-user:{user.pk}" if user and user.is_authenticated else None


class PerAddressThrottle(_FixedWindowThrottle):
    scope = "anon"
    who = "per client address without valid credentials"

    def bucket(self, request) -> str | None:
        user = request.user
        return None if user and user.is_authenticated else f"api-address:{self.get_ident(request)}"
