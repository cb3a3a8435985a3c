"""The API's writes to a mailing land in its admin History with the token's user, marked (API);
POST /mailings/<id>/clone/ makes a paused copy."""

from datetime import timedelta

import pytest
import yaml
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.utils import timezone

from mailings.models import Mailing
from tests.factories import MailingFactory

pytestmark = pytest.mark.django_db


def history(mailing: Mailing) -> list[tuple[str, str]]:
    entries = LogEntry.objects.filter(object_id=str(mailing.pk), content_type__model="mailing").order_by("id")
    return [(entry.user.username, entry.get_change_message()) for entry in entries]


class TestHistoryFromTheApi:
    def test_every_write_is_noted_with_the_token_user(self, api):
        created = api.post(
            "/mailings/",
            {"start_datetime": "2030-01-01T09:00:00Z", "end_datetime": "2030-01-02T09:00:00Z", "message_text": "Hi"},
            format="json",
        )
        mailing = Mailing.objects.get(pk=created.json()["id"])
        api.patch(f"/mailings/{mailing.pk}/", {"filter_tag": "vip"}, format="json")
        api.patch(f"/mailings/{mailing.pk}/", {"filter_tag": "vip"}, format="json")  # nothing changes: no entry
        api.post(f"/mailings/{mailing.pk}/pause/")
        api.post(f"/mailings/{mailing.pk}/resume/")
        api.post(f"/mailings/{mailing.pk}/cancel/")
        assert history(mailing) == [
            ("integration", "Added (API)."),
            ("integration", "Changed filter tag (API)."),
            ("integration", "Paused (API)."),
            ("integration", "Resumed (API)."),
            ("integration", "Cancelled: 0 waiting messages dropped (API)."),
        ]

    def test_a_refused_action_leaves_no_entry(self, api):
        mailing = MailingFactory(status=Mailing.Status.FINISHED)
        assert api.post(f"/mailings/{mailing.pk}/pause/").status_code == 409
        assert history(mailing) == []


class TestClone:
    def test_it_makes_a_paused_copy_with_the_same_text(self, api):
        start = timezone.now() - timedelta(days=1)
        original = MailingFactory(
            status=Mailing.Status.FINISHED, message_text="Скидка 20%", filter_tag="vip",
            start_datetime=start, end_datetime=start + timedelta(hours=2),
        )  # fmt: skip
        response = api.post(f"/mailings/{original.pk}/clone/")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["id"] != original.pk
        assert (body["message_text"], body["filter_tag"], body["status"]) == ("Скидка 20%", "vip", "paused")
        copy = Mailing.objects.get(pk=body["id"])
        assert copy.end_datetime - copy.start_datetime == timedelta(hours=2)
        assert copy.start_datetime >= timezone.now() - timedelta(minutes=1)
        assert history(copy) == [("integration", f"Added as a copy of mailing #{original.pk}, paused (API).")]
        assert history(original) == [("integration", f"Cloned as mailing #{copy.pk} (API).")]

    def test_it_needs_the_add_permission(self, token_with):
        original = MailingFactory()
        client = token_with("view_mailing", "change_mailing")
        assert client.post(f"/mailings/{original.pk}/clone/").status_code == 403
        assert Mailing.objects.count() == 1

    def test_a_missing_mailing_is_a_404(self, api):
        assert api.post("/mailings/999999/clone/").status_code == 404

    def test_an_over_long_old_text_is_a_400_naming_the_field(self, api):
        original = MailingFactory()
        Mailing.objects.filter(pk=original.pk).update(message_text="x" * 1600)  # saved before the limit
        response = api.post(f"/mailings/{original.pk}/clone/")
        assert response.status_code == 400
        assert "message_text" in response.json()
        assert Mailing.objects.count() == 1

    def test_the_schema_documents_it(self, tmp_path):
        path = tmp_path / "schema.yaml"
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
        operation = yaml.safe_load(path.read_text())["paths"]["/mailings/{id}/clone/"]["post"]
        assert "201" in operation["responses"]
        assert "paused" in operation["description"]
