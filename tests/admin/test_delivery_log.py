"""The delivery log (the admin's message list): found by phone as people write it, sorted only in
ways an index serves, on ten million rows as on ten."""

import re

import pytest
from django.db import connection

from mailings.admin.messages import MessageAdmin
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db

MESSAGES = "/admin/mailings/message/"
COLUMN = {name: index for index, name in enumerate(MessageAdmin.list_display)}


def _phones(response) -> list[str]:
    """The phones of the listed messages, in the page's order."""
    assert response.status_code == 200
    return re.findall(r'<td class="field-phone_number">(7[0-9]{10})</td>', response.content.decode())


def _sortable(response) -> set[str]:
    """The columns whose header is a sort link."""
    return set(re.findall(r'<th scope="col" class="sortable[^"]*column-([a-z_]+)', response.content.decode()))


@pytest.fixture
def log():
    """Messages to phones around the prefix 7900500, two of them to the same phone, oldest first."""
    mailing = MailingFactory()
    phones = ["79005000044", "79004999999", "79005999999", "79006000000", "79005000044", "79990000001"]
    return [
        MessageFactory(
            mailing=mailing, client=ClientFactory(phone_number=phone) if n != 4 else None, phone_number=phone
        )
        for n, phone in enumerate(phones)
    ]


class TestSearchByPhone:
    @pytest.mark.parametrize(
        "term",
        ["+7 900 500-00-44", "79005000044", "8 (900) 500 00 44", "89005000044", "900 500-00-44", " +7.900.500.00.44 "],
    )
    def test_a_phone_written_as_people_write_it_finds_its_messages(self, admin_client, log, term):
        assert _phones(admin_client.get(MESSAGES, {"q": term})) == ["79005000044", "79005000044"]

    @pytest.mark.parametrize("term", ["+7 900 5", "8 900 5", "900 5", "79005"])
    def test_the_start_of_a_phone_finds_every_phone_that_starts_so(self, admin_client, log, term):
        found = _phones(admin_client.get(MESSAGES, {"q": term}))

        assert sorted(set(found)) == ["79005000044", "79005999999"]  # not 79004999999 nor 79006000000

    def test_a_prefix_ending_in_nines_keeps_its_upper_bound(self, admin_client, log):
        assert set(_phones(admin_client.get(MESSAGES, {"q": "7900599"}))) == {"79005999999"}
        assert set(_phones(admin_client.get(MESSAGES, {"q": "799"}))) == {"79990000001"}
        assert set(_phones(admin_client.get(MESSAGES, {"q": "7"}))) == {m.phone_number for m in log}

    @pytest.mark.parametrize("term", ["nomatch", "%", "7900%", "_", "790050000440", "٧٩٠٠"])
    def test_anything_else_finds_nothing_and_says_how_to_search(self, admin_client, log, term):
        response = admin_client.get(MESSAGES, {"q": term})

        assert _phones(response) == []
        assert "A phone number or its first digits" in response.content.decode()

    def test_a_search_lists_by_phone_and_each_phone_newest_first(self, admin_client, log):
        response = admin_client.get(MESSAGES, {"q": "7900"})

        ids = [
            int(i) for i in re.findall(r'<th class="field-id"><a href="[^"]*">([0-9]+)</a>', response.content.decode())
        ]
        assert _phones(response) == ["79004999999", "79005000044", "79005000044", "79005999999", "79006000000"]
        assert ids[1:3] == [log[4].pk, log[0].pk]


