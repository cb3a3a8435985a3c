"""The mailing form's composer: what a text costs in SMS parts, said as the operator types."""

import pytest
from django.core.exceptions import ValidationError

pytestmark = pytest.mark.django_db

URL = "/admin/mailings/mailing/text-parts/"


def _parts(admin_client, text: str) -> dict:
    response = admin_client.post(URL, {"text": text})
    assert response.status_code == 200
    return response.json()


def test_a_gsm_7_text_says_its_characters_and_parts(admin_client):
    assert _parts(admin_client, "Sale: 20% off")["summary"] == (
        "13 characters · GSM-7 · 1 SMS part (up to 160 in one; at most 10)"
    )
    assert _parts(admin_client, "x" * 161)["summary"] == (
        "161 characters · GSM-7 · 2 SMS parts (153 characters a part; at most 10)"
    )


def test_a_ucs_2_text_names_the_characters_that_make_it_so(admin_client):
    body = _parts(admin_client, "Скидка 20% 😀")

    assert body["summary"] == (
        "12 characters · UCS-2 · 1 SMS part (up to 70 in one; at most 10). UCS-2 because of: С, к, и, д, а, 😀"  # noqa: RUF001
    )
    assert body["replaced"] is None  # no look-alike to replace


def test_too_many_parts_is_said_and_nothing_is_cut(admin_client, settings):
    settings.MAILING_MAX_PARTS = 2

    body = _parts(admin_client, "x" * 307)

    assert body["over_limit"] is True
    assert "3 SMS parts" in body["summary"]


def test_look_alikes_are_offered_when_they_cost_parts(admin_client):
    body = _parts(admin_client, "It\u2019s on \u2014 today")

    assert body["lookalikes"] == "\u2019\u2014"
    assert body["replaced"] == "It's on - today"
    assert "UCS-2 because of: \u2019, \u2014" in body["summary"]


def test_it_answers_post_only_and_to_staff_who_may_view_mailings(admin_client, client):
    assert admin_client.get(URL, {"text": "x"}).status_code == 405
    assert client.post(URL, {"text": "x"}).status_code == 302  # to the login


def test_the_text_box_cuts_nothing(admin_client):
    page = admin_client.get("/admin/mailings/mailing/add/").content.decode()

    assert 'id="text-parts"' in page
    assert "maxlength" not in page.split('id="id_message_text"')[0].rsplit("<textarea", 1)[1]


def test_look_alikes_are_not_offered_when_the_text_stays_ucs_2_in_as_many_parts(admin_client):
    body = _parts(admin_client, "Привет \u2014 всем")

    assert body["lookalikes"] == "\u2014"
    assert body["replaced"] is None


def test_line_breaks_are_kept_as_one_character_as_the_composer_counts_them(admin_client):
    from mailings.models import Mailing
    from tests.factories import ClientFactory

    ClientFactory()  # an audience: the form asks to confirm a mailing that would reach nobody
    text = "a\r\n" * 80  # as a browser posts a textarea: 240 characters, 2 parts if kept as CR LF
    response = admin_client.post(
        "/admin/mailings/mailing/add/",
        {
            "message_text": text,
            "start_datetime_0": "2030-01-01",
            "start_datetime_1": "09:00:00",
            "end_datetime_0": "2030-01-02",
            "end_datetime_1": "09:00:00",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Mailing.objects.get().message_text == "a\n" * 79 + "a"  # the last break is trimmed, like any space
    assert "1 SMS part" in _parts(admin_client, "a\n" * 80)["summary"]


def test_a_text_saved_before_the_limit_is_kept_and_may_still_be_edited(admin_client, settings):
    from mailings import services
    from mailings.models import Mailing
    from tests.factories import MailingFactory

    mailing = MailingFactory(message_text="ж" * 300)
    settings.MAILING_MAX_PARTS = 2  # the text is 5 parts: over the limit set after it was saved

    services.mailing_update(mailing=mailing, filter_tag="later")

    assert Mailing.objects.get().filter_tag == "later"
    with pytest.raises(ValidationError) as refused:
        services.mailing_update(mailing=mailing, message_text="ж" * 301)
    assert "5 SMS parts" in refused.value.message_dict["message_text"][0]
