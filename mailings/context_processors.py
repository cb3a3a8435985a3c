"""Template context for the admin: whether the provider circuit is holding sending."""

from mailings.selectors import provider_status


def provider(request) -> dict:
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return {}
    return {"provider_status": provider_status()}
