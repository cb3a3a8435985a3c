"""The do-not-contact list: phones that no mailing may reach, kept by number."""

import django.db.models.deletion
import django.utils.timezone
import mailings.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0020_sso_identity'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Suppression',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phone_number', mailings.models.PhoneNumberField(help_text='7 and ten digits, such as 79001234567.', max_length=11, unique=True)),
                ('reason', models.CharField(choices=[('stop', 'STOP reply'), ('complaint', 'Complaint'), ('manual', 'Added by hand'), ('invalid', 'Invalid number')], default='manual', max_length=16)),
                ('source', models.CharField(blank=True, max_length=100)),
                ('note', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'do-not-contact entry',
                'verbose_name_plural': 'do-not-contact list',
                'ordering': ['-created_at', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('phone_number__regex', '^7[0-9]{10}$')), name='suppression_phone_number_format', violation_error_message='Phone number must be 7 followed by 10 digits.')],
            },
        ),
    ]
