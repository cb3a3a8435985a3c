"""Lists are JSON arrays; paging travels in ?page= / ?page_size= and the X-Total-Count and Link headers."""

import re

import pytest

from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _links(response) -> dict[str, str]:
    """rel -> url from an RFC 8288 Link header."""
    return {rel: url for url, rel in re.findall(r'<([^>]*)>;\s*rel="([^"]+)"', response.get("Link", ""))}


@pytest.fixture
def clients():
    return ClientFactory.create_batch(101)


class TestDefaultPage:
    def test_it_gives_the_first_100_items_with_the_total_and_links(self, api, clients):
        response = api.get("/clients/")

        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [item["id"] for item in body] == [c.pk for c in clients[:100]]
        assert response["X-Total-Count"] == "101"
        links = _links(response)
        assert links["next"] == "http://testserver/clients/?page=2"
        assert links["last"] == "http://testserver/clients/?page=2"
        assert "prev" not in links

    def test_it_gives_the_rest_on_the_second_page_with_a_prev_link(self, api, clients):
        response = api.get("/clients/", {"page": 2})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [clients[100].pk]
        assert response["X-Total-Count"] == "101"
        links = _links(response)
        assert links["prev"] == "http://testserver/clients/"
        assert links["first"] == "http://testserver/clients/"
        assert "next" not in links

    def test_it_follows_the_next_link(self, api, clients):
        following = api.get(_links(api.get("/clients/"))["next"])

        assert following.status_code == 200
        assert [item["id"] for item in following.json()] == [clients[100].pk]

    def test_it_keeps_filters_in_the_links(self, api):
        ClientFactory.create_batch(3, tag="vip")
        ClientFactory.create_batch(2, tag="regular")

        response = api.get("/clients/", {"tag": "vip", "page_size": 2})

        assert response.status_code == 200
        assert len(response.json()) == 2
        assert response["X-Total-Count"] == "3"
        next_link = _links(response)["next"]
        assert "tag=vip" in next_link
        assert "page_size=2" in next_link
        assert all(item["tag"] == "vip" for item in api.get(next_link).json())

    def test_a_single_page_has_the_total_and_no_link(self, api):
        ClientFactory.create_batch(3)

        response = api.get("/clients/")

        assert response.status_code == 200
        assert len(response.json()) == 3
        assert response["X-Total-Count"] == "3"
        assert "Link" not in response

    @pytest.mark.parametrize("path", ["/clients/", "/mailings/", "/messages/"])
    def test_every_list_is_a_json_array(self, api, path):
        MessageFactory()

        response = api.get(path)

        assert response.status_code == 200
        assert isinstance(response.json(), list)
        assert len(response.json()) == 1
        assert response["X-Total-Count"] == "1"


class TestPageSize:
    def test_it_accepts_the_maximum_page_size(self, api, clients):
        response = api.get("/clients/", {"page_size": 1000})

        assert response.status_code == 200
        assert len(response.json()) == 101
        assert response["X-Total-Count"] == "101"
        assert "next" not in _links(response)

    def test_it_honours_a_small_page_size(self, api):
        mailings = MailingFactory.create_batch(3)

        response = api.get("/mailings/", {"page_size": 1, "page": 3})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [mailings[2].pk]
        links = _links(response)
        assert "next" not in links
        assert "page=2" in links["prev"]

    @pytest.mark.parametrize("size", ["1001", "0", "-1", "abc", "1.5"])
    def test_it_refuses_a_bad_page_size_naming_it(self, api, size):
        ClientFactory()

        response = api.get("/clients/", {"page_size": size})

        assert response.status_code == 400
        assert "page_size" in response.json()


class TestPageNumber:
    @pytest.mark.parametrize("page", ["abc", "0", "-1"])
    def test_it_refuses_a_bad_page_naming_it(self, api, page):
        ClientFactory()

        response = api.get("/clients/", {"page": page})

        assert response.status_code == 400
        assert "page" in response.json()

    def test_it_answers_404_beyond_the_last_page(self, api):
        ClientFactory.create_batch(3)

        response = api.get("/clients/", {"page": 99})

        assert response.status_code == 404
        assert "detail" in response.json()

    def test_it_accepts_last_as_a_page(self, api, clients):
        response = api.get("/clients/", {"page": "last"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [clients[100].pk]


class TestMessageTotalsFromCounts:
    @pytest.mark.parametrize("query", ["", "?status=sent", "?mailing={mailing}", "?mailing={mailing}&status=failed"])
    def test_the_total_equals_a_real_count(self, api, query):
        from mailings.models import Message
        from tests.factories import MailingFactory, MessageFactory

        mine, other = MailingFactory(), MailingFactory()
        for mailing, status in [(mine, "sent"), (mine, "sent"), (mine, "failed"), (other, "sent"), (other, "pending")]:
            MessageFactory(mailing=mailing, status=status)
        url = "/messages/" + query.format(mailing=mine.pk)
        response = api.get(url + ("&" if "?" in url else "?") + "page_size=1")
        expected = Message.objects.all()
        for key, value in [p.split("=") for p in query.lstrip("?").split("&") if p]:
            expected = expected.filter(**{key: mine.pk if key == "mailing" else value})
        assert response.status_code == 200
        assert response["X-Total-Count"] == str(expected.count())
        assert len(response.json()) == min(1, expected.count())

    def test_other_filters_still_count_for_real(self, api):
        from tests.factories import MessageFactory

        message = MessageFactory()
        MessageFactory()
        response = api.get(f"/messages/?client={message.client_id}")
        assert response["X-Total-Count"] == "1"
