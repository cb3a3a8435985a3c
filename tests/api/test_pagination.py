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


@pytest.fixture
def shallow(monkeypatch):
    """Pages read by number within 2 rows of either end (10,000 in production)."""
    from mailings import paginators

    monkeypatch.setattr(paginators.ShallowPages, "deepest_offset", 2)


def _walk(api, url: str, rel: str) -> tuple[list[int], list[str]]:
    """The ids of every page met following `rel` links from `url`, and the links followed."""
    ids, followed = [], []
    while url and len(followed) < 100:  # a link back to a page already read would loop
        response = api.get(url)
        assert response.status_code == 200, response.json()
        ids += [item["id"] for item in response.json()]
        url = _links(response).get(rel)
        followed.append(url)
    return ids, followed[:-1]


class TestDeepPages:
    def test_following_next_reads_every_row_once_in_order_past_the_cheap_pages(self, api, shallow):
        clients = ClientFactory.create_batch(9)

        ids, followed = _walk(api, "/clients/?page_size=1", "next")

        assert ids == [c.pk for c in clients]
        # Page numbers while they are cheap (rows 0-2 skipped at most), cursors after.
        assert ["page=" in link for link in followed] == [True, True, False, False, False, False, False, False]
        assert all("cursor=" in link for link in followed[2:])

    def test_following_prev_from_the_last_page_reads_every_row_backwards(self, api, shallow):
        clients = ClientFactory.create_batch(9)

        ids, followed = [], []
        url = "/clients/?page_size=2&page=last"
        while url and len(followed) < 100:
            response = api.get(url)
            ids = [item["id"] for item in response.json()] + ids  # each page in order, pages backwards
            url = _links(response).get("prev")
            followed.append(url)

        assert ids == [c.pk for c in clients]
        assert any("cursor=" in link for link in followed)

    @pytest.mark.parametrize("page", ["last", "5", "4"])
    def test_the_last_pages_are_read_from_the_end(self, api, shallow, page):
        clients = ClientFactory.create_batch(10)

        response = api.get("/clients/", {"page_size": 2, "page": page})

        assert response.status_code == 200
        number = 5 if page == "last" else int(page)
        assert [item["id"] for item in response.json()] == [c.pk for c in clients[(number - 1) * 2 : number * 2]]
        assert response["X-Total-Count"] == "10"

    def test_a_page_of_the_last_rows_is_short_like_the_last_page_by_number(self, api, shallow):
        clients = ClientFactory.create_batch(11)

        response = api.get("/clients/", {"page_size": 2, "page": "last"})

        assert [item["id"] for item in response.json()] == [clients[10].pk]

    def test_a_page_deep_in_the_middle_is_refused_naming_the_cursor(self, api, shallow):
        ClientFactory.create_batch(9)

        response = api.get("/clients/", {"page_size": 1, "page": 5})

        assert response.status_code == 400
        assert "cursor" in response.json()["page"][0]
        assert "Page 5 starts 4 rows into a list of 9" in response.json()["page"][0]

    def test_a_cursor_does_not_skip_a_row_when_an_earlier_one_is_deleted(self, api):
        clients = ClientFactory.create_batch(4)
        first = api.get("/clients/", {"page_size": 2, "cursor": _cursor_after(api, clients)})
        assert [item["id"] for item in first.json()] == [clients[1].pk, clients[2].pk]

        clients[0].delete()  # a page number would now start one row later
        following = api.get(_links(first)["next"])

        assert [item["id"] for item in following.json()] == [clients[3].pk]
        assert "next" not in _links(following)

    def test_a_cursor_keeps_the_filters_and_the_known_total(self, admin_api):
        mailing = MailingFactory()
        failed = [MessageFactory(mailing=mailing, status="failed") for _ in range(3)]
        MessageFactory(mailing=mailing, status="sent")

        first = admin_api.get("/messages/", {"status": "failed", "page_size": 1})
        ids, _ = _walk(admin_api, _links(first)["next"], "next")

        assert ids == [m.pk for m in failed[1:]]
        response = admin_api.get(_links(first)["next"])
        assert response["X-Total-Count"] == "3"
        assert "status=failed" in _links(response)["next"]

    def test_the_statistics_of_a_mailing_page_its_messages_by_cursor_too(self, admin_api):
        mailing = MailingFactory()
        messages = [MessageFactory(mailing=mailing) for _ in range(3)]

        response = admin_api.get(
            f"/mailings/{mailing.pk}/statistics/", {"page_size": 2, "cursor": _cursor_after_id(messages[0].pk)}
        )

        assert response.status_code == 200
        assert [m["id"] for m in response.json()["messages"]] == [messages[1].pk, messages[2].pk]
        assert "next" not in _links(response)
        assert "cursor=" in _links(response)["prev"]

    @pytest.mark.parametrize("cursor", ["", "abc", "!!", "eDU", "YS0x", "YQ", "YTE1YQ"])
    def test_a_bad_cursor_is_refused_naming_it(self, api, cursor):
        ClientFactory()

        response = api.get("/clients/", {"cursor": cursor})

        assert response.status_code == 400
        assert "cursor" in response.json()

    def test_a_cursor_and_a_page_together_are_refused(self, api):
        client = ClientFactory()

        response = api.get("/clients/", {"cursor": _cursor_after_id(client.pk), "page": 1})

        assert response.status_code == 400
        assert "cursor" in response.json()

    def test_a_cursor_past_the_end_is_an_empty_page(self, api):
        client = ClientFactory()

        response = api.get("/clients/", {"cursor": _cursor_after_id(client.pk)})

        assert response.status_code == 200
        assert response.json() == []
        assert set(_links(response)) == {"first", "last"}


def _cursor_after_id(pk: int) -> str:
    from mailings.api.pagination import Cursor

    return Cursor("a", pk).encode()


def _cursor_after(api, clients) -> str:
    """The cursor of the rows after the first client, as a client would get it: from a next link."""
    response = api.get("/clients/", {"page_size": 1, "cursor": _cursor_after_id(0)})
    assert [item["id"] for item in response.json()] == [clients[0].pk]
    next_link = _links(response)["next"]
    return re.search(r"cursor=([^&]+)", next_link).group(1)