class TestSorts:
    def test_the_unfiltered_log_is_newest_first_and_sorts_by_id_or_phone_only(self, admin_client, log):
        response = admin_client.get(MESSAGES)

        assert _phones(response) == [m.phone_number for m in reversed(log)]
        assert _sortable(response) == {"id", "phone_number"}

    def test_a_search_sorts_by_phone_only(self, admin_client, log):
        assert _sortable(admin_client.get(MESSAGES, {"q": "7900"})) == {"phone_number"}

    @pytest.mark.parametrize("query", [{"status__exact": "pending"}, {"mailing__id__exact": "1"}])
    def test_a_filtered_log_sorts_by_id_only(self, admin_client, log, query):
        assert _sortable(admin_client.get(MESSAGES, query)) == {"id"}

    def test_a_sort_asked_for_by_phone_descending(self, admin_client, log):
        response = admin_client.get(MESSAGES, {"o": f"-{COLUMN['phone_number']}"})

        assert _phones(response) == sorted((m.phone_number for m in log), reverse=True)

    @pytest.mark.parametrize("column", ["status", "attempts", "sent_at", "created_at", "mailing_id"])
    def test_a_sort_not_offered_is_answered_in_the_default_order(self, admin_client, log, column):
        response = admin_client.get(MESSAGES, {"o": str(COLUMN[column])})

        assert _phones(response) == [m.phone_number for m in reversed(log)]

    def test_a_search_asked_to_sort_by_id_stays_in_phone_order(self, admin_client, log):
        response = admin_client.get(MESSAGES, {"q": "7900", "o": str(COLUMN["id"])})

        assert _phones(response) == ["79004999999", "79005000044", "79005000044", "79005999999", "79006000000"]

    def test_a_filtered_log_asked_to_sort_by_phone_stays_in_id_order(self, admin_client, log):
        response = admin_client.get(MESSAGES, {"status__exact": "pending", "o": str(COLUMN["phone_number"])})

        assert _phones(response) == [m.phone_number for m in reversed(log)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans of PostgreSQL")
class TestEveryOfferedPageIsAnIndexWalk:
    """With sequential scans, bitmap scans and sorts priced out (the planner's choice on ten rows is
    not its choice on ten million), a page that no index serves still plans a Seq Scan, a page
    whose order no index gives still plans a Sort of every matching row, and a page whose filter
    no index leads with plans an index walked in order with a Filter that may pass over millions
    of rows before it finds a page of them. None may appear (a Filter is allowed on the second
    condition of two)."""

    @pytest.mark.parametrize(
        "query",
        [
            {},
            {"o": str(COLUMN["id"])},
            {"o": str(COLUMN["phone_number"])},
            {"o": f"-{COLUMN['phone_number']}"},
            {"q": "+7 900 500"},
            {"q": "79005000044"},
            {"q": "7900", "o": f"-{COLUMN['phone_number']}"},
            {"status__exact": "cancelled"},
            {"status__exact": "failed", "o": f"-{COLUMN['id']}"},
            {"mailing__id__exact": "1"},
        ],
    )
    def test_its_plan(self, admin_client, log, query):
        response = admin_client.get(MESSAGES, query)
        assert response.status_code == 200
        changelist = response.context["cl"]
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off")
            try:
                plan = changelist.queryset[:100].explain()
            finally:
                cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort")

        assert "Seq Scan" not in plan, plan
        assert not re.search(r"^(\s*->)?\s*Sort\s+\(", plan, re.M), plan  # an Incremental Sort sorts one phone's rows
        assert "Filter:" not in plan, plan

    @pytest.mark.parametrize("statuses", ["sent", ["pending", "sending"]])  # waiting: a statistics link
    def test_two_filters_walk_the_index_of_one(self, admin_client, log, statuses):
        mailing_id = log[0].mailing_id
        MailingFactory()  # with one mailing the admin leaves its filter out, all messages being its
        response = admin_client.get(MESSAGES, {"mailing__id__exact": mailing_id, "status__exact": statuses})
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off")
            try:
                plan = response.context["cl"].queryset[:100].explain()
            finally:
                cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort")

        assert "Seq Scan" not in plan, plan
        assert "Index Cond" in plan, plan
        assert f"mailing_id = {mailing_id}" in plan, plan
        if isinstance(statuses, list):  # two statuses: the mailing's index leads, not the primary key's
            assert f"Index Cond: (mailing_id = {mailing_id})" in plan, plan


class TestDeepPages:
    @pytest.fixture
    def shallow(self, monkeypatch):
        from mailings import paginators

        monkeypatch.setattr(paginators.ShallowPages, "deepest_offset", 2)
        monkeypatch.setattr(MessageAdmin, "list_per_page", 1)

    def test_the_last_pages_of_a_known_count_are_read_from_the_end(self, admin_client, log, shallow):
        mailing_id = log[0].mailing_id

        page = admin_client.get(MESSAGES, {"mailing__id__exact": mailing_id, "p": "6"})

        assert _phones(page) == [log[0].phone_number]  # newest first: the oldest is the last page

    def test_links_go_only_to_pages_that_can_be_read(self, admin_client, log, shallow, monkeypatch):
        from mailings import paginators

        monkeypatch.setattr(paginators.ShallowPages, "deepest_offset", 1)
        mailing = {"mailing__id__exact": log[0].mailing_id}
        page = admin_client.get(MESSAGES, mailing).content.decode()

        linked = {int(n) for n in re.findall(r'href="\?[^"]*p=([0-9]+)"', page)}
        assert linked == {2, 5, 6}  # a row a page: 1-2 from the start, 5-6 from the end; 3 and 4 too deep
        assert admin_client.get(MESSAGES, {**mailing, "p": "2"}).status_code == 200
        assert admin_client.get(MESSAGES, {**mailing, "p": "3"}).status_code == 302  # refused: back to the list

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
    def test_an_estimated_count_reads_no_page_from_the_end(self, log, shallow, monkeypatch):
        from mailings import paginators
        from mailings.models import Message

        monkeypatch.setattr(paginators.EstimatedCountPaginator, "exact_below", 1)
        monkeypatch.setattr(paginators, "_query_estimate", lambda queryset: 40)  # six messages are there
        paginator = paginators.EstimatedCountPaginator(Message.objects.filter(status="pending").order_by("-id"), 1)

        assert paginator.count == 40
        assert [paginator.is_cheap(n) for n in (1, 3, 4, 39, 40)] == [True, True, False, False, False]
        with pytest.raises(paginators.PageTooDeep):
            paginator.page(40)
        assert 40 not in list(paginator.get_elided_page_range(1))
