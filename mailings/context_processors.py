"""Template context for the admin: whether the provider circuit holds sending, and whether the
sending task is switched off (one small query per page)."""

from mailings.selectors import provider_status, sending_task_state


def provider(request) -> dict:
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return {}
    return {"provider_status": provider_status(), "sending_task_state": sending_task_state()}
