"""The demo data `make run` loads: once, a running mailing and a future one."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mailings.models import Client, Mailing
from tests.factories import ClientFactory


@pytest.mark.django_db
class TestLoadDemo:
    def test_it_loads_clients_and_two_mailings_once(self, capsys):
        call_command("load_demo", "--clients", "200")
        assert "Demo data: 200 clients" in capsys.readouterr().out
        assert Client.objects.count() == 200
        now = timezone.now()
        running, future = Mailing.objects.order_by("start_datetime")
        assert running.start_datetime <= now < running.end_datetime
        assert future.start_datetime > now
        assert set(Client.objects.values_list("operator_code", flat=True)) == {"900", "913", "926", "999"}

        call_command("load_demo", "--clients", "200")
        assert "loaded already" in capsys.readouterr().out
        assert Client.objects.count() == 200
        assert Mailing.objects.count() == 2

    def test_it_leaves_existing_phone_numbers_alone(self):
        mine = ClientFactory(phone_number="79005000000", tag="mine")
        call_command("load_demo", "--clients", "10")
        mine.refresh_from_db()
        assert mine.tag == "mine"
        assert Client.objects.count() == 10  # nine new, one already there

    def test_it_refuses_a_silly_size(self):
        with pytest.raises(CommandError, match="between 1 and 1,000,000"):
            call_command("load_demo", "--clients", "0")
