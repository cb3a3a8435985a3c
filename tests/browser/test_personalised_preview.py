"""A personalised text in Chromium: previewed for real clients of the audience as the operator types."""

import pytest
from playwright.sync_api import expect

from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_composer_previews_the_text_for_clients_of_the_audience(live_server, page, shot, operator_login):
    ClientFactory(phone_number="79000000001", attributes={"first_name": "Anna"})
    ClientFactory(phone_number="79000000002", tag="vip")
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")
    counter = page.locator("#text-parts")
    page.locator("#id_message_text").fill("Hi {first_name|customer}")
    expect(counter).to_contain_text("79000000001: \u201cHi Anna\u201d \u00b7 GSM-7 \u00b7 1 SMS part")
    expect(counter).to_contain_text("79000000002: \u201cHi customer\u201d")
    expect(counter).to_contain_text("1 client of the audience would get the default of {first_name}")
    page.fill("#id_filter_tag", "vip")
    page.locator("#id_filter_tag").dispatch_event("change")
    expect(counter).not_to_contain_text("79000000001")
    shot("personalised-preview")
