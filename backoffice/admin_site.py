"""The admin site: the mailing pages first on the index and in the sidebar, the Sending schedule
page (mailings/admin/schedule.py) listed with them, and the sign-in page with single sign-on
(mailings/sso/, docs/sso.md) beside or instead of the password form."""

from django.conf import settings
from django.contrib import admin
from django.urls import path, reverse

# The Mailings app's pages in the order an operator works through them.
MAILING_PAGES = ("Mailing", "MailingStatistics", "Message", "Client", "Suppression", "Route")
SCHEDULE_OBJECT_NAME = "SendingSchedule"


class BackofficeAdminSite(admin.AdminSite):
    def get_urls(self):
        from mailings.admin.schedule import sending_schedule_view

        schedule = path("sending-schedule/", self.admin_view(sending_schedule_view), name="sending_schedule")
        return [schedule, *super().get_urls()]

    def login(self, request, extra_context=None):
        if request.method == "POST" and not settings.ADMIN_PASSWORD_LOGIN:
            from mailings.sso.views import refusal

            return refusal(request, "Password sign-in is turned off here (ADMIN_PASSWORD_LOGIN=0): sign in with SSO.")
        sign_in = {"sso_enabled": settings.SSO_ENABLED, "password_login": settings.ADMIN_PASSWORD_LOGIN}
        return super().login(request, {**sign_in, **(extra_context or {})})

    def logout(self, request, extra_context=None):
        from mailings.sso.views import sso_logout

        return sso_logout(request) or super().logout(request, extra_context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        for app in apps:
            if app["app_label"] == "mailings":
                rank = {name: i for i, name in enumerate(MAILING_PAGES)}
                app["models"].sort(key=lambda model: rank.get(model["object_name"], len(rank)))
                app["models"].extend(self._schedule_entry(request))
        if not request.user.is_superuser:  # their schedule is the Sending schedule page
            apps = [app for app in apps if app["app_label"] != "django_celery_beat"]
        # Mailings first, the rest as Django orders them (by name).
        return sorted(apps, key=lambda app: app["app_label"] != "mailings")

    def _schedule_entry(self, request) -> list[dict]:
        may_change = request.user.has_perm("django_celery_beat.change_periodictask")
        if not (may_change or request.user.has_perm("django_celery_beat.view_periodictask")):
            return []
        return [
            {
                "name": "Sending schedule",
                "object_name": SCHEDULE_OBJECT_NAME,
                "perms": {"view": True, "change": may_change},
                "admin_url": reverse("admin:sending_schedule", current_app=self.name),
                "add_url": None,
                "view_only": not may_change,
            }
        ]
