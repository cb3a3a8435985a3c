"""The admin app with our own site (backoffice/admin_site.py) as `admin.site`: every
`admin.site.register` / `unregister` elsewhere reaches it unchanged."""

from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    default_site = "backoffice.admin_site.BackofficeAdminSite"
