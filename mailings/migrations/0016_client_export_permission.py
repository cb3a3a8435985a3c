"""Exporting the client directory is its own permission: Operators have it, Viewers do not.

Granting is idempotent (the permission is made if missing, adding it twice changes nothing),
so an existing database gets it as a fresh one does; going back takes it from Operators.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; the group needs this one now.
    app_config = apps.get_app_config("mailings")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    export = Permission.objects.get(content_type__app_label="mailings", codename="export_client")
    for group in apps.get_model("auth", "Group").objects.filter(name="Operators"):
        group.permissions.add(export)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name="Operators"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="mailings", codename="export_client"))


class Migration(migrations.Migration):
    dependencies = [("mailings", "0015_message_log_indexes")]

    operations = [
        migrations.AlterModelOptions(
            name="client",
            options={"ordering": ["id"], "permissions": [("export_client", "Can export clients")]},
        ),
        migrations.RunPython(grant, revoke),
    ]
