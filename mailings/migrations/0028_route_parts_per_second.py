"""A route row's own limit on its provider, in SMS parts per second (docs/sending.md, "Provider rate
limits"): a column of mailings_route, so no message-table triggers to reinstall on SQLite."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0027_route'),
    ]

    operations = [
        migrations.AddField(
            model_name='route',
            name='parts_per_second',
            field=models.PositiveIntegerField(blank=True, help_text="This route's own cap on this provider, in SMS parts per second, on top of the provider's limit; blank: none of its own.", null=True, validators=[django.core.validators.MinValueValidator(1, 'Enter 1 or more SMS parts per second, or leave it blank for no limit.')]),
        ),
        migrations.AddConstraint(
            model_name='route',
            constraint=models.CheckConstraint(condition=models.Q(('parts_per_second__isnull', True), ('parts_per_second__gt', 0), _connector='OR'), name='route_parts_per_second_positive', violation_error_message="A route's parts per second must be 1 or more, or blank."),
        ),
    ]
