"""Operator pages. Big tables: no full COUNT(*) per page, raw ids for foreign keys."""

from django.contrib import admin

from mailings.models import Client, Mailing, Message


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "operator_code", "tag", "timezone", "created_at"]
    list_filter = ["operator_code", "timezone"]
    search_fields = ["=phone_number", "^phone_number", "tag"]
    show_full_result_count = False


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
    readonly_fields = ["status", "created_at", "updated_at"]


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
