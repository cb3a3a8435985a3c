"""The two roles of the back-office, so that every install has them.

Operators run mailings: clients, mailings (with their actions), the delivery log
(read-only) and the periodic tasks. Viewers read everything and change nothing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = {
    "mailings": {
        "client": ["view", "add", "change", "delete"],
        "mailing": ["view", "add", "change", "delete"],
        "message": ["view"],
    },
    "django_celery_beat": {"periodictask": ["view", "change"], "intervalschedule": ["view", "add", "change"]},
}
VIEWERS = {
    "mailings": {"client": ["view"], "mailing": ["view"], "message": ["view"]},
    "django_celery_beat": {"periodictask": ["view"], "intervalschedule": ["view"]},
}


def _permissions(apps, spec):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, models in spec.items():
        for model, actions in models.items():
            for action in actions:
                found.append(Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}"))
    return found


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, spec in (("Operators", OPERATORS), ("Viewers", VIEWERS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, spec))


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Operators", "Viewers"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mailings", "0002_periodic_processing"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
