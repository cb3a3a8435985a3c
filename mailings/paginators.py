"""Paginators for big tables: how many rows, without a COUNT(*) over millions of them.

`KnownCountPaginator` is told the total (the admin's delivery log and the API's lists take
it from the message counts). `EstimatedCountPaginator`, for the admin's big lists:

- Unfiltered: PostgreSQL's row estimate for the table (`pg_class.reltuples`, kept by ANALYZE
  and autovacuum), which costs nothing.
- Filtered or searched: counted exactly up to `exact_below` rows (a count that stops there);
  past that, the planner's estimate for the query, never less than what was counted.

Small tables, SQLite, and lists the estimate cannot help are counted exactly.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_BELOW = 10_000


class KnownCountPaginator(Paginator):
    """A paginator told its total instead of running COUNT(*); `count=None` counts as usual."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, count: int | None, **kwargs):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, **kwargs)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return super().count if self.known_count is None else self.known_count


class EstimatedCountPaginator(Paginator):
    exact_below = EXACT_BELOW

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or connections[queryset.db].vendor != "postgresql":
            return super().count
        if not query.where:
            estimate = _table_estimate(queryset.db, queryset.model._meta.db_table)
            return estimate if estimate is not None and estimate >= self.exact_below else super().count
        counted = queryset.order_by()[: self.exact_below].count()
        if counted < self.exact_below:
            return counted
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
