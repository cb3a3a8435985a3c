"""django-celery-beat's periodic task page, its actions kept for those who may change tasks."""

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    """django-celery-beat's page, whose actions (enable, disable, run now) need the change permission."""

    def get_actions(self, request):
        return super().get_actions(request) if self.has_change_permission(request) else {}
