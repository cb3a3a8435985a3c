"""The do-not-contact list's two writes: idempotent, normalised, and refusing a bad phone by name."""

import pytest
from django.core.exceptions import ValidationError

from mailings import services
from mailings.models import Suppression

pytestmark = pytest.mark.django_db


class TestSuppressionAdd:
    def test_it_normalises_the_phone_and_keeps_who_and_why(self, admin_user):
        added = services.suppression_add(
            phone_number="8 (900) 123-45-67", reason=Suppression.Reason.STOP, source="inbound default", actor=admin_user
        )
        assert added.created
        entry = Suppression.objects.get()
        assert (entry.phone_number, entry.reason, entry.source, entry.created_by) == (
            "79001234567",
            "stop",
            "inbound default",
            admin_user,
        )

    def test_adding_a_listed_phone_again_changes_nothing(self):
        first = services.suppression_add(phone_number="79001234567", reason=Suppression.Reason.STOP)
        again = services.suppression_add(phone_number="+79001234567", reason=Suppression.Reason.COMPLAINT)
        assert not again.created
        assert again.suppression.pk == first.suppression.pk
        assert Suppression.objects.get().reason == "stop"

    def test_it_refuses_a_bad_phone_naming_the_field(self):
        with pytest.raises(ValidationError) as caught:
            services.suppression_add(phone_number="12345")
        assert "phone_number" in caught.value.message_dict
        assert not Suppression.objects.exists()

    def test_it_refuses_an_unknown_reason(self):
        with pytest.raises(ValidationError) as caught:
            services.suppression_add(phone_number="79001234567", reason="because")
        assert "reason" in caught.value.message_dict


class TestSuppressionRemove:
    def test_it_takes_the_phone_off_and_says_whether_it_was_on(self):
        services.suppression_add(phone_number="79001234567")
        assert services.suppression_remove(phone_number="89001234567") is True
        assert not Suppression.objects.exists()
        assert services.suppression_remove(phone_number="79001234567") is False

    def test_it_refuses_a_bad_phone_naming_the_field(self):
        with pytest.raises(ValidationError) as caught:
            services.suppression_remove(phone_number="abc")
        assert "phone_number" in caught.value.message_dict
