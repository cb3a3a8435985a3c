"""Single sign-on to the admin through OpenID Connect (docs/sso.md), on mozilla-django-oidc."""
