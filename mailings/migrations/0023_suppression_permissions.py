"""The do-not-contact list's permissions for the groups: Operators view, add and remove entries
(and import files of them), Viewers read the list.

Granting is idempotent (the permissions are made if missing, adding them twice changes nothing),
so an existing database gets them as a fresh one does; going back takes them away.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operators": ["view_suppression", "add_suppression", "delete_suppression"],
    "Viewers": ["view_suppression"],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need these now.
    app_config = apps.get_app_config("mailings")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        perms = Permission.objects.filter(content_type__app_label="mailings", codename__in=codenames)
        for group in apps.get_model("auth", "Group").objects.filter(name=name):
            group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        perms = Permission.objects.filter(content_type__app_label="mailings", codename__in=codenames)
        for group in apps.get_model("auth", "Group").objects.filter(name=name):
            group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("mailings", "0022_left_out_and_inbound_replies")]

    operations = [migrations.RunPython(grant, revoke)]
