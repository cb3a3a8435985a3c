"""Phones and operator codes of ASCII digits only: the patterns said \\d, which in Python takes any script's digits."""

import django.core.validators
import re
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0013_client_timezone_help'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='client',
            name='client_phone_number_format',
        ),
        migrations.RemoveConstraint(
            model_name='client',
            name='client_operator_code_format',
        ),
        migrations.AlterField(
            model_name='client',
            name='operator_code',
            field=models.CharField(blank=True, help_text="Mobile operator code, 3 digits; taken from the phone's digits 2-4 when left empty.", max_length=3, validators=[django.core.validators.RegexValidator(re.compile('^[0-9]{3}$'), 'Enter exactly 3 digits, such as 913.', code='invalid_operator_code')]),
        ),
        migrations.AlterField(
            model_name='mailing',
            name='filter_operator_code',
            field=models.CharField(blank=True, help_text='Only clients with this operator code; empty for any.', max_length=3, validators=[django.core.validators.RegexValidator(re.compile('^[0-9]{3}$'), 'Enter exactly 3 digits, such as 913.', code='invalid_operator_code')]),
        ),
        migrations.AddConstraint(
            model_name='client',
            constraint=models.CheckConstraint(condition=models.Q(('phone_number__regex', '^7[0-9]{10}$')), name='client_phone_number_format', violation_error_message='Phone number must be 7 followed by 10 digits.'),
        ),
        migrations.AddConstraint(
            model_name='client',
            constraint=models.CheckConstraint(condition=models.Q(('operator_code__regex', '^[0-9]{3}$')), name='client_operator_code_format', violation_error_message='Operator code must be 3 digits.'),
        ),
    ]
