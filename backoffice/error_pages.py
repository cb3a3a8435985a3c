"""What Django's error pages (with DEBUG on) and error e-mails show of the settings and the request.

Django hides settings and `request.META` keys whose names look secret; this filter
also hides the `Authorization` header and the password of any URL wherever it is
(`DATABASE_URL` in the development server's environment, the broker and cache URLs).
"""

import re

from django.views.debug import SafeExceptionReporterFilter

from backoffice.redaction import mask_url_passwords


class CredentialsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|CREDENTIAL|DSN", flags=re.IGNORECASE
    )

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        return mask_url_passwords(str(value)) if isinstance(value, str) else value  # str(): lazy strings too
