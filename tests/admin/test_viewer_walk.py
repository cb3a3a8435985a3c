"""A viewer walks every admin URL (every registered model, every route, every action) and changes nothing.

The routes come from the admin site itself, so a page added later is walked too; a
custom route must be given its expected answer in CUSTOM below or this test fails.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from rest_framework.authtoken.models import Token

from mailings.models import Client, Mailing, Message, Suppression
from tests.admin.conftest import admin_routes

pytestmark = pytest.mark.django_db

STANDARD = {"", "add/", "<path:object_id>/history/", "<path:object_id>/delete/", "<path:object_id>/change/",
            "<path:object_id>/"}  # fmt: skip
# Custom routes: (method, status a viewer gets).
CUSTOM = {
    ("auth.User", "<id>/password/"): ("GET", 403),
    ("mailings.Client", "process_import/"): ("POST", 403),
    ("mailings.Client", "import/"): ("GET", 403),
    ("mailings.Client", "export/"): ("GET", 403),  # exporting the directory needs export_client
    ("mailings.Mailing", "audience-preview/"): ("GET", 200),
    ("mailings.Mailing", "live-counts/"): ("GET", 200),
    ("mailings.Mailing", "text-parts/"): ("POST", 200),  # counts the text it is sent; changes nothing
    ("mailings.Mailing", "<path:object_id>/test-message/"): ("POST", 403),
    ("mailings.Mailing", "<path:object_id>/control/<str:control>/"): ("POST", 403),
    ("mailings.Mailing", "<path:object_id>/cancel/"): ("POST", 403),  # confirmed ("post": "yes")
    ("mailings.Mailing", "<path:object_id>/clone/"): ("POST", 403),
    ("mailings.Mailing", "<path:object_id>/retry-failed/"): ("POST", 403),
    ("mailings.Suppression", "process_import/"): ("POST", 403),
    ("mailings.Suppression", "import/"): ("GET", 403),
    ("mailings.Suppression", "export/"): ("GET", 200),  # who reads the list may take it as a file
}


def _snapshot() -> dict:
    return {
        "clients": list(Client.objects.values_list("id", "phone_number", "tag")),
        "mailings": list(Mailing.objects.values_list("id", "status", "message_text")),
        "messages": list(Message.objects.values_list("id", "status")),
        "tasks": list(PeriodicTask.objects.values_list("id", "enabled", "interval_id")),
        "groups": list(Group.objects.values_list("id", "name")),
        "users": list(get_user_model().objects.values_list("id", "username", "is_staff", "password")),
        "tokens": list(Token.objects.values_list("key", "user_id")),
        "suppressions": list(Suppression.objects.values_list("id", "phone_number", "reason")),
    }


def test_a_viewer_can_read_but_change_nothing_anywhere(viewer, world):
    before = _snapshot()
    walked = 0
    for model, model_admin, route in admin_routes():
        label = model._meta.label
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"the walk needs a {label} to open"
        can_view = viewer.get("/admin/").wsgi_request.user.has_perm(
            f"{model._meta.app_label}.view_{model._meta.model_name}"
        )
        base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        url = base + route.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk))
        if route in STANDARD:
            checks = {
                "": [("GET", 200 if can_view else 403)],
                "add/": [("GET", 403), ("POST", 403)],
                "<path:object_id>/history/": [("GET", 200 if can_view else 403)],
                "<path:object_id>/delete/": [("GET", 403), ("POST", 403)],
                "<path:object_id>/change/": [("GET", 200 if can_view else 403), ("POST", 403)],
                "<path:object_id>/": [("GET", 302)],
            }[route]
        else:
            assert (label, route) in CUSTOM, f"decide what a viewer gets at {label} {route}"
            checks = [CUSTOM[(label, route)]]
        for method, expected in checks:
            response = viewer.get(url) if method == "GET" else viewer.post(url, {"post": "yes", "phone_number": "1"})
            assert response.status_code == expected, f"{method} {url} ({label} {route})"
            if method == "GET" and expected == 200 and route.endswith("change/"):
                page = response.content.decode()
                assert 'name="_save"' not in page, f"{url} offers to save"
                assert "deletelink" not in page, f"{url} offers to delete"
            walked += 1
        if route == "" and can_view:
            page = viewer.get(url).content.decode()
            assert 'name="action"' not in page, f"{url} offers actions"
            assert "addlink" not in page, f"{url} offers to add"
            for action in model_admin.actions or []:
                viewer.post(url, {"action": action, "_selected_action": [obj.pk]})
            viewer.post(url, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert walked > 80
    assert _snapshot() == before
    assert Mailing.objects.get(pk=world.pk).status == Mailing.Status.RUNNING
