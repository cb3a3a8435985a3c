"""Delivery reports on the operators' pages: the delivery log (a column and a filter), a message's
page, the statistics change-list and a mailing's control panel; and on /metrics and in the daily e-mail."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from mailings.models import Mailing, Message
from mailings.reports import daily_report
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
D = Message.DeliveryStatus


@pytest.fixture
def mailing() -> Mailing:
    """Three delivered, one undelivered (error E7), one without a report in time, one still waiting."""
    now = timezone.now()
    mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=now - timedelta(hours=2))
    for status in [D.DELIVERED] * 3 + [D.UNDELIVERED, D.NO_REPORT, D.UNKNOWN]:
        message = MessageFactory(mailing=mailing, status=Message.Status.SENT, sent_at=now - timedelta(hours=1))
        Message.objects.filter(pk=message.pk).update(
            delivery_status=status,
            reported_at=now if status in (D.DELIVERED, D.UNDELIVERED) else None,
            delivery_error="E7" if status == D.UNDELIVERED else "",
        )
    return mailing


class TestDeliveryLog:
    def test_it_shows_and_filters_by_the_delivery_status(self, admin_client, mailing):
        url = reverse("admin:mailings_message_changelist")
        page = admin_client.get(url, {"delivery_status__exact": "undelivered"}).content.decode()
        undelivered = Message.objects.get(delivery_status=D.UNDELIVERED)
        assert f">{undelivered.pk}<" in page
        assert page.count('class="field-delivery_status"') == 1
        assert "By delivery status" in page  # offered in the filters, not only taken from the URL

    def test_a_message_page_says_what_the_provider_reported(self, admin_client, mailing):
        undelivered = Message.objects.get(delivery_status=D.UNDELIVERED)
        page = admin_client.get(reverse("admin:mailings_message_change", args=[undelivered.pk])).content.decode()
        assert "Undelivered, error E7: reported by default at" in page
        waiting = Message.objects.get(delivery_status=D.UNKNOWN)
        page = admin_client.get(reverse("admin:mailings_message_change", args=[waiting.pk])).content.decode()
        assert "None yet: the provider has not reported on it." in page


class TestStatistics:
    def test_the_change_list_has_the_counts_and_rate_per_mailing_and_in_total(self, admin_client, mailing):
        page = admin_client.get(reverse("admin:mailings_mailingstatistics_changelist")).content.decode()
        assert 'class="delivery-delivered"' in page
        assert "delivery_status__exact=undelivered" in page
        assert '<td class="field-delivery_rate">60.0%</td>' in page  # 3 of 3 + 1 + 1
        assert "<dt>delivery rate</dt><dd>60.0%</dd>" in page
        assert "<dt>no report</dt><dd>1</dd>" in page

    def test_the_control_panel_shows_them(self, admin_client, mailing):
        page = admin_client.get(reverse("admin:mailings_mailing_change", args=[mailing.pk])).content.decode()
        assert "3 delivered</a>" in page
        assert "1 undelivered</a>" in page
        assert "1 no report</a>" in page
        assert "delivery rate 60.0%" in page


class TestMetricsAndEmail:
    def test_metrics_give_the_counts_and_rate_per_mailing(self, client, mailing, settings):
        settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []
        body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }
        key = str(mailing.pk)
        assert samples[("backoffice_mailing_delivery", (("delivery_status", "delivered"), ("mailing", key)))] == 3
        assert samples[("backoffice_mailing_delivery", (("delivery_status", "undelivered"), ("mailing", key)))] == 1
        assert samples[("backoffice_mailing_delivery_rate", (("mailing", key),))] == pytest.approx(0.6)
        assert samples[("backoffice_messages_delivery", (("delivery_status", "no_report"),))] == 1

    def test_a_mailing_whose_reports_can_no_longer_come_leaves_the_page(self, client, mailing, settings):
        settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []
        ended = timezone.now() - timedelta(days=4)
        Mailing.objects.filter(pk=mailing.pk).update(start_datetime=ended - timedelta(hours=1), end_datetime=ended)
        body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        assert f'mailing="{mailing.pk}"' not in body
        assert 'backoffice_messages_delivery{delivery_status="delivered"} 3.0' in body

    def test_the_daily_email_has_them(self, mailing):
        report = daily_report()
        [line] = report.lines
        assert (line.delivered, line.undelivered, line.no_report, line.delivery_rate) == (3, 1, 1, "60.0%")
        assert report.totals["delivery_rate"] == "60.0%"
