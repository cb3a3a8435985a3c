"""Endpoints for operations: liveness, readiness and Prometheus metrics.

- `/healthz`: the process answers; touches nothing else (a liveness probe must not
  restart the web server because the database is away).
- `/readyz`: the database and the broker answer; 503 with what failed otherwise.
- `/metrics`: Prometheus text format (see mailings/metrics.py), for a bearer token
  (`METRICS_TOKEN`) or the allowed networks (`METRICS_ALLOWED_NETWORKS`); with
  neither set, only loopback.
"""

import hmac
import ipaddress
import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import choose_encoder

from backoffice.celery import app
from mailings.metrics import registry

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 2.0


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)
        conn.default_channel  # noqa: B018 (opening a channel is what talks to the broker)


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            # The class only: the message may name hosts and users, and this page is public.
            checks[name] = f"unavailable ({type(exc).__name__})"
            logger.warning("readiness: the %s did not answer", name, exc_info=True)
    failed = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _address_allowed(request: HttpRequest) -> bool:
    """REMOTE_ADDR, the peer that connected: behind a proxy, allow the proxy's network or use the token."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not networks and not settings.METRICS_TOKEN:
        return address.is_loopback
    return any(address in network for network in networks)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token = settings.METRICS_TOKEN
    presented = _bearer(request)
    if presented is not None and token:
        if hmac.compare_digest(presented.encode(), token.encode()):
            return None
        return _denied(401, "wrong metrics token")
    if _address_allowed(request):
        return None
    if token:
        return _denied(401, "a bearer token is required")
    return _denied(403, "this address may not read the metrics")


def _denied(status: int, reason: str) -> HttpResponse:
    response = HttpResponse(reason + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    # What the scraper asks for: Prometheus's text format (0.0.4 by default) or OpenMetrics.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry()), content_type=content_type)
