"""The big lists write their row checkboxes as strings, and they are Django's own checkboxes."""

import pytest
from django.contrib import admin
from django.test import SimpleTestCase

from mailings.models import Client, Mailing
from tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "make"),
    [
        (Client, lambda: ClientFactory()),
        (Mailing, lambda: MailingFactory(message_text='Sale <b>"50%"</b> & more')),  # escaped in the label
    ],
)
def test_it_writes_the_checkbox_django_renders(model, make):
    obj = make()
    model_admin = admin.site._registry[model]
    SimpleTestCase().assertHTMLEqual(
        model_admin.action_checkbox(obj), admin.ModelAdmin.action_checkbox(model_admin, obj)
    )


def test_a_checked_row_acts_on_its_mailing(admin_client):
    mailing = MailingFactory()
    page = admin_client.get("/admin/mailings/mailing/").content.decode()
    assert f'name="_selected_action" value="{mailing.pk}"' in page
    assert 'id="action-toggle"' in page  # the header's select-all box
    response = admin_client.post(
        "/admin/mailings/mailing/", {"action": "pause", "_selected_action": [mailing.pk]}, follow=True
    )
    assert response.status_code == 200
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.PAUSED
