"""Routes (phone prefix or operator code to providers by weight) and a message's pin to the
provider its request may have reached (docs/sending.md, "Routing and failover").

Operators change routes, Viewers read them. On SQLite adding a column to the message table
rebuilds it, which drops its triggers: both directions install them again (0024's count and
per-minute triggers and 0026's delivery counts).
"""

import importlib
import re

import django.core.validators
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

_DELIVERY = importlib.import_module("mailings.migrations.0026_delivery_reports")

GRANTS = {
    "Operators": ["view_route", "add_route", "change_route", "delete_route"],
    "Viewers": ["view_route"],
}


def reinstall_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in _DELIVERY.SQLITE_DROP:  # dropping a column need not rebuild the table
            schema_editor.execute(statement)
        _DELIVERY.install(apps, schema_editor)  # 0024's triggers, then the delivery counts'


def grant(apps, schema_editor):
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

    dependencies = [
        ('mailings', '0026_delivery_reports'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_on_sqlite),
        migrations.AddField(
            model_name='message',
            name='provider_pinned',
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.RunPython(reinstall_on_sqlite, migrations.RunPython.noop),
        migrations.CreateModel(
            name='Route',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phone_prefix', models.CharField(blank=True, help_text='The phones this route takes: 7 and more digits (the longest prefix that matches wins).', max_length=11, validators=[django.core.validators.RegexValidator('^7\\d{0,10}$', 'Enter 7 and up to 10 more digits, such as 7913.')])),
                ('operator_code', models.CharField(blank=True, help_text='Or the clients of this mobile operator code (3 digits). Neither: the default route.', max_length=3, validators=[django.core.validators.RegexValidator(re.compile('^[0-9]{3}$'), 'Enter exactly 3 digits, such as 913.', code='invalid_operator_code')])),
                ('provider', models.CharField(help_text="A provider's name, as configured (Providers page).", max_length=40)),
                ('weight', models.PositiveIntegerField(default=100, help_text="Its share of the route: 70 and 30 send 70% and 30% of the route's messages.")),
            ],
            options={
                'ordering': ['phone_prefix', 'operator_code', '-weight', 'provider'],
                'verbose_name': 'route',
                'verbose_name_plural': 'routes and providers',
                'constraints': [models.CheckConstraint(condition=models.Q(('weight__gt', 0)), name='route_weight_positive', violation_error_message='Weight must be 1 or more.'), models.CheckConstraint(condition=models.Q(('phone_prefix', ''), ('operator_code', ''), _connector='OR'), name='route_prefix_or_operator', violation_error_message='A route takes a phone prefix or an operator code, not both.'), models.UniqueConstraint(fields=('phone_prefix', 'operator_code', 'provider'), name='route_provider_once', violation_error_message='This route already names this provider.')],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
