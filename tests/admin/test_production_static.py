"""Every admin page rendered once with production's static storage, from files `collectstatic` wrote.

The test settings serve static files as they are (no `collectstatic` needed); production names
them through WhiteNoise's manifest, where a `{% static %}` or a `Media` file that was never
collected is a ValueError: a 500 for every operator. The pages come from the admin site's own
routes, so a page added later is rendered here too; each must answer as it does with the test
settings' storage (a page 200, a page a superuser may not use 403), so only the storage differs.
"""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.test.utils import override_settings
from django.urls import reverse

from tests.admin.conftest import admin_routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_static(tmp_path):
    """The production storage (as settings.py sets it with DEBUG off), over a fresh `collectstatic`."""
    manifest = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": manifest}, STATIC_ROOT=str(tmp_path)):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield


def _pages() -> list[str]:
    """The admin's index, its password and Sending schedule pages, the favicon's redirect and
    every route of every registered model."""
    pages = ["/admin/", "/admin/password_change/", "/admin/sending-schedule/", "/favicon.ico"]
    for model, _, route in admin_routes():
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"rendering needs a {model._meta.label} to open"
        base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pages.append(base + route.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk)))
    return pages


@pytest.fixture
def answers_without_manifest(admin_client, world) -> dict[str, int]:
    """What a superuser gets at each page with the test settings' storage: 200 for a page, 403
    where even a superuser may not (adding login records), 302 and 405 where it is no page."""
    return {url: admin_client.get(url).status_code for url in _pages()}


def test_every_admin_page_renders_with_the_collected_static_files(
    answers_without_manifest, production_static, admin_client
):
    login = DjangoClient().get("/admin/login/")
    assert login.status_code == 200
    assert "/static/admin/css/base." in login.content.decode()  # a hashed name: the manifest is in use
    # A name the manifest lacks raises here (the test client re-raises the view's exception).
    assert {url: admin_client.get(url).status_code for url in answers_without_manifest} == answers_without_manifest
    assert sum(status == 200 for status in answers_without_manifest.values()) > 40
