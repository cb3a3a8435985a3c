"""The mailing text in Chromium: its cost in SMS parts said as the operator types, nothing cut."""

import pytest
from playwright.sync_api import expect

from mailings.models import Mailing

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_composer_counts_offers_look_alikes_and_cuts_nothing(live_server, page, shot, operator_login):
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")
    counter = page.locator("#text-parts")
    text = page.locator("#id_message_text")

    text.fill("Скидка 20% сегодня")
    expect(counter).to_contain_text("18 characters · UCS-2 · 1 SMS part (up to 70 in one; at most 10)")
    expect(counter).to_contain_text("UCS-2 because of: С, к, и, д, а, с, е, г and 3 more.")  # noqa: RUF001

    text.fill("It\u2019s on \u2014 today")
    replace = counter.locator("button")
    expect(replace).to_be_visible()
    replace.click()
    expect(text).to_have_value("It's on - today")
    expect(counter).to_contain_text("15 characters · GSM-7 · 1 SMS part")
    expect(replace).to_be_hidden()

    long_text = "x" * 1600  # the old 1,000-character box kept 1,000 of them, silently
    text.fill(long_text)
    expect(counter).to_contain_text("1,600 characters · GSM-7 · 11 SMS parts (153 characters a part; at most 10)")
    expect(counter).to_contain_text("too many, shorten the text")
    expect(text).to_have_value(long_text)
    shot("too-many-parts")
    page.fill("#id_start_datetime_0", "2030-01-01")
    page.fill("#id_start_datetime_1", "09:00:00")
    page.fill("#id_end_datetime_0", "2030-01-02")
    page.fill("#id_end_datetime_1", "09:00:00")
    page.click("input[name=_save]")
    expect(page.locator(".field-message_text .errorlist")).to_contain_text(
        "The text is 11 SMS parts of 153 characters in GSM-7; at most 10 are allowed: shorten it."
    )
    expect(text).to_have_value(long_text)
    assert not Mailing.objects.exists()
