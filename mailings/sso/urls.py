"""The sign-in's URLs under /admin/sso/, named as mozilla-django-oidc reverses them."""

from django.urls import path

from mailings.sso.views import SsoCallback, SsoStart

urlpatterns = [
    path("start/", SsoStart.as_view(), name="oidc_authentication_init"),
    path("callback/", SsoCallback.as_view(), name="oidc_authentication_callback"),
]
