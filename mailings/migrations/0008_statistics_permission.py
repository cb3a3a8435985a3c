"""Both roles read the statistics page."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("mailings")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="mailings", codename="view_mailingstatistics")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["Operators", "Viewers"]):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["Operators", "Viewers"]):
        group.permissions.remove(*Permission.objects.filter(codename="view_mailingstatistics"))


class Migration(migrations.Migration):
    dependencies = [("mailings", "0007_mailing_statistics"), ("mailings", "0003_operator_groups")]

    operations = [migrations.RunPython(grant, revoke)]
