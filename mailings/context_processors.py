"""Template context for the admin: which enabled providers' circuits hold sending through them, and
whether the sending task is switched off (one small query and one cache read per page)."""

from mailings.selectors import failing_providers, sending_task_state


def provider(request) -> dict:
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return {}
    return {"failing_providers": failing_providers(), "sending_task_state": sending_task_state()}
