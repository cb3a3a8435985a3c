"""/mailings/<id>/statistics/ and /mailings/statistics/: counts per status, zeros included."""

import re

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mailings.models import Mailing, Message
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db

MESSAGE_STATUSES = ["pending", "sending", "sent", "failed", "expired", "cancelled"]
MAILING_STATUSES = ["scheduled", "running", "paused", "finished", "cancelled"]
ZEROS = dict.fromkeys(MESSAGE_STATUSES, 0)


def _links(response) -> dict[str, str]:
    """rel -> url from an RFC 8288 Link header."""
    return {rel: url for url, rel in re.findall(r'<([^>]*)>;\s*rel="([^"]+)"', response.get("Link", ""))}


@pytest.fixture
def data():
    """Mailing A: 3 sent, 2 failed, 1 pending; B: 1 expired; C: no messages."""
    a = MailingFactory(status=Mailing.Status.RUNNING, message_text="A")
    b = MailingFactory(status=Mailing.Status.FINISHED, message_text="B")
    c = MailingFactory(status=Mailing.Status.SCHEDULED, message_text="C")
    a_messages = [
        *MessageFactory.create_batch(3, mailing=a, status=Message.Status.SENT),
        *MessageFactory.create_batch(2, mailing=a, status=Message.Status.FAILED),
        MessageFactory(mailing=a, status=Message.Status.PENDING),
    ]
    b_messages = [MessageFactory(mailing=b, status=Message.Status.EXPIRED)]
    return {"a": a, "b": b, "c": c, "a_messages": a_messages, "b_messages": b_messages}


@pytest.fixture
def mailing_viewer_api(django_user_model) -> APIClient:
    """May read mailings but not messages."""
    user = django_user_model.objects.create_user(username="mailing-viewer", password="irrelevant-pass-123")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="mailings", codename="view_mailing"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


class TestMailingStatistics:
    def test_it_counts_the_messages_of_one_mailing_by_status(self, api, data):
        a = data["a"]

        response = api.get(f"/mailings/{a.pk}/statistics/")

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {
            "mailing", "messages_total", "messages_by_status", "success_rate", "left_out_do_not_contact", "parts_sent",
            "delivery", "messages",
        }  # fmt: skip
        assert body["mailing"]["id"] == a.pk
        assert body["mailing"]["message_text"] == "A"
        assert body["mailing"]["status"] == "running"
        assert body["messages_total"] == 6
        assert body["messages_by_status"] == {**ZEROS, "sent": 3, "failed": 2, "pending": 1}
        assert body["success_rate"] == 0.6  # 3 sent of 5 ended: the pending one is not a failure
        assert [m["id"] for m in body["messages"]] == [m.pk for m in data["a_messages"]]
        assert all(m["mailing"] == a.pk for m in body["messages"])
        assert response["X-Total-Count"] == "6"

    def test_it_lists_every_status_with_zeros_for_a_mailing_without_messages(self, api, data):
        response = api.get(f"/mailings/{data['c'].pk}/statistics/")

        assert response.status_code == 200
        body = response.json()
        assert body["messages_total"] == 0
        assert body["messages_by_status"] == ZEROS
        assert list(body["messages_by_status"]) == MESSAGE_STATUSES
        assert body["success_rate"] is None  # nothing has ended
        assert body["messages"] == []
        assert response["X-Total-Count"] == "0"

    def test_it_pages_the_messages_list(self, api, data):
        a = data["a"]
        ids = [m.pk for m in data["a_messages"]]

        response = api.get(f"/mailings/{a.pk}/statistics/", {"page_size": 2})

        assert response.status_code == 200
        body = response.json()
        assert [m["id"] for m in body["messages"]] == ids[:2]
        assert body["messages_total"] == 6
        assert body["messages_by_status"] == {**ZEROS, "sent": 3, "failed": 2, "pending": 1}
        assert response["X-Total-Count"] == "6"
        links = _links(response)
        assert "next" in links
        assert "prev" not in links
        assert "page=2" in links["next"]
        assert "page=3" in links["last"]

        following = api.get(links["next"])

        assert following.status_code == 200
        assert [m["id"] for m in following.json()["messages"]] == ids[2:4]
        assert "prev" in _links(following)

    def test_it_answers_404_for_an_unknown_mailing(self, api):
        response = api.get("/mailings/999999/statistics/")

        assert response.status_code == 404
        assert "detail" in response.json()

    def test_it_needs_the_view_message_permission(self, mailing_viewer_api, data):
        assert mailing_viewer_api.get(f"/mailings/{data['a'].pk}/").status_code == 200

        response = mailing_viewer_api.get(f"/mailings/{data['a'].pk}/statistics/")

        assert response.status_code == 403
        assert "messages_total" not in response.json()

    def test_it_needs_authentication(self, anon_api, data):
        response = anon_api.get(f"/mailings/{data['a'].pk}/statistics/")

        assert response.status_code == 401
        assert "messages_total" not in response.json()


class TestDeliveryStatistics:
    """The delivery reports' outcome, from the counts the delivery triggers keep."""

    def test_it_counts_delivered_undelivered_and_no_report_per_mailing_and_overall(self, api, data):
        a = data["a"]
        sent = [m.pk for m in data["a_messages"] if m.status == Message.Status.SENT]
        Message.objects.filter(pk__in=sent[:1]).update(delivery_status="delivered")
        Message.objects.filter(pk__in=sent[1:2]).update(delivery_status="undelivered")
        Message.objects.filter(pk__in=sent[2:]).update(delivery_status="no_report")
        expected = {"delivered": 1, "undelivered": 1, "no_report": 1, "delivery_rate": 1 / 3}

        assert api.get(f"/mailings/{a.pk}/statistics/").json()["delivery"] == expected
        body = api.get("/mailings/statistics/").json()
        assert body["delivery"] == expected
        by_id = {row["id"]: row["delivery"] for row in body["mailings"]}
        assert by_id[a.pk] == expected
        assert by_id[data["b"].pk] == {"delivered": 0, "undelivered": 0, "no_report": 0, "delivery_rate": None}


