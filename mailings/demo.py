"""Demo data for `make run`: a few thousand clients and two mailings, loaded once.

The database remembers: demo clients carry the tag `demo` (or `demo-vip`), and
while one exists nothing is loaded again, so restarting never duplicates them and
a fresh database gets them anew.
"""

import random
from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from mailings import services
from mailings.models import Client, Mailing

DEMO_TAG = "demo"
DEMO_VIP_TAG = "demo-vip"
OPERATOR_CODES = ("900", "913", "926", "999")
TIME_ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok")


def demo_loaded() -> bool:
    return Client.objects.filter(tag__in=[DEMO_TAG, DEMO_VIP_TAG]).exists()


@transaction.atomic
def demo_data_load(*, clients: int = 3000, seed: int = 7) -> list[Mailing]:
    """Create the demo clients and mailings, unless they exist; returns the mailings created."""
    if demo_loaded():
        return []
    rng = random.Random(seed)
    people = []
    for i in range(clients):
        code = OPERATOR_CODES[i % len(OPERATOR_CODES)]
        people.append(
            Client(
                phone_number=f"7{code}{5_000_000 + i:07d}",
                operator_code=code,
                tag=DEMO_VIP_TAG if i % 10 == 0 else DEMO_TAG,
                timezone=rng.choice(TIME_ZONES),
            )
        )
    # Phone numbers someone already has are left alone.
    Client.objects.bulk_create(people, batch_size=1000, ignore_conflicts=True)
    now = timezone.now()
    running = services.mailing_create(
        start_datetime=now - timedelta(minutes=1),
        end_datetime=now + timedelta(days=1),
        message_text="Demo: our shop opens a new branch next to you this weekend!",
        filter_tag=DEMO_TAG,
    )
    future = services.mailing_create(
        start_datetime=now + timedelta(days=2),
        end_datetime=now + timedelta(days=3),
        message_text="Demo: a discount for customers of operator 913, only this week.",
        filter_operator_code="913",
        send_window_start=time(10, 0),
        send_window_end=time(20, 0),
    )
    return [running, future]
