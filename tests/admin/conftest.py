"""Staff users in the groups the migrations create, logged in."""

import pytest
from django.contrib.auth.models import Group


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
