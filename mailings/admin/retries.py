"""Retrying a mailing's failed messages from the admin: an action on the mailing list and a button
on the mailing's control panel, both saying how many messages went back to waiting."""

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed
from django.urls import reverse
from django.utils.timezone import now

from mailings import selectors, services
from mailings.errors import ConflictError
from mailings.models import Mailing, Message


class MailingRetryMixin:
    """For MailingAdmin (with MailingPanelMixin): the "Retry failed messages" action, view and button."""

    def _retry(self, request, mailing: Mailing) -> None:
        try:
            retried = services.mailing_retry_failed(mailing=mailing, actor=request.user)
        except ConflictError as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        noun = "message" if retried == 1 else "messages"
        self.message_user(
            request,
            f"Mailing #{mailing.pk}: {retried:,} failed {noun} back to waiting, with fresh attempts.",
            messages.SUCCESS,
        )

    @admin.action(description="Retry failed messages (while the mailing has not ended)", permissions=["change"])
    def retry_failed(self, request, queryset) -> None:
        for mailing in queryset:
            self._retry(request, mailing)

    def retry_failed_view(self, request, object_id: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        mailing = self._panel_object(request, object_id)
        self._retry(request, mailing)
        return self._back_to(mailing)

    def retry_button(self, request, obj: Mailing) -> list[dict]:
        """The panel's button, with how many it would retry, when there is something to retry."""
        if obj.status == Mailing.Status.CANCELLED or obj.end_datetime <= now():
            return []
        failed = selectors.mailing_message_counts(mailing=obj).get(Message.Status.FAILED, 0)
        if not failed:
            return []
        url = reverse("admin:mailings_mailing_retry_failed", args=[obj.pk])
        return [{"name": "retry-failed", "label": f"Retry {failed:,} failed", "url": url, "post": True}]
