"""django-celery-beat's periodic task page, its actions kept for those who may change tasks.

Superusers find it on the index; others reach it from the Sending schedule page (their page
for the sending tick, mailings/admin/schedule.py), for the other tasks (the daily e-mail).
Operators change when a task runs (its interval) and whether it runs (enabled); what it
runs and where (name, task, queue, args, kwargs, ...) is for superusers. A task whose
queue no worker reads would still show enabled while nothing is sent.
"""

from django import forms
from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

admin.site.unregister(PeriodicTask)

OPERATOR_FIELDS = ("enabled", "interval")
OPERATOR_READONLY = ("name", "task", "last_run_at")


class OperatorPeriodicTaskForm(forms.ModelForm):
    class Meta:
        model = PeriodicTask
        fields = OPERATOR_FIELDS


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    """django-celery-beat's page, whose actions (enable, disable, run now) need the change permission."""

    change_form_template = "admin/django_celery_beat/periodictask/change_form.html"  # no inline script

    def get_actions(self, request):
        return super().get_actions(request) if self.has_change_permission(request) else {}

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return ((None, {"fields": (*OPERATOR_READONLY, *OPERATOR_FIELDS)}),)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return OPERATOR_READONLY

    def get_form(self, request, obj=None, change=False, **kwargs):
        if not request.user.is_superuser:
            kwargs["form"] = OperatorPeriodicTaskForm
        return super().get_form(request, obj, change, **kwargs)
