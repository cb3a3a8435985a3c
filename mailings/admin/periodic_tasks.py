"""django-celery-beat's periodic task page, for superusers.

Operators change the sending tick on the Sending schedule page (mailings/admin/schedule.py):
its interval and whether it runs. What a task runs and where (name, task, queue, args,
kwargs, ...) is for superusers: a task sent to a queue no worker reads would still show
enabled while nothing is sent. Others who may view periodic tasks read this page.
"""

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    """django-celery-beat's page; its form and actions (enable, disable, run now) for superusers."""

    change_form_template = "admin/django_celery_beat/periodictask/change_form.html"  # no inline script

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_actions(self, request):
        return super().get_actions(request) if self.has_change_permission(request) else {}