class TestOverallStatistics:
    def test_it_counts_all_mailings_and_messages(self, api, data):
        response = api.get("/mailings/statistics/")

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {
            "mailings_total", "mailings_by_status", "messages_total", "messages_by_status", "success_rate", "mailings",
            "left_out_do_not_contact", "delivery",
        }  # fmt: skip
        assert body["success_rate"] == 0.5  # 3 sent of 6 ended (3 sent, 2 failed, 1 expired)
        assert body["mailings_total"] == 3
        assert body["mailings_by_status"] == {"scheduled": 1, "running": 1, "paused": 0, "finished": 1, "cancelled": 0}
        assert list(body["mailings_by_status"]) == MAILING_STATUSES
        assert body["messages_total"] == 7
        assert body["messages_by_status"] == {**ZEROS, "sent": 3, "failed": 2, "pending": 1, "expired": 1}
        assert list(body["messages_by_status"]) == MESSAGE_STATUSES
        assert response["X-Total-Count"] == "3"

    def test_it_gives_each_mailings_counts(self, api, data):
        a, b, c = data["a"], data["b"], data["c"]

        response = api.get("/mailings/statistics/")

        by_id = {row["id"]: row for row in response.json()["mailings"]}
        assert list(by_id) == [a.pk, b.pk, c.pk]
        assert (by_id[a.pk]["messages_total"], by_id[a.pk]["messages_by_status"]) == (
            6,
            {**ZEROS, "sent": 3, "failed": 2, "pending": 1},
        )
        assert (by_id[b.pk]["messages_total"], by_id[b.pk]["messages_by_status"]) == (1, {**ZEROS, "expired": 1})
        assert (by_id[c.pk]["messages_total"], by_id[c.pk]["messages_by_status"]) == (0, ZEROS)
        rates = (by_id[a.pk]["success_rate"], by_id[b.pk]["success_rate"], by_id[c.pk]["success_rate"])
        assert rates == (0.6, 0.0, None)
        assert (by_id[a.pk]["status"], by_id[b.pk]["status"], by_id[c.pk]["status"]) == (
            "running",
            "finished",
            "scheduled",
        )
        assert by_id[b.pk]["message_text"] == "B"
        assert {"start_datetime", "end_datetime"} <= set(by_id[a.pk])

    def test_it_pages_the_mailings_but_keeps_the_totals_global(self, api, data):
        response = api.get("/mailings/statistics/", {"page_size": 1, "page": 2})

        assert response.status_code == 200
        body = response.json()
        assert [row["id"] for row in body["mailings"]] == [data["b"].pk]
        assert body["mailings_total"] == 3
        assert body["messages_total"] == 7
        assert response["X-Total-Count"] == "3"
        assert {"first", "prev", "next", "last"} <= set(_links(response))

    def test_it_answers_zeros_with_no_data(self, api):
        response = api.get("/mailings/statistics/")

        assert response.status_code == 200
        body = response.json()
        assert body == {
            "mailings_total": 0,
            "mailings_by_status": dict.fromkeys(MAILING_STATUSES, 0),
            "messages_total": 0,
            "messages_by_status": ZEROS,
            "success_rate": None,
            "left_out_do_not_contact": 0,
            "delivery": {"delivered": 0, "undelivered": 0, "no_report": 0, "delivery_rate": None},
            "mailings": [],
        }

    def test_it_needs_the_view_message_permission(self, mailing_viewer_api, data):
        assert mailing_viewer_api.get("/mailings/").status_code == 200

        response = mailing_viewer_api.get("/mailings/statistics/")

        assert response.status_code == 403
        assert "mailings_total" not in response.json()

    def test_it_refuses_a_token_without_view_mailing(self, django_user_model, data):
        user = django_user_model.objects.create_user(username="message-viewer", password="irrelevant-pass-123")
        user.user_permissions.set(Permission.objects.filter(codename="view_message"))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

        response = client.get("/mailings/statistics/")

        assert response.status_code == 403


class TestSuccessRate:
    @pytest.mark.parametrize(
        ("statuses", "rate"),
        [
            (["sent", "sent", "pending", "sending"], 1.0),  # nothing failed so far: waiting is no failure
            (["pending", "cancelled"], None),  # nothing has ended
            (["sent", "failed", "expired", "cancelled", "pending"], 1 / 3),  # cancelled: withdrawn, not lost
            (["failed", "expired"], 0.0),
        ],
    )
    def test_it_is_sent_over_sent_failed_and_expired(self, api, statuses, rate):
        mailing = MailingFactory(status=Mailing.Status.RUNNING)
        for status in statuses:
            MessageFactory(mailing=mailing, status=status)

        one = api.get(f"/mailings/{mailing.pk}/statistics/").json()
        overall = api.get("/mailings/statistics/").json()

        assert one["success_rate"] == pytest.approx(rate) if rate is not None else one["success_rate"] is None
        assert overall["success_rate"] == one["success_rate"]
        assert overall["mailings"][0]["success_rate"] == one["success_rate"]
