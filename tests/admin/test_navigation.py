"""Finding one's way: the mailing pages lead the index and the sidebar, the Sending schedule page,
the banner while sending is switched off, refusals in the domain's words, the favicon."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from mailings.models import Mailing, Message
from mailings.sending.processor import mailings_process
from mailings.sending.ticks import LAST_TICK_KEY
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
SCHEDULE = "/admin/sending-schedule/"
MAILINGS = "/admin/mailings/mailing/"


@pytest.fixture
def task() -> PeriodicTask:
    return PeriodicTask.objects.get(task="mailings.tasks.process_active_mailings")


def _apps(response) -> list[str]:
    return [app["app_label"] for app in response.context["app_list"]]


def _pages(response, app_label: str = "mailings") -> list[str]:
    app = next(app for app in response.context["app_list"] if app["app_label"] == app_label)
    return [model["name"] for model in app["models"]]


class TestIndexOrder:
    MAILING_PAGES = [
        "Mailings",
        "Mailing statistics",
        "Messages",
        "Clients",
        "Do-not-contact list",
        "Routes and providers",
        "Sending schedule",
    ]

    def test_it_leads_with_the_mailing_pages(self, admin_client):
        response = admin_client.get("/admin/")
        assert _apps(response) == ["mailings", "authtoken", "auth", "axes", "django_celery_beat"]
        assert _pages(response) == self.MAILING_PAGES

    def test_the_sidebar_follows_the_same_order(self, admin_client):
        response = admin_client.get(MAILINGS)
        assert response.context["available_apps"][0]["app_label"] == "mailings"
        page = response.content.decode()
        sidebar = page[page.index('id="nav-sidebar"') :]
        positions = [sidebar.index(f">{name}</a>") for name in self.MAILING_PAGES]
        assert positions == sorted(positions)

    def test_the_mailings_app_page_lists_the_schedule_too(self, operator):
        assert _pages(operator.get("/admin/mailings/")) == self.MAILING_PAGES

    def test_operators_get_the_schedule_page_not_the_stock_tasks(self, operator):
        response = operator.get("/admin/")
        assert "django_celery_beat" not in _apps(response)
        assert _pages(response)[-1] == "Sending schedule"
        assert f'href="{SCHEDULE}"' in response.content.decode()


class TestSendingSchedule:
    def test_an_operator_sees_the_interval_and_the_switch(self, operator, task):
        response = operator.get(SCHEDULE)
        assert response.status_code == 200
        form = response.context["form"]
        assert (form["every_seconds"].value(), form["enabled"].value()) == (10, True)
        assert "Sending is on:" in response.content.decode()
        page = response.content.decode()
        assert f"/admin/django_celery_beat/periodictask/{task.pk}/" not in page  # the task's own form: superusers
        assert '<a href="/admin/django_celery_beat/periodictask/">Other periodic tasks</a>' in page

    def test_an_operator_changes_the_interval_and_switches_it_off(self, operator, task):
        response = operator.post(SCHEDULE, {"every_seconds": "30"}, follow=True)  # "enabled" unticked
        task.refresh_from_db()
        assert (task.enabled, task.interval.every, task.interval.period) == (False, 30, "seconds")
        assert "Sending off, the tick every 30 seconds." in response.content.decode()
        entry = LogEntry.objects.get(object_id=str(task.pk))
        assert (entry.user.username, entry.change_message) == ("operators", "Sending off, the tick every 30 seconds.")

    def test_it_replaces_another_schedule_kind_with_the_interval(self, operator, task):
        PeriodicTask.objects.filter(pk=task.pk).update(interval=None, crontab=CrontabSchedule.objects.create())
        operator.post(SCHEDULE, {"every_seconds": "5", "enabled": "on"})
        task.refresh_from_db()
        assert (task.enabled, task.interval.every, task.crontab) == (True, 5, None)

    @pytest.mark.parametrize(
        ("value", "said"),
        [
            ("0", "Ensure this value is greater than or equal to 1."),
            ("3601", "Ensure this value is less than or equal to 3600."),
            ("ten", "Enter a whole number."),
        ],
    )
    def test_a_bad_interval_is_refused_naming_the_field(self, operator, task, value, said):
        response = operator.post(SCHEDULE, {"every_seconds": value, "enabled": "on"})
        assert response.status_code == 200
        assert response.context["form"].errors == {"every_seconds": [said]}
        task.refresh_from_db()
        assert task.interval.every == 10

    def test_a_viewer_reads_it_and_changes_nothing(self, viewer, task):
        page = viewer.get(SCHEDULE)
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert viewer.post(SCHEDULE, {"every_seconds": "30"}).status_code == 403
        task.refresh_from_db()
        assert (task.enabled, task.interval.every) == (True, 10)

    def test_a_superuser_is_linked_to_the_stock_page(self, admin_client, task):
        stock = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
        assert stock in admin_client.get(SCHEDULE).content.decode()

    def test_it_says_when_the_task_is_missing(self, operator, task):
        task.delete()
        assert 'id="schedule-missing"' in operator.get(SCHEDULE).content.decode()
        assert operator.post(SCHEDULE, {"every_seconds": "30"}, follow=True).status_code == 200

    def test_it_needs_a_staff_login(self, client):
        assert client.get(SCHEDULE).status_code == 302


class TestLastTick:
    def test_it_says_no_tick_ran_yet(self, operator, task):
        cache.delete(LAST_TICK_KEY)
        assert "No tick has run" in operator.get(SCHEDULE).content.decode()

    def test_it_shows_what_the_last_tick_did(self, operator, task):
        mailing = MailingFactory(start_datetime=timezone.now() - timedelta(minutes=1))
        ClientFactory.create_batch(3)
        mailings_process()  # starts the mailing: three messages made
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.RUNNING
        page = operator.get(SCHEDULE)
        tick = page.context["last_tick"]
        assert tick["summary"]["started"] == 1
        assert abs((timezone.now() - tick["at"]).total_seconds()) < 30
        assert "1 mailing started; 3 messages queued to send" in page.content.decode()

    def test_it_warns_when_no_tick_ran_for_three_intervals(self, operator, task):
        cache.delete(LAST_TICK_KEY)
        assert 'id="tick-late"' in operator.get(SCHEDULE).content.decode()
        mailings_process(now=timezone.now() - timedelta(seconds=61))
        assert 'id="tick-late"' in operator.get(SCHEDULE).content.decode()
        mailings_process()
        assert 'id="tick-late"' not in operator.get(SCHEDULE).content.decode()
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
        cache.delete(LAST_TICK_KEY)
        assert 'id="tick-late"' not in operator.get(SCHEDULE).content.decode()  # off: no tick is expected

    def test_a_tick_that_did_nothing_says_so(self, operator, task):
        mailings_process()
        assert "nothing: no mailing was due and no message waited" in operator.get(SCHEDULE).content.decode()


class TestSendingOffBanner:
    def test_no_banner_while_sending_is_on(self, operator, task):
        assert 'id="sending-off"' not in operator.get("/admin/").content.decode()

    @pytest.mark.parametrize("path", ["/admin/", MAILINGS, "/admin/mailings/client/", SCHEDULE])
    def test_every_page_says_sending_is_off(self, operator, task, path):
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
        page = operator.get(path).content.decode()
        assert "Sending is switched off: mailings do not send." in page
        assert f'Switch it on in <a href="{SCHEDULE}">Sending schedule</a>' in page

    def test_a_viewer_is_told_who_switches_it_on(self, viewer, task):
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
        page = viewer.get(MAILINGS).content.decode()
        assert f'An operator switches it on in <a href="{SCHEDULE}">Sending schedule</a>' in page

    def test_it_says_the_task_is_missing(self, operator, task):
        task.delete()
        assert "The periodic task that sends mailings is missing" in operator.get(MAILINGS).content.decode()

    def test_it_costs_one_small_query(self, operator, task, django_assert_max_num_queries):
        operator.get("/admin/")  # the session and the user, once
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
        with_banner = _queries(operator, "/admin/")
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
        without = _queries(operator, "/admin/")
        assert len(with_banner) == len(without)
        assert sum("django_celery_beat_periodictask" in sql for sql in with_banner) == 1


def _queries(client, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


class TestDeleteRefusal:
    def _with_messages(self, count: int) -> Mailing:
        mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())
        # Messages of deleted clients (client NULL): as many as wanted without a client each.
        Message.objects.bulk_create(Message(mailing=mailing, phone_number=f"7900{n:07d}") for n in range(count))
        return mailing

    def test_a_superuser_is_told_why_in_the_domains_words(self, admin_client):
        mailing = self._with_messages(1234)
        response = admin_client.get(f"{MAILINGS}{mailing.pk}/delete/", follow=True)
        page = response.content.decode()
        assert response.redirect_chain == [(f"{MAILINGS}{mailing.pk}/change/", 302)]
        assert f"Mailing #{mailing.pk} has 1,234 messages: cancel it instead." in page
        assert "permission" not in page.split('class="messagelist"')[1].split("</ul>")[0]
        assert Mailing.objects.filter(pk=mailing.pk).exists()

    def test_a_post_to_the_delete_page_deletes_nothing(self, admin_client):
        mailing = self._with_messages(2)
        admin_client.post(f"{MAILINGS}{mailing.pk}/delete/", {"post": "yes"})
        assert Mailing.objects.filter(pk=mailing.pk).exists()

    def test_the_bulk_delete_names_each_refused_mailing_and_deletes_none(self, admin_client):
        busy, empty = self._with_messages(3), MailingFactory()
        response = admin_client.post(
            MAILINGS, {"action": "delete_selected", "_selected_action": [busy.pk, empty.pk], "post": "yes"}, follow=True
        )
        assert f"Mailing #{busy.pk} has 3 messages: cancel it instead." in response.content.decode()
        assert Mailing.objects.filter(pk__in=[busy.pk, empty.pk]).count() == 2

    def test_the_bulk_delete_refuses_before_its_confirmation_page(self, admin_client):
        busy = self._with_messages(3)
        response = admin_client.post(MAILINGS, {"action": "delete_selected", "_selected_action": [busy.pk]})
        assert (response.status_code, response["Location"]) == (302, MAILINGS)  # no page listing its messages

    def test_mailings_without_messages_still_delete(self, admin_client):
        one, two = MailingFactory(), MailingFactory()
        admin_client.post(MAILINGS, {"action": "delete_selected", "_selected_action": [one.pk, two.pk], "post": "yes"})
        assert not Mailing.objects.filter(pk__in=[one.pk, two.pk]).exists()
        lone = MailingFactory()
        assert admin_client.post(f"{MAILINGS}{lone.pk}/delete/", {"post": "yes"}).status_code == 302
        assert not Mailing.objects.filter(pk=lone.pk).exists()

    def test_a_viewer_still_gets_no_delete(self, viewer):
        mailing = MessageFactory().mailing
        assert viewer.get(f"{MAILINGS}{mailing.pk}/delete/").status_code == 403


class TestForbiddenPage:
    def test_staff_get_the_admin_look_and_the_reason(self, viewer):
        response = viewer.get("/admin/mailings/client/import/")
        page = response.content.decode()
        assert response.status_code == 403
        assert 'id="refusal-reason"' in page
        assert 'id="nav-sidebar"' in page
        assert "/static/admin/css/base.css" in page
        assert "Not allowed | Mailing back-office" in page

    def test_the_schedules_refusal_says_which_permission(self, django_user_model, client):
        user = django_user_model.objects.create_user(username="bare", password="pw-123456", is_staff=True)
        client.force_login(user)
        response = client.get(SCHEDULE)
        assert response.status_code == 403
        assert "needs the permission to view periodic tasks" in response.content.decode()

    def test_the_api_keeps_its_json(self, noperm_api):
        response = noperm_api.get("/clients/")
        assert (response.status_code, response["Content-Type"]) == (403, "application/json")


class TestFavicon:
    def test_pages_link_it_and_favicon_ico_leads_to_it(self, admin_client):
        page = admin_client.get("/admin/").content.decode()
        assert '<link rel="icon" href="/static/mailings/favicon.svg" type="image/svg+xml">' in page
        redirect = admin_client.get("/favicon.ico")
        assert (redirect.status_code, redirect["Location"]) == (302, "/static/mailings/favicon.svg")
