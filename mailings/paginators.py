"""Paginators for big tables: how many rows, without a COUNT(*) over millions of them.

`KnownCountPaginator` is told the total (the admin's delivery log and the API's lists take
it from the message counts). `EstimatedCountPaginator`, for the admin's big lists:

- Unfiltered: PostgreSQL's row estimate for the table (`pg_class.reltuples`, kept by ANALYZE
  and autovacuum), which costs nothing.
- Filtered or searched: counted exactly up to `exact_below` rows (a count that stops there);
  past that, the planner's estimate for the query, never less than what was counted.

Small tables, SQLite, and lists the estimate cannot help are counted exactly.

Both read a page by its number only where that is cheap (`ShallowPages`): an OFFSET makes
the database walk every row before the page, so a page deeper than `DEEPEST_OFFSET` rows
is read backwards from the end of the list when it is that near the end (the last pages),
and refused otherwise (`PageTooDeep`): the API's cursor links reach any depth instead.
"""

import json

from django.core.paginator import InvalidPage, Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_BELOW = 10_000
# The most rows a page read by its number may skip, from either end of the list: an
# OFFSET of 10,000 over an index costs a few milliseconds, one of 10,000,000 a second.
DEEPEST_OFFSET = 10_000


class PageTooDeep(InvalidPage):
    """A page number further than `DEEPEST_OFFSET` rows from both ends of the list."""


class ShallowPages(Paginator):
    """Pages read by number only near either end of the list (see the module's docstring).

    The list must be ordered (`reverse()` reads it backwards), as every paged list here is.
    """

    deepest_offset = DEEPEST_OFFSET
    # Reading from the end needs the true count: from an estimate, "the last pages" would be
    # rows from the middle, some shown twice.
    count_is_exact = True

    def bounds(self, number: int) -> tuple[int, int]:
        """The page's rows as [bottom, top) from the start of the list."""
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return bottom, top

    def is_cheap(self, number: int) -> bool:
        bottom, top = self.bounds(number)
        return bottom <= self.deepest_offset or self._near_the_end(top)

    def _near_the_end(self, top: int) -> bool:
        remaining = self.count - top  # counts first: an estimate clears count_is_exact
        return self.count_is_exact and remaining <= self.deepest_offset

    def get_elided_page_range(self, number=1, *, on_each_side=3, on_ends=2):
        """The admin's page links: only to pages that can be read (a deep one would be refused)."""
        previous = None
        for item in super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends):
            shown = item if item == self.ELLIPSIS or item == int(number) or self.is_cheap(item) else self.ELLIPSIS
            if shown == self.ELLIPSIS and previous == self.ELLIPSIS:
                continue
            previous = shown
            yield shown

    def page(self, number):
        number = self.validate_number(number)
        bottom, top = self.bounds(number)
        if bottom <= self.deepest_offset:
            return self._get_page(self.object_list[bottom:top], number, self)
        if self._near_the_end(top):  # one of the last pages: read it from the end
            rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
            return self._get_page(rows[::-1], number, self)
        raise PageTooDeep(
            f"Page {number} starts {bottom:,} rows into a list of {self.count:,}: pages are read by number "
            f"within {self.deepest_offset:,} rows of either end."
        )


class KnownCountPaginator(ShallowPages):
    """A paginator told its total instead of running COUNT(*); `count=None` counts as usual."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, count: int | None, **kwargs):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, **kwargs)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return super().count if self.known_count is None else self.known_count


class EstimatedCountPaginator(ShallowPages):
    exact_below = EXACT_BELOW

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or connections[queryset.db].vendor != "postgresql":
            return super().count
        if not query.where:
            estimate = _table_estimate(queryset.db, queryset.model._meta.db_table)
            if estimate is not None and estimate >= self.exact_below:
                self.count_is_exact = False
                return estimate
            return super().count
        counted = queryset.order_by()[: self.exact_below].count()
        if counted < self.exact_below:
            return counted
        self.count_is_exact = False
        return max(counted, _query_estimate(queryset))


def _table_estimate(alias: str, table: str) -> int | None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None  # -1: never analysed


def _query_estimate(queryset) -> int:
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])
