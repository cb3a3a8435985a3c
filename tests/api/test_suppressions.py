"""/suppressions/: the do-not-contact list over the API (list, filters, add, remove, permissions)."""

import pytest

from mailings.models import Suppression

pytestmark = pytest.mark.django_db
LIST = "/suppressions/"


@pytest.fixture
def lister(token_with):
    return token_with("view_suppression", "add_suppression", "delete_suppression")


class TestAdd:
    def test_a_new_phone_is_201_normalised_with_source_and_user(self, lister):
        response = lister.post(LIST, {"phone_number": "8 (913) 123-45-67", "reason": "complaint"}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["phone_number"] == "79131234567"
        assert (body["reason"], body["source"]) == ("complaint", "API")
        assert body["created_by"].startswith("holder-")
        assert Suppression.objects.get().phone_number == "79131234567"

    def test_a_listed_phone_is_200_with_the_existing_entry(self, lister):
        Suppression.objects.create(phone_number="79131234567", reason="stop", source="inbound default")
        response = lister.post(LIST, {"phone_number": "+7 913 123 45 67", "reason": "manual"}, format="json")
        assert response.status_code == 200
        assert (response.json()["reason"], response.json()["source"]) == ("stop", "inbound default")
        assert Suppression.objects.count() == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"phone_number": "12345"}, "phone_number"),
            ({}, "phone_number"),
            ({"phone_number": "79131234567", "reason": "bored"}, "reason"),
            ({"phone_number": "79131234567", "note": "x" * 501}, "note"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, lister, body, field):
        response = lister.post(LIST, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Suppression.objects.exists()


class TestListAndRemove:
    def test_it_lists_and_filters_by_phone_start_and_reason(self, lister):
        Suppression.objects.create(phone_number="79131234567", reason="stop")
        Suppression.objects.create(phone_number="79139999999", reason="complaint")
        Suppression.objects.create(phone_number="79001234567", reason="stop")
        assert len(lister.get(LIST).json()) == 3
        phones = [e["phone_number"] for e in lister.get(LIST, {"phone": "8 913"}).json()]
        assert phones == ["79131234567", "79139999999"]
        phones = [e["phone_number"] for e in lister.get(LIST, {"phone": "8 913", "reason": "stop"}).json()]
        assert phones == ["79131234567"]
        assert lister.get(LIST).headers["X-Total-Count"] == "3"

    def test_a_bad_filter_is_a_400_naming_it(self, lister):
        assert "phone" in lister.get(LIST, {"phone": "abc"}).json()
        assert "reason" in lister.get(LIST, {"reason": "bored"}).json()

    def test_delete_by_phone_as_written_with_8(self, lister):
        Suppression.objects.create(phone_number="79131234567")
        assert lister.delete(f"{LIST}89131234567/").status_code == 204
        assert not Suppression.objects.exists()
        response = lister.delete(f"{LIST}79131234567/")
        assert response.status_code == 404
        assert "not on the do-not-contact list" in response.json()["detail"]

    def test_delete_of_something_that_is_not_a_phone_is_a_400_naming_the_field(self, lister):
        Suppression.objects.create(phone_number="79131234567")
        response = lister.delete(f"{LIST}not-a-phone/")
        assert response.status_code == 400
        assert "is not a phone number" in response.json()["phone_number"][0]
        assert Suppression.objects.count() == 1


class TestPermissions:
    def test_reading_needs_view_suppression(self, token_with):
        Suppression.objects.create(phone_number="79131234567")
        assert token_with("view_client").get(LIST).status_code == 403
        assert token_with("view_suppression").get(LIST).status_code == 200

    def test_adding_needs_add_suppression(self, token_with):
        body = {"phone_number": "79131234567"}
        assert token_with("view_suppression").post(LIST, body, format="json").status_code == 403
        assert token_with("add_suppression").post(LIST, body, format="json").status_code == 201

    def test_removing_needs_delete_suppression(self, token_with):
        Suppression.objects.create(phone_number="79131234567")
        assert token_with("view_suppression", "add_suppression").delete(f"{LIST}79131234567/").status_code == 403
        assert Suppression.objects.exists()
        assert token_with("delete_suppression").delete(f"{LIST}79131234567/").status_code == 204
