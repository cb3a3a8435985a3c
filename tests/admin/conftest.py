"""Staff users in the groups the migrations create, logged in; one row of every model; every admin route."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client as DjangoClient
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, SolarSchedule
from rest_framework.authtoken.models import Token

from mailings.models import Mailing, Route, Suppression
from tests.factories import ClientFactory, MailingFactory, MessageFactory


def _staff_in(django_user_model, client, group: str):
    user = django_user_model.objects.create_user(username=group.lower(), password="pw-123456", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def viewer(django_user_model, client):
    return _staff_in(django_user_model, client, "Viewers")


@pytest.fixture
def operator(django_user_model, client):
    return _staff_in(django_user_model, client, "Operators")


@pytest.fixture
def world(django_user_model):
    """One row of every model the admin shows."""
    mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())
    MessageFactory(mailing=mailing, client=ClientFactory())
    user = django_user_model.objects.create_user(username="someone", password="pw-123456", is_staff=True)
    Token.objects.create(user=user)
    browser = DjangoClient()  # a login and a failed one: the login records (django-axes)
    browser.post("/admin/login/", {"username": "someone", "password": "pw-123456"})
    browser.post("/admin/login/", {"username": "someone", "password": "wrong"})
    CrontabSchedule.objects.create(minute="0", hour="7")
    SolarSchedule.objects.create(event="sunrise", latitude=55.75, longitude=37.62)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    Suppression.objects.create(phone_number="79139876543")
    Route.objects.create(operator_code="913", provider="default", weight=1)
    return mailing


def admin_routes():
    """(model, its ModelAdmin, route) for every URL the admin site registers: a page added later too."""
    for model, model_admin in admin.site._registry.items():
        for pattern in model_admin.get_urls():
            yield model, model_admin, str(pattern.pattern)
