"""A mailing's page as its control panel: status, progress and counts (with links to its messages
by status), the buttons its state allows, cancel behind a confirmation, and clone.

The services record every action in the mailing's History with the user; the admin's own
entries for a form save are left out here so that none is written twice.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from mailings import selectors, services
from mailings.admin.delivery import delivery_panel
from mailings.admin.links import delivery_log_url
from mailings.admin.retries import MailingRetryMixin
from mailings.models import Mailing, Message
from mailings.outcomes import message_outcomes

CONTROLS: dict[str, tuple[Callable[..., Mailing], str]] = {
    "launch": (services.mailing_launch, "Launched"),
    "pause": (services.mailing_pause, "Paused"),
    "resume": (services.mailing_resume, "Resumed"),
}


class MailingPanelMixin(MailingRetryMixin):
    """For MailingAdmin: the panel above a saved mailing's form, its URLs and the actions behind them."""

    def panel_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/control/<str:control>/", view(self.control_view), name="mailings_mailing_control"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="mailings_mailing_cancel"),
            path("<path:object_id>/clone/", view(self.clone_view), name="mailings_mailing_clone"),
            path("<path:object_id>/retry-failed/", view(self.retry_failed_view), name="mailings_mailing_retry_failed"),
        ]

    def may_control(self, request, obj: Mailing | None = None) -> bool:
        """Those who may change mailings; a closed one's page still shows its test message and clone."""
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    # The services write the History entries (with the user, from the admin and the API alike).
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None and not context.get("is_popup"):
            context["panel"] = self.panel(request, obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def panel(self, request, obj: Mailing) -> dict:
        counts = selectors.mailing_message_counts(mailing=obj)  # trigger-kept rows: no scan of its messages
        log = delivery_log_url(mailing_id=obj.pk)
        by_status = [  # in the operators' words (outcomes): waiting is pending and sending
            {"status": name, "label": name, "count": n, "url": delivery_log_url(mailing_id=obj.pk, outcome=name)}
            for name, n in message_outcomes(counts=counts).items()
        ]
        return {
            "status": self.status_label(obj),
            "progress": self.progress(obj),
            "counts": self.counts(obj),
            "messages_url": log,
            "total": sum(counts.values()),
            "by_status": by_status,
            "buttons": self.panel_buttons(request, obj),
            "live_counts_every": settings.ADMIN_LIVE_COUNTS_SECONDS,
            "delivery": delivery_panel(mailing_id=obj.pk),
        }

    def panel_buttons(self, request, obj: Mailing) -> list[dict]:
        def post(control: str, label: str) -> dict:
            url = reverse("admin:mailings_mailing_control", args=[obj.pk, control])
            return {"name": control, "label": label, "url": url, "post": True}

        buttons = []
        if self.may_control(request, obj):
            if obj.status == Mailing.Status.SCHEDULED:
                buttons.append(post("launch", "Launch now"))
            if obj.status in (Mailing.Status.SCHEDULED, Mailing.Status.RUNNING):
                buttons.append(post("pause", "Pause"))
            if obj.status == Mailing.Status.PAUSED:
                label = "Resume" if obj.started_at else "Resume (sends from its start)"
                buttons.append(post("resume", label))
            buttons.extend(self.retry_button(request, obj))  # mailings/admin/retries.py
            if obj.status not in Mailing.CLOSED_STATUSES:
                url = reverse("admin:mailings_mailing_cancel", args=[obj.pk])
                buttons.append({"name": "cancel", "label": "Cancel…", "url": url, "danger": True})
            url = reverse("admin:mailings_mailing_test_message", args=[obj.pk])
            buttons.append({"name": "test-message", "label": "Send a test message", "url": url})
        if self.has_add_permission(request):
            url = reverse("admin:mailings_mailing_clone", args=[obj.pk])
            buttons.append({"name": "clone", "label": "Clone", "url": url, "post": True})
        return buttons

    def _panel_object(self, request, object_id: str) -> Mailing:
        mailing = self.get_object(request, object_id)
        if not self.may_control(request, mailing):  # before 404: no existence told
            raise PermissionDenied
        if mailing is None:
            raise Http404(f"No mailing with id {object_id!r}.")
        return mailing

    def _back_to(self, mailing: Mailing) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:mailings_mailing_change", args=[mailing.pk]))

    def control_view(self, request, object_id: str, control: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        mailing = self._panel_object(request, object_id)
        if control not in CONTROLS:
            raise Http404(f"No control {control!r}.")
        service, done = CONTROLS[control]
        self._control(request, Mailing.objects.filter(pk=mailing.pk), service, done)
        return self._back_to(mailing)

    def cancel_view(self, request, object_id: str):
        """GET: what cancelling drops, with Confirm and Go back; only the confirming POST cancels."""
        mailing = self._panel_object(request, object_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._control(request, Mailing.objects.filter(pk=mailing.pk), services.mailing_cancel, "Cancelled")
            return self._back_to(mailing)
        back = reverse("admin:mailings_mailing_change", args=[mailing.pk])
        return self.cancel_confirmation(request, [mailing], back_url=back, action_url="")

    def cancel_confirmation(self, request, mailings: list[Mailing], *, back_url: str, action_url: str, hidden=()):
        counts = selectors.message_counts_by_mailing(mailing_ids=[m.pk for m in mailings])
        rows = [
            {
                "mailing": m,
                "pending": counts[m.pk][Message.Status.PENDING],
                "sending": counts[m.pk][Message.Status.SENDING],
                "closed": m.status in Mailing.CLOSED_STATUSES,
            }
            for m in mailings
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel mailing" if len(mailings) == 1 else f"Cancel {len(mailings)} mailings",
            "opts": self.opts,
            "rows": rows,
            "original": mailings[0] if len(mailings) == 1 else None,
            "dropped": sum(row["pending"] for row in rows if not row["closed"]),
            "on_the_wire": sum(row["sending"] for row in rows if not row["closed"]),
            "back_url": back_url,
            "action_url": action_url,
            "hidden": hidden,
        }
        return TemplateResponse(request, "admin/mailings/mailing/cancel_confirmation.html", context)

    @admin.action(description="Cancel (asks first: waiting messages are dropped)", permissions=["change"])
    def cancel(self, request, queryset):
        if request.POST.get("post") == "yes":
            self._control(request, queryset, services.mailing_cancel, "Cancelled")
            return None
        chosen = list(queryset)
        hidden = [("action", "cancel"), *[("_selected_action", m.pk) for m in chosen]]
        back = reverse("admin:mailings_mailing_changelist")
        return self.cancel_confirmation(request, chosen, back_url=back, action_url=back, hidden=hidden)

    def clone_view(self, request, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        mailing = self.get_object(request, object_id)
        if mailing is None:
            raise Http404(f"No mailing with id {object_id!r}.")
        return self._clone(request, mailing) or self._back_to(mailing)

    def _clone(self, request, mailing: Mailing) -> HttpResponseRedirect | None:
        try:
            copy = services.mailing_clone(mailing=mailing, actor=request.user)
        except ValidationError as exc:  # a text saved before the limit on parts, too long to copy
            self.message_user(request, f"Mailing {mailing.pk} not cloned: {' '.join(exc.messages)}", messages.ERROR)
            return None
        self.message_user(
            request,
            f"Mailing #{copy.pk} is a copy of #{mailing.pk}, paused: nothing is sent until you resume it. "
            "Check its text, audience and times, save, then press Resume.",
            messages.SUCCESS,
        )
        return self._back_to(copy)

    @admin.action(description="Clone (a paused copy to review)", permissions=["add"])
    def clone(self, request, queryset):
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Choose one mailing to clone.", messages.WARNING)
            return None
        return self._clone(request, chosen[0])
