"""Operator pages. Big tables: no full COUNT(*) per page, raw ids for foreign keys.

Writes go through `services`, like every other interface, so the admin keeps the
same promises as the API (history kept, engine state untouched).
"""

from django.contrib import admin

from mailings import services
from mailings.models import Client, Mailing, Message

ENGINE_FIELDS = ["status", "started_at", "finished_at", "created_at", "updated_at"]


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "operator_code", "tag", "timezone", "created_at"]
    list_filter = ["operator_code", "timezone"]
    search_fields = ["=phone_number", "^phone_number", "tag"]
    show_full_result_count = False

    def delete_model(self, request, obj: Client) -> None:
        services.client_delete(client=obj)

    def delete_queryset(self, request, queryset) -> None:
        for client in queryset:
            services.client_delete(client=client)


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "message_text",
        "status",
        "start_datetime",
        "end_datetime",
        "filter_operator_code",
        "filter_tag",
    ]
    list_filter = ["status", "start_datetime"]
    exclude = ["audience_outdated"]

    def get_readonly_fields(self, request, obj: Mailing | None = None):
        if obj is not None and obj.started_at:
            return [*ENGINE_FIELDS, "start_datetime"]
        return ENGINE_FIELDS

    def has_change_permission(self, request, obj: Mailing | None = None) -> bool:
        closed = obj is not None and obj.status in (Mailing.Status.FINISHED, Mailing.Status.CANCELLED)
        return not closed and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj: Mailing | None = None) -> bool:
        # A mailing with messages keeps them: its statistics are history.
        return not (obj is not None and obj.messages.exists()) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj: Mailing, form, change: bool) -> None:
        editable = [name for name in form.changed_data if name in form.cleaned_data]
        if change:
            saved = services.mailing_update(mailing=obj, **{name: form.cleaned_data[name] for name in editable})
        else:
            saved = services.mailing_create(**{name: form.cleaned_data[name] for name in form.cleaned_data})
        obj.pk, obj.status = saved.pk, saved.status

    def delete_model(self, request, obj: Mailing) -> None:
        services.mailing_delete(mailing=obj)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "mailing", "phone_number", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["^phone_number"]
    raw_id_fields = ["mailing", "client"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
