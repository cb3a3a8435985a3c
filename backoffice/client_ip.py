"""The address a request came from, behind TRUSTED_PROXY_COUNT reverse proxies of our own.

Each proxy appends the address it received the request from to X-Forwarded-For, so the
last TRUSTED_PROXY_COUNT hops are ours and the one before them is the client as our first
proxy saw it. Anything further left was written by the client and is not trusted.
"""

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    chain = [*forwarded, remote]
    return chain[-(proxies + 1)] if len(chain) > proxies else chain[0]
