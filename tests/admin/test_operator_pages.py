"""Operator pages: mailing actions, the read-only delivery log, and the Operators/Viewers groups."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from mailings.models import Client, Mailing, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
MAILINGS = "/admin/mailings/mailing/"
MESSAGES = "/admin/mailings/message/"


def _running() -> Mailing:
    return MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())


class TestGroups:
    def test_the_migration_creates_both_roles(self):
        operators = set(Group.objects.get(name="Operators").permissions.values_list("codename", flat=True))
        viewers = set(Group.objects.get(name="Viewers").permissions.values_list("codename", flat=True))
        assert {"change_mailing", "add_client", "view_message", "change_periodictask", "export_client"} <= operators
        assert "change_message" not in operators
        assert viewers == {
            "view_client", "view_mailing", "view_message", "view_periodictask", "view_intervalschedule",
            "view_mailingstatistics", "view_suppression", "view_route",
        }  # fmt: skip
        assert {"view_route", "add_route", "change_route", "delete_route"} <= operators
        assert "view_mailingstatistics" in operators


class TestMailingActions:
    def test_an_operator_pauses_and_is_told(self, operator):
        mailing = _running()
        response = operator.post(MAILINGS, {"action": "pause", "_selected_action": [mailing.pk]}, follow=True)
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.PAUSED
        assert "Paused 1 mailing(s)." in response.content.decode()

    def test_a_refused_action_says_why(self, operator):
        mailing = MailingFactory(status=Mailing.Status.FINISHED)
        confirmed = {"action": "cancel", "_selected_action": [mailing.pk], "post": "yes"}
        response = operator.post(MAILINGS, confirmed, follow=True)
        assert f"Mailing {mailing.pk} is finished already." in response.content.decode()
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.FINISHED

    def test_cancel_drops_what_waits(self, admin_client):
        mailing = _running()
        waiting = MessageFactory(mailing=mailing)
        admin_client.post(MAILINGS, {"action": "cancel", "_selected_action": [mailing.pk], "post": "yes"})  # confirmed
        assert Message.objects.get(pk=waiting.pk).status == Message.Status.CANCELLED

    def test_the_list_links_each_mailing_to_its_messages(self, admin_client):
        mailing = _running()
        content = admin_client.get(MAILINGS).content.decode()
        assert f"{MESSAGES}?mailing__id__exact={mailing.pk}" in content

    def test_a_viewer_sees_no_action_and_cannot_change(self, viewer):
        mailing = _running()
        page = viewer.get(MAILINGS)
        assert page.status_code == 200
        assert 'name="action"' not in page.content.decode()
        assert viewer.post(MAILINGS, {"action": "pause", "_selected_action": [mailing.pk]}).status_code in (200, 403)
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.RUNNING
        assert viewer.get(f"{MAILINGS}add/").status_code == 403
        change = viewer.post(f"{MAILINGS}{mailing.pk}/change/", {"message_text": "hacked"})
        assert change.status_code == 403
        assert Mailing.objects.get(pk=mailing.pk).message_text != "hacked"

    def test_a_mailing_with_messages_is_not_deleted(self, admin_client):
        mailing = _running()
        MessageFactory(mailing=mailing, status=Message.Status.SENT)
        refused = admin_client.get(f"{MAILINGS}{mailing.pk}/delete/", follow=True)
        assert f"Mailing #{mailing.pk} has 1 message: cancel it instead." in refused.content.decode()
        assert Mailing.objects.filter(pk=mailing.pk).exists()

    def test_a_started_mailing_keeps_its_start(self, admin_client):
        mailing = _running()
        content = admin_client.get(f"{MAILINGS}{mailing.pk}/change/").content.decode()
        assert 'name="start_datetime_0"' not in content
        assert 'name="end_datetime_0"' in content


class TestDeliveryLog:
    def test_it_lists_and_filters_by_mailing(self, admin_client):
        mine = MessageFactory(client=ClientFactory(phone_number="79990000001"))
        other = MessageFactory(client=ClientFactory(phone_number="79990000002"))
        content = admin_client.get(f"{MESSAGES}?mailing__id__exact={mine.mailing_id}").content.decode()
        assert "79990000001" in content
        assert "79990000002" not in content
        assert other.pk

    def test_it_searches_by_phone_prefix(self, admin_client):
        MessageFactory(client=ClientFactory(phone_number="79990000001"))
        assert "79990000001" in admin_client.get(f"{MESSAGES}?q=7999").content.decode()

    def test_it_cannot_be_written(self, admin_client):
        message = MessageFactory()
        assert admin_client.get(f"{MESSAGES}add/").status_code == 403
        assert admin_client.post(f"{MESSAGES}{message.pk}/change/", {"status": "sent"}).status_code == 403
        assert admin_client.get(f"{MESSAGES}{message.pk}/delete/").status_code == 403
        assert Message.objects.get(pk=message.pk).status == Message.Status.PENDING


class TestClientDeletion:
    def test_deleting_in_the_admin_keeps_the_history(self, admin_client):
        message = MessageFactory(status=Message.Status.SENT)
        client_pk = message.client_id
        admin_client.post(f"/admin/mailings/client/{client_pk}/delete/", {"post": "yes"})
        assert not Client.objects.filter(pk=client_pk).exists()
        message.refresh_from_db()
        assert (message.status, message.client_id) == (Message.Status.SENT, None)


class TestAudiencePreview:
    URL = "/admin/mailings/mailing/audience-preview/"

    def test_it_counts_the_clients_a_filter_matches_now(self, admin_client):
        for code, tag in [("913", "vip"), ("913", "new"), ("926", "vip")]:
            ClientFactory(operator_code=code, tag=tag)
        assert admin_client.get(self.URL).json() == {"count": 3}
        assert admin_client.get(self.URL, {"filter_operator_code": "913"}).json() == {"count": 2}
        assert admin_client.get(self.URL, {"filter_operator_code": "913", "filter_tag": "vip"}).json() == {"count": 1}

    def test_it_says_what_is_wrong_with_the_code(self, admin_client):
        response = admin_client.get(self.URL, {"filter_operator_code": "91"})
        assert response.status_code == 400
        assert "3 digits" in response.json()["error"]

    def test_the_change_form_asks_for_it(self, admin_client):
        content = admin_client.get(f"{MAILINGS}add/").content.decode()
        assert 'id="audience-preview"' in content
        assert self.URL in content

    def test_it_needs_a_staff_login(self, client):
        assert client.get(self.URL).status_code == 302


class TestPeriodicTaskNote:
    def test_the_mailing_list_links_the_task_that_sends(self, admin_client):
        from django_celery_beat.models import PeriodicTask

        task = PeriodicTask.objects.get(name="Process active mailings")
        content = admin_client.get(MAILINGS).content.decode()
        assert f'<a href="/admin/sending-schedule/">{task.name}</a>' in content
        assert "every 10 seconds" in content

    def test_it_warns_when_the_task_is_disabled(self, admin_client):
        from django_celery_beat.models import PeriodicTask

        PeriodicTask.objects.filter(name="Process active mailings").update(enabled=False)
        assert "but is disabled: nothing is sent" in admin_client.get(MAILINGS).content.decode()


class TestMailingProgress:
    def test_each_row_shows_its_counts_and_progress(self, admin_client):
        mailing = _running()
        for status in [Message.Status.SENT] * 3 + [Message.Status.FAILED, Message.Status.PENDING]:
            MessageFactory(mailing=mailing, status=status)
        content = admin_client.get(MAILINGS).content.decode()
        assert 'title="3 sent, 1 failed of 5"' in content
        assert '<rect class="sent" width="60.0" height="1"></rect><rect class="failed" x="60.0" width="20.0"' in content
        assert "1 failed · 1 waiting · 0 expired · 0 cancelled" in content

    def test_a_mailing_without_messages_shows_an_empty_bar(self, admin_client):
        MailingFactory()
        assert 'title="0 sent, 0 failed of 0"' in admin_client.get(MAILINGS).content.decode()


class TestMailingAudience:
    def test_a_mailing_not_started_says_how_many_clients_it_would_reach_now(self, admin_client):
        vip, new = f"vip{uuid.uuid4().hex[:8]}", f"new{uuid.uuid4().hex[:8]}"  # counts are cached a minute
        ClientFactory.create_batch(2, operator_code="913", tag=vip)
        ClientFactory(operator_code="913", tag=new)
        ClientFactory(operator_code="926", tag=vip)
        MailingFactory(filter_operator_code="913", filter_tag=vip)
        MailingFactory(filter_tag=vip, status=Mailing.Status.PAUSED)
        started = MailingFactory(filter_tag=new, status=Mailing.Status.RUNNING, started_at=timezone.now())
        MessageFactory(mailing=started)
        first, paused = Mailing.objects.exclude(pk=started.pk).order_by("pk")
        content = admin_client.get(MAILINGS).content.decode()
        assert f'code 913, tag {vip}<div class="audience-now" data-mailing="{first.pk}">2 clients now</div>' in content
        assert f'tag {vip}<div class="audience-now" data-mailing="{paused.pk}">3 clients now</div>' in content
        # A started mailing has its messages: the progress says how many, not a count of clients.
        assert f'tag {new}<div class="audience-now" data-mailing="{started.pk}"></div>' in content
        # The live refresh clears the line once the mailing has started.
        rows = admin_client.get(f"{MAILINGS}live-counts/", {"id": [first.pk, started.pk]}).json()
        assert ">2 clients now<" in rows[str(first.pk)]["audience"]
        assert "></div>" in rows[str(started.pk)]["audience"]


class TestStatisticsPage:
    URL = "/admin/mailings/mailingstatistics/"

    def test_it_shows_each_mailing_and_the_totals_of_the_filtered_ones(self, viewer):
        running, finished = _running(), MailingFactory(status=Mailing.Status.FINISHED)
        for mailing, statuses in [
            (running, [Message.Status.SENT, Message.Status.SENT, Message.Status.PENDING]),
            (finished, [Message.Status.SENT, Message.Status.FAILED, Message.Status.EXPIRED, Message.Status.FAILED]),
        ]:
            for status in statuses:
                MessageFactory(mailing=mailing, status=status)
        page = viewer.get(self.URL)
        assert page.status_code == 200
        totals = page.context["totals"]
        # 3 sent of 6 ended (sent, failed, expired); the pending one is waiting, not a failure.
        assert (totals["mailings"], totals["messages"], totals["success_rate"]) == (2, 7, "50.0%")
        assert totals["by_status"]["failed"] == 2
        assert totals["outcomes"] == {"sent": 3, "failed": 2, "waiting": 1, "expired": 1, "cancelled": 0}
        assert 'title="2 sent, 0 failed of 3"' in page.content.decode()
        filtered = viewer.get(self.URL, {"status__exact": "finished"}).context["totals"]
        assert (filtered["mailings"], filtered["messages"], filtered["by_status"]["sent"]) == (1, 4, 1)
        assert filtered["success_rate"] == "25.0%"  # 1 sent of 4 ended

    def test_it_is_read_only(self, admin_client):
        mailing = _running()
        assert admin_client.get(f"{self.URL}add/").status_code == 403
        assert admin_client.post(f"{self.URL}{mailing.pk}/delete/", {"post": "yes"}).status_code == 403
        assert 'name="action"' not in admin_client.get(self.URL).content.decode()

    def test_a_user_without_the_permission_is_refused(self, django_user_model, client):
        user = django_user_model.objects.create_user(username="staff", password="pw-123456", is_staff=True)
        client.force_login(user)
        assert client.get(self.URL).status_code == 403


class TestDailyChart:
    def test_the_statistics_page_draws_sent_and_failed_per_day(self, admin_client):
        mailing = _running()
        for status in [Message.Status.SENT, Message.Status.SENT, Message.Status.FAILED]:
            MessageFactory(mailing=mailing, status=status)
        page = admin_client.get("/admin/mailings/mailingstatistics/")
        content = page.content.decode()
        assert 'id="daily-chart"' in content
        assert "<svg" in content
        assert "http" not in content.split('id="daily-chart"')[1].split("</figure>")[0]  # no CDN, no script
        today = timezone.now().date()
        assert f"{today:%Y-%m-%d}: 2 sent" in content
        assert f"{today:%Y-%m-%d}: 1 failed" in content
        assert page.context["daily_totals"] == (2, 1)


class TestClientList:
    URL = "/admin/mailings/client/"

    def test_it_filters_by_tag_and_searches_phones_by_prefix(self, admin_client):
        ClientFactory(phone_number="79130000001", tag="vip")
        ClientFactory(phone_number="79260000002", tag="new")
        by_tag = admin_client.get(self.URL, {"tag": "vip"}).content.decode()
        assert "79130000001" in by_tag
        assert "79260000002" not in by_tag
        by_prefix = admin_client.get(self.URL, {"q": "7926"}).content.decode()
        assert "79260000002" in by_prefix
        assert "79130000001" not in by_prefix

    def test_a_long_filter_says_it_shows_the_first_values_and_keeps_the_chosen_one(self, admin_client, monkeypatch):
        from mailings.admin import filters

        monkeypatch.setattr(filters, "MAX_CHOICES", 3)
        for n, tag in enumerate(["a", "b", "c", "d", "e"]):
            ClientFactory(phone_number=f"7913000000{n}", tag=tag)

        def tag_filter(response):
            (found,) = [f for f in response.context["cl"].filter_specs if f.field_path == "tag"]
            return found

        listed = tag_filter(admin_client.get(self.URL))
        assert listed.lookup_choices == ["a", "b", "c"]
        assert listed.title == "tag (the first 3)"
        chosen = admin_client.get(self.URL, {"tag": "e"})
        assert tag_filter(chosen).lookup_choices == ["a", "b", "c", "e"]
        assert [row.tag for row in chosen.context["cl"].result_list] == ["e"]
        timezones = next(f for f in chosen.context["cl"].filter_specs if f.field_path == "timezone")
        assert "first" not in timezones.title  # one zone: all shown, nothing to say

    def test_it_never_counts_the_whole_table(self, admin_client):
        ClientFactory.create_batch(3)
        assert admin_client.get(self.URL, {"q": "7900"}).context["cl"].show_full_result_count is False

    @pytest.mark.parametrize("url", ["/admin/mailings/client/", "/admin/mailings/message/"])
    def test_big_lists_offer_no_facet_counts(self, admin_client, url):
        # Django's "Show counts" counts every row per filter value, and its links keep asking after.
        page = admin_client.get(url, {"_facets": "True"})
        assert page.status_code == 200
        assert page.context["cl"].add_facets is False
        assert "Show counts" not in page.content.decode()
        assert "Show counts" in admin_client.get(MAILINGS).content.decode()  # a few mailings: counted


class TestLiveCounts:
    def test_the_list_refreshes_its_rows_from_the_counts(self, viewer):
        mailing = _running()
        MessageFactory.create_batch(3, mailing=mailing, status=Message.Status.SENT)
        MessageFactory(mailing=mailing, status=Message.Status.FAILED)
        other = MailingFactory()
        rows = viewer.get(f"{MAILINGS}live-counts/", {"id": [mailing.pk, "x", other.pk + 1000]}).json()
        assert set(rows) == {str(mailing.pk)}
        assert "3 / 4" in rows[str(mailing.pk)]["progress"]
        assert ">1 failed · 0 waiting · 0 expired · 0 cancelled<" in rows[str(mailing.pk)]["counts"]
        assert ">Running<" in rows[str(mailing.pk)]["status"]
        page = viewer.get(MAILINGS).content.decode()
        assert 'id="live-counts"' in page
        assert f'data-mailing="{mailing.pk}"' in page

    def test_the_page_loads_the_refresh_with_the_interval_from_the_settings(self, viewer, settings):
        settings.ADMIN_LIVE_COUNTS_SECONDS = 0.3
        page = viewer.get(MAILINGS).content.decode()
        assert 'data-every="0.3"' in page
        assert '<script src="/static/mailings/admin/live_counts.js" defer>' in page

    def test_odd_ids_are_ignored_not_a_crash(self, viewer):
        response = viewer.get(f"{MAILINGS}live-counts/", {"id": ["²", "1" * 40, "-1"]})
        assert response.status_code == 200
        assert response.json() == {}

    def test_staff_without_the_view_permission_is_refused(self, django_user_model, client):
        user = django_user_model.objects.create_user(username="staff", password="pw-123456", is_staff=True)
        client.force_login(user)
        assert client.get(f"{MAILINGS}live-counts/", {"id": [1]}).status_code == 403


class TestBigLists:
    def test_an_unfiltered_list_takes_the_planners_estimate_not_a_count(self, admin_client, monkeypatch):
        from django.db import connection

        from mailings import paginators

        if connection.vendor != "postgresql":
            pytest.skip("the row estimate is PostgreSQL's")
        monkeypatch.setattr(paginators.EstimatedCountPaginator, "exact_below", 1)
        ClientFactory.create_batch(30)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE mailings_client")
        Client.objects.filter(pk__in=Client.objects.values("pk")[:10]).delete()  # the estimate still says 30
        assert admin_client.get("/admin/mailings/client/").context["cl"].result_count == 30
        filtered = admin_client.get("/admin/mailings/client/", {"q": "7"}).context["cl"]
        assert filtered.result_count >= 20  # counted up to exact_below, then the planner's estimate

    def test_a_filtered_list_is_counted_exactly_below_the_threshold(self, admin_client, monkeypatch):
        from mailings import paginators

        monkeypatch.setattr(paginators.EstimatedCountPaginator, "exact_below", 5)
        ClientFactory.create_batch(3, tag="few")
        ClientFactory.create_batch(2, tag="other")
        assert admin_client.get("/admin/mailings/client/", {"tag": "few"}).context["cl"].result_count == 3

    def test_small_or_unanalysed_tables_are_counted(self, admin_client):
        ClientFactory.create_batch(3)
        assert admin_client.get("/admin/mailings/client/").context["cl"].result_count == 3


class TestClientSearchAndFilters:
    def test_digits_search_a_phone_prefix_and_words_an_exact_tag(self, admin_client):
        ClientFactory(phone_number="79131234567", tag="vip")
        ClientFactory(phone_number="79001234567", tag="vip2")
        ClientFactory(phone_number="79139999999", tag="913")
        ClientFactory(phone_number="79200000000", tag="555")

        def found(term):
            cl = admin_client.get("/admin/mailings/client/", {"q": term}).context["cl"]
            return sorted(c.phone_number for c in cl.result_list)

        assert found("+7 (913)") == ["79131234567", "79139999999"]
        assert found("7900") == ["79001234567"]
        assert found("vip") == ["79131234567"]
        assert found("913") == ["79131234567", "79139999999"]  # 913 after the country code
        assert found("8 913") == ["79131234567", "79139999999"]  # with the trunk prefix
        assert found("555") == ["79200000000"]  # no phone starts 7555: the tag of digits
        assert found("nobody") == []

    def test_the_filters_list_each_value_once(self, admin_client):
        ClientFactory(operator_code="913", tag="b", timezone="UTC")
        ClientFactory(operator_code="913", tag="a", timezone="Europe/Moscow")
        ClientFactory(operator_code="900", tag="a", timezone="UTC")
        filters = {f.title: f for f in admin_client.get("/admin/mailings/client/").context["cl"].filter_specs}
        assert list(filters["operator code"].lookup_choices) == ["900", "913"]
        assert list(filters["tag"].lookup_choices) == ["a", "b"]
        assert list(filters["timezone"].lookup_choices) == ["Europe/Moscow", "UTC"]


class TestMessageListCounts:
    def test_a_status_or_mailing_filter_takes_its_size_from_the_counts(self, admin_client, monkeypatch):
        from mailings import selectors

        mailing = _running()
        MessageFactory.create_batch(2, mailing=mailing, status=Message.Status.FAILED)
        calls = []
        real = selectors.message_total

        def counted(**kwargs):
            calls.append(kwargs)
            return real(**kwargs)

        monkeypatch.setattr(selectors, "message_total", counted)
        cl = admin_client.get(MESSAGES, {"status__exact": "failed", "mailing__id__exact": mailing.pk}).context["cl"]
        assert cl.result_count == 2
        assert calls == [{"mailing_id": mailing.pk, "status": "failed"}]
        admin_client.get(MESSAGES, {"status__exact": "failed", "q": "7"})
        assert len(calls) == 1  # a search is not what the counts know
        MessageFactory(mailing=mailing, status=Message.Status.SENT)
        both = admin_client.get(f"{MESSAGES}?status__exact=sent&status__exact=failed").context["cl"]
        assert both.result_count == 3  # repeated statuses are OR-ed: the sum of their counts
        assert sorted((c["mailing_id"], c["status"]) for c in calls[1:]) == [(None, "failed"), (None, "sent")]
