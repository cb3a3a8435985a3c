"""Deleting mailings from the admin. A mailing with messages keeps them (its statistics are
history): deleting one, from its page or with the list's action, is refused in the domain's words
("Mailing #12 has 2,154 messages: cancel it instead."), before Django's confirmation page would
collect its messages; a bulk delete that holds one such mailing deletes none."""

from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import reverse

from mailings import services
from mailings.errors import ConflictError
from mailings.models import Mailing


class MailingDeleteMixin:
    """The mailing admin's delete page, its bulk action and the deletes themselves, through the service."""

    def delete_view(self, request, object_id, extra_context=None):
        mailing = self.get_object(request, unquote(object_id))
        if mailing is not None and self.has_delete_permission(request, mailing):
            try:
                services.mailing_delete_check(mailing=mailing)
            except ConflictError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:mailings_mailing_change", args=[mailing.pk]))
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description="Delete selected mailings", permissions=["delete"])
    def delete_selected(self, request, queryset):
        refused = []
        for mailing in queryset:
            try:
                services.mailing_delete_check(mailing=mailing)
            except ConflictError as exc:
                refused.append(str(exc))
        for reason in refused:
            self.message_user(request, reason, messages.ERROR)
        if refused:
            return None  # nothing deleted: the operator chooses again
        return admin_actions.delete_selected(self, request, queryset)

    def delete_queryset(self, request, queryset) -> None:
        for mailing in queryset:
            services.mailing_delete(mailing=mailing)

    def delete_model(self, request, obj: Mailing) -> None:
        services.mailing_delete(mailing=obj)
