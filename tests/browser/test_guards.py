"""Guard rails in Chromium, on a laptop and on a phone: the audience count beside the filter, the
zones the fields say, a mailing that would send nothing confirmed before it is saved, and the
mailing list's search and order."""

import pytest
from playwright.sync_api import expect

from mailings.models import Mailing
from tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = [pytest.param((1366, 768), id="1366"), pytest.param((390, 844), id="390")]


@pytest.fixture
def moscow(settings):
    settings.TIME_ZONE = "Europe/Moscow"


def _fill_mailing(page, *, text: str, tag: str, window: tuple[str, str] | None = None) -> None:
    # 15:00-17:00 in Moscow on a January day: 12:00-14:00 UTC, 21:00-23:00 in Tokyo.
    page.fill("#id_message_text", text)
    page.fill("#id_start_datetime_0", "2030-01-15")
    page.fill("#id_start_datetime_1", "15:00:00")
    page.fill("#id_end_datetime_0", "2030-01-15")
    page.fill("#id_end_datetime_1", "17:00:00")
    page.fill("#id_filter_tag", tag)
    if window:
        page.fill("#id_send_window_start", window[0])
        page.fill("#id_send_window_end", window[1])


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_form_says_zones_and_the_audience_beside_the_filter(
    live_server, page, shot, operator_login, moscow, viewport
):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    ClientFactory(tag="vip", timezone="Asia/Tokyo")
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")

    moscow_time = "Moscow time (Europe/Moscow, UTC+03:00)"
    expect(page.locator(".field-start_datetime")).to_contain_text(f"When sending may begin. {moscow_time}.")
    expect(page.locator(".field-end_datetime")).to_contain_text(moscow_time)
    for name in ("send_window_start", "send_window_end"):
        expect(page.locator(f"#id_{name}_helptext")).to_contain_text("Client's local time")
        expect(page.locator(f".field-{name} .timezonewarning")).to_have_count(0)
        expect(page.locator(f"#id_{name}")).to_have_attribute("type", "time")
    # The browser runs in UTC, the server in Moscow: start and end keep Django's note, rightly.
    expect(page.locator(".field-start_datetime .timezonewarning")).to_contain_text("behind server time")

    page.fill("#id_filter_tag", "vip")
    preview = page.locator("#audience-preview")
    expect(preview).to_have_text("Audience now: 1 client(s) match this filter.")
    expect(page.locator("fieldset", has=page.locator("#id_filter_tag")).locator("#audience-preview")).to_have_count(1)
    tag_box, preview_box = page.locator("#id_filter_tag").bounding_box(), preview.bounding_box()
    assert preview_box["y"] < tag_box["y"] + tag_box["height"] + 120, (
        tag_box,
        preview_box,
    )  # beside, not at the bottom
    assert preview_box["x"] + preview_box["width"] <= viewport[0], preview_box
    buttons = page.locator(".submit-row").bounding_box()  # a new mailing's form ends with its "Who"
    assert preview_box["y"] + preview_box["height"] <= buttons["y"], (preview_box, buttons)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    shot("audience-beside-filter")

    page.fill("#id_filter_tag", "nobody")
    expect(preview).to_have_text("Audience now: 0 client(s) match this filter.")
    expect(preview).to_have_class("help audience-empty")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_mailing_that_would_send_nothing_is_confirmed_before_it_is_saved(
    live_server, page, shot, operator_login, moscow, viewport
):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    ClientFactory(tag="vip", timezone="Asia/Tokyo")
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")

    _fill_mailing(page, text="To nobody", tag="nobody")
    page.click("input[name=_save]")
    warnings = page.locator("#guard-warnings")
    expect(warnings).to_contain_text("No client matches this filter (tag 'nobody') now: nothing would be sent.")
    expect(warnings.locator("li")).to_have_count(1)
    expect(warnings).to_be_in_viewport()
    assert not Mailing.objects.exists()
    shot("warning-to-confirm")

    page.check("#id_confirm_warnings")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert Mailing.objects.get().filter_tag == "nobody"

    # A window Tokyo's clients do not reach between 21:00 and 23:00 their time.
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")
    _fill_mailing(page, text="Morning news", tag="vip", window=("09:00", "10:00"))
    page.click("input[name=_save]")
    expect(warnings).to_contain_text("The sending window 09:00-10:00 (client's local time) opens for none")
    shot("window-unreachable")
    page.fill("#id_send_window_start", "21:30")
    page.fill("#id_send_window_end", "22:30")
    page.click("input[name=_save]")  # fixed: no confirmation asked
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert Mailing.objects.get(message_text="Morning news").send_window_start.hour == 21


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_list_is_newest_first_and_finds_text_tag_code_and_id(live_server, page, shot, operator_login, viewport):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    older = MailingFactory(message_text="Spring sale", filter_tag="vip", filter_operator_code="913")
    newer = MailingFactory(message_text="Weekly news")
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/")
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_contain_text("Weekly news")
    expect(rows.nth(1)).to_contain_text("Spring sale")

    for term, found in (("vip", "Spring sale"), ("913", "Spring sale"), (str(newer.pk), "Weekly news")):
        page.fill("#searchbar", term)
        page.press("#searchbar", "Enter")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(found)
    shot("search-by-id")
    assert older.pk != newer.pk
