"""The Sending schedule page: the processing tick's interval and on/off, and what its last run
did. Operators use it instead of django-celery-beat's periodic task form (kept for superusers)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from mailings import selectors, services
from mailings.errors import ConflictError
from mailings.sending.ticks import tick_last
from mailings.services.schedule import TICK_SECONDS_MAX, TICK_SECONDS_MIN

VIEW, CHANGE_PERM = "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask"
# What each count of the tick's summary (sending/processor.py) says: one, many.
STEPS = (
    ("started", "mailing started", "mailings started"),
    ("queued", "message queued to send", "messages queued to send"),
    ("finished", "mailing finished", "mailings finished"),
    ("audiences_retaken", "audience taken again", "audiences taken again"),
    ("reaped", "message taken back from a stopped worker", "messages taken back from a stopped worker"),
)


class SendingScheduleForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, label="Sending on", help_text="Off: no mailing starts, sends, retries or finishes."
    )
    every_seconds = forms.IntegerField(
        min_value=TICK_SECONDS_MIN,
        max_value=TICK_SECONDS_MAX,
        label="Run every (seconds)",
        help_text="How often the tick starts due mailings and hands due messages to the workers.",
    )


def _interval_seconds(task) -> int | None:
    return int(task.interval.schedule.run_every.total_seconds()) if task is not None and task.interval else None


def _last_tick() -> dict | None:
    tick = tick_last()
    if tick is None:
        return None
    counts = tick["summary"]
    did = [(counts[key], one if counts[key] == 1 else many) for key, one, many in STEPS if counts.get(key)]
    return {**tick, "did": did, "ago": (timezone.now() - tick["at"]).total_seconds()}


def _late(task, last_tick: dict | None) -> bool:
    """On, and no tick for three intervals (a minute at least): beat or the workers are not running."""
    if task is None or not task.enabled:
        return False
    allowed = max(60, 3 * (_interval_seconds(task) or 0))
    return last_tick is None or last_tick["ago"] > allowed


def sending_schedule_view(request):
    user = request.user
    may_change = user.has_perm(CHANGE_PERM)
    if not (may_change or user.has_perm(VIEW)):
        raise PermissionDenied("Viewing the sending schedule needs the permission to view periodic tasks.")
    task = selectors.periodic_task_processing()
    initial = {"enabled": bool(task and task.enabled), "every_seconds": _interval_seconds(task) or 10}
    form = SendingScheduleForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied("Changing the sending schedule needs the permission to change periodic tasks.")
        if form.is_valid():
            try:
                return _save(request, form)
            except ConflictError as exc:
                messages.error(request, str(exc))
            except ValidationError as exc:
                form.add_error(None, exc)
    if not may_change:
        for field in form.fields.values():
            field.disabled = True
    last_tick = _last_tick()
    context = {
        **admin.site.each_context(request),
        "title": "Sending schedule",
        "task": task,
        "interval_seconds": _interval_seconds(task),
        "other_schedule": task is not None and task.interval is None,
        "form": form,
        "may_change": may_change,
        "last_tick": last_tick,
        "late": _late(task, last_tick),
        "stock_page": user.is_superuser,
    }
    return TemplateResponse(request, "admin/sending_schedule.html", context)


def _save(request, form) -> HttpResponseRedirect:
    every, enabled = form.cleaned_data["every_seconds"], form.cleaned_data["enabled"]
    task = services.sending_schedule_update(every_seconds=every, enabled=enabled)
    said = f"Sending {'on' if enabled else 'off'}, the tick every {every} second{'s' * (every != 1)}."
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[task], action_flag=CHANGE, change_message=said, single_object=True
    )
    messages.success(request, said)
    return HttpResponseRedirect(reverse("admin:sending_schedule"))
