"""Guard rails on save: a mailing that would send nothing (end past, nobody matches, a window no
client reaches before the end) is said, and the admin saves it only once the operator confirms.
Also the zones the form says, and the mailing list's order and search."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from mailings import guard_rails
from mailings.models import Mailing
from tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db
MAILINGS = "/admin/mailings/mailing/"
ADD = f"{MAILINGS}add/"

# 12:00-14:00 UTC on a January day: 07:00-09:00 in New York, 15:00-17:00 in Moscow, 21:00-23:00 in Tokyo.
START = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
NOW = START - timedelta(days=1)


def codes(**values) -> list[str]:
    fields = {"start_datetime": START, "end_datetime": END, "now": NOW, **values}
    return [warning.code for warning in guard_rails.mailing_warnings(**fields)]


class TestWarnings:
    def test_it_says_nothing_of_a_mailing_that_can_send(self):
        ClientFactory(timezone="Europe/Moscow")
        assert codes() == []
        assert codes(send_window_start=time(15, 0), send_window_end=time(16, 0)) == []

    def test_an_end_already_past_is_a_warning(self):
        ClientFactory()
        assert codes(now=END) == ["end_passed"]  # the end itself: nothing is sent at the end
        assert codes(now=END - timedelta(seconds=1)) == []

    def test_a_filter_that_matches_nobody_is_a_warning(self):
        ClientFactory(operator_code="913", tag="vip")
        assert codes() == []
        assert codes(filter_operator_code="913", filter_tag="vip") == []
        assert codes(filter_operator_code="913", filter_tag="gold") == ["audience_empty"]
        assert codes(filter_operator_code="900") == ["audience_empty"]

    def test_an_end_past_and_nobody_are_said_together(self):
        assert codes(now=END + timedelta(days=1)) == ["end_passed", "audience_empty"]

    def test_a_window_no_zone_of_the_audience_reaches_before_the_end_is_a_warning(self):
        ClientFactory(timezone="Asia/Tokyo", tag="far")
        ClientFactory(timezone="Europe/Moscow", tag="far")
        morning = {"send_window_start": time(9, 0), "send_window_end": time(10, 0)}
        assert codes(**morning) == ["window_unreachable"]
        # New York's 07:00-09:00 reaches 08:00-10:00, not 09:00-10:00 (nothing is sent at the end).
        ClientFactory(timezone="America/New_York", tag="near")
        assert codes(**morning) == ["window_unreachable"]
        assert codes(send_window_start=time(8, 0), send_window_end=time(10, 0)) == []
        # ...but not for an audience without New York's client.
        assert codes(filter_tag="far", send_window_start=time(8, 0), send_window_end=time(10, 0)) == [
            "window_unreachable"
        ]

    def test_an_overnight_window_is_read_as_the_engine_reads_it(self):
        ClientFactory(timezone="Asia/Tokyo")  # 21:00-23:00 there
        assert codes(send_window_start=time(22, 30), send_window_end=time(6, 0)) == []
        assert codes(send_window_start=time(23, 0), send_window_end=time(6, 0)) == ["window_unreachable"]

    def test_a_started_mailing_is_checked_from_now(self):
        ClientFactory(timezone="Europe/Moscow")  # 15:00-17:00 there
        afternoon = {"send_window_start": time(15, 0), "send_window_end": time(16, 0)}
        assert codes(**afternoon, now=START + timedelta(minutes=30)) == []
        assert codes(**afternoon, now=START + timedelta(hours=1)) == ["window_unreachable"]

    def test_a_long_mailing_reaches_every_zone(self):
        ClientFactory(timezone="Asia/Tokyo")
        assert codes(end_datetime=START + timedelta(days=1), send_window_start=time(9), send_window_end=time(10)) == []

    def test_the_words_say_why_and_what_to_do(self, settings):
        settings.TIME_ZONE = "Europe/Moscow"
        (end,) = guard_rails.mailing_warnings(start_datetime=START, end_datetime=END, now=END + timedelta(days=1))[:1]
        assert end.message == (
            "The end (2030-01-15 17:00, Moscow time (Europe/Moscow, UTC+03:00)) has already passed: "
            "nothing would be sent. Move the end later."
        )
        empty = guard_rails.mailing_warnings(start_datetime=START, end_datetime=END, filter_tag="vip", now=NOW)
        assert empty[0].message == "No client matches this filter (tag 'vip') now: nothing would be sent."


def mailing_form(**fields) -> dict:
    return {
        "message_text": "Hello",
        "start_datetime_0": "2030-01-15",
        "start_datetime_1": "12:00:00",
        "end_datetime_0": "2030-01-15",
        "end_datetime_1": "14:00:00",
        "send_window_start": "",
        "send_window_end": "",
        "filter_operator_code": "",
        "filter_tag": "",
        **fields,
    }


class TestAdminConfirmation:
    def test_a_mailing_that_can_send_saves_at_once(self, admin_client):
        ClientFactory()
        assert admin_client.post(ADD, mailing_form()).status_code == 302
        assert Mailing.objects.count() == 1

    def test_it_comes_back_with_the_warnings_and_saves_once_confirmed(self, admin_client):
        response = admin_client.post(ADD, mailing_form(filter_tag="nobody"))

        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="guard-warnings"' in page
        assert "No client matches this filter (tag &#x27;nobody&#x27;) now" in page
        assert 'name="confirm_warnings"' in page
        assert "Save anyway" in page
        assert 'name="warnings_shown" value="audience_empty"' in page
        assert not Mailing.objects.exists()

        saved = admin_client.post(
            ADD, mailing_form(filter_tag="nobody", confirm_warnings="on", warnings_shown="audience_empty")
        )
        assert saved.status_code == 302
        assert Mailing.objects.get().filter_tag == "nobody"
        said = [str(message) for message in admin_client.get(saved.url).context["messages"]]
        assert "Saved anyway: No client matches this filter (tag 'nobody') now: nothing would be sent." in said

    def test_a_tick_confirms_only_the_warnings_shown(self, admin_client):
        ClientFactory(tag="vip", timezone="Asia/Tokyo")
        data = mailing_form(filter_tag="vip", confirm_warnings="on", warnings_shown="audience_empty")
        # Changed after the answer: its window now reaches nobody, a warning not confirmed yet.
        response = admin_client.post(ADD, {**data, "send_window_start": "09:00", "send_window_end": "10:00"})

        assert response.status_code == 200
        assert 'name="warnings_shown" value="window_unreachable"' in response.content.decode()
        assert not Mailing.objects.exists()

    def test_a_tick_without_warnings_shown_saves_nothing(self, admin_client):
        response = admin_client.post(
            ADD, mailing_form(end_datetime_0="2020-01-15", start_datetime_0="2020-01-15", confirm_warnings="on")
        )
        assert response.status_code == 200
        assert "has already passed" in response.content.decode()
        assert not Mailing.objects.exists()

    def test_no_warning_is_asked_of_a_form_with_errors(self, admin_client):
        response = admin_client.post(ADD, mailing_form(message_text=""))
        assert response.status_code == 200
        assert 'id="guard-warnings"' not in response.content.decode()

    def test_a_change_is_checked_too(self, admin_client):
        ClientFactory(tag="vip")
        mailing = MailingFactory(filter_tag="vip", start_datetime=START, end_datetime=END)
        url = f"{MAILINGS}{mailing.pk}/change/"

        assert admin_client.post(url, mailing_form(filter_tag="gone")).status_code == 200
        mailing.refresh_from_db()
        assert mailing.filter_tag == "vip"
        confirmed = mailing_form(filter_tag="gone", confirm_warnings="on", warnings_shown="audience_empty")
        assert admin_client.post(url, confirmed).status_code == 302
        mailing.refresh_from_db()
        assert mailing.filter_tag == "gone"


class TestZonesSaid:
    def test_start_and_end_say_the_zone_and_the_window_the_clients_clock(self, admin_client, settings):
        settings.TIME_ZONE = "Europe/Moscow"
        page = admin_client.get(ADD).content.decode()

        assert page.count("Moscow time (Europe/Moscow, UTC+03:00)") == 2
        assert page.count("Client's local time:") == 2

    def test_the_window_fields_are_plain_time_boxes_without_the_server_time_note(self, admin_client):
        page = admin_client.get(ADD).content.decode()
        for name in ("send_window_start", "send_window_end"):
            tag = page.split(f'name="{name}"')[0].rsplit("<input", 1)[1] + page.split(f'name="{name}"')[1].split(">")[0]
            assert 'type="time"' in tag
            assert "vTimeField" not in tag  # DateTimeShortcuts.js adds its clock and server-time note to those

    def test_a_zone_ahead_of_utc_in_winter_and_summer(self):
        from mailings.formatting import zone_said

        assert (
            zone_said("Europe/Berlin", at=datetime(2030, 1, 1, tzinfo=UTC)) == "Berlin time (Europe/Berlin, UTC+01:00)"
        )
        assert (
            zone_said("Europe/Berlin", at=datetime(2030, 7, 1, tzinfo=UTC)) == "Berlin time (Europe/Berlin, UTC+02:00)"
        )
        assert zone_said("America/St_Johns", at=datetime(2030, 1, 1, tzinfo=UTC)) == (
            "St Johns time (America/St_Johns, UTC-03:30)"
        )
        assert zone_said("UTC", at=datetime(2030, 1, 1, tzinfo=UTC)) == "UTC time"


class TestMailingList:
    def test_it_lists_the_newest_first(self, admin_client):
        older, newer = MailingFactory(message_text="older one"), MailingFactory(message_text="newer one")
        rows = admin_client.get(MAILINGS).context["cl"].result_list
        assert [mailing.pk for mailing in rows] == [newer.pk, older.pk]
        stats = admin_client.get("/admin/mailings/mailingstatistics/").context["cl"].result_list
        assert [mailing.pk for mailing in stats] == [newer.pk, older.pk]

    @pytest.mark.parametrize(
        ("term", "found"),
        [
            ("spring", ["sale"]),
            ("vip", ["sale"]),
            ("913", ["sale"]),
            ("91", []),  # an operator code is matched whole
            ("news", ["news"]),
        ],
    )
    def test_it_searches_text_tag_and_operator_code(self, admin_client, term, found):
        sale = MailingFactory(message_text="Spring sale", filter_tag="vip", filter_operator_code="913")
        news = MailingFactory(message_text="Weekly news", filter_tag="", filter_operator_code="")
        # An all-digit term is also an id, and PostgreSQL's ids run on from earlier tests.
        by_id = [mailing.message_text.split()[-1] for mailing in (sale, news) if str(mailing.pk) == term]
        rows = admin_client.get(MAILINGS, {"q": term}).context["cl"].result_list
        assert sorted(mailing.message_text.split()[-1] for mailing in rows) == sorted({*found, *by_id})

    def test_an_id_finds_its_mailing(self, admin_client):
        mailings = [MailingFactory(message_text=f"Text {letter}") for letter in "abc"]
        for term in (str(mailings[1].pk), f"#{mailings[1].pk}", f" {mailings[1].pk} "):
            rows = admin_client.get(MAILINGS, {"q": term}).context["cl"].result_list
            assert [mailing.pk for mailing in rows] == [mailings[1].pk], term
        assert list(admin_client.get(MAILINGS, {"q": "9" * 30}).context["cl"].result_list) == []

    def test_a_text_with_digits_is_still_found_by_its_text(self, admin_client):
        mailing = MailingFactory(message_text="Code 2030 inside")
        other = MailingFactory(message_text="Other")
        rows = admin_client.get(MAILINGS, {"q": "2030"}).context["cl"].result_list
        assert [row.pk for row in rows] == [other.pk] * (other.pk == 2030) + [mailing.pk]  # newest first


def test_the_audience_count_box_is_on_the_form(admin_client):
    assert 'id="audience-preview"' in admin_client.get(ADD).content.decode()


def test_timezone_now_is_what_the_checks_read_by_default():
    ClientFactory()
    past = timezone.now() - timedelta(hours=1)
    assert [
        w.code for w in guard_rails.mailing_warnings(start_datetime=past - timedelta(hours=1), end_datetime=past)
    ] == ["end_passed"]


def test_the_zone_probe_walks_the_zone_index_in_its_order():
    """With a bare LIMIT 1, PostgreSQL reads all clients when none matches (bench/guard_rails.py):
    the probe asks in the (timezone, operator_code, tag) index's order, of its columns only."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mailings import selectors

    ClientFactory(timezone="Asia/Tokyo", tag="vip", operator_code="913")
    with CaptureQueriesContext(connection) as queries:
        assert selectors.client_audience_in_zones(tag="vip", zones=["Asia/Tokyo"]) is True
        assert selectors.client_audience_in_zones(tag="vip", zones=["UTC"]) is False
    sql = queries[0]["sql"].replace('"', "")
    # ORDER BY 1 is the selected timezone column.
    assert sql.startswith("SELECT mailings_client.timezone AS timezone FROM"), sql
    assert "ORDER BY 1 ASC, mailings_client.operator_code ASC, mailings_client.tag ASC LIMIT 1" in sql, sql
    assert any(
        index.fields == ["timezone", "operator_code", "tag"] for index in ClientFactory._meta.model._meta.indexes
    )
