"""Admin lists over big tables: an unfiltered list takes PostgreSQL's row estimate instead of COUNT(*).

A million clients or ten million messages cost a full scan to count on every page
view; the planner's estimate (`pg_class.reltuples`, kept by ANALYZE and autovacuum)
costs nothing and is close enough to say how many pages there are. Filtered and
searched lists, and small tables, are counted exactly.
"""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_BELOW = 10_000


class EstimatedCountPaginator(Paginator):
    exact_below = EXACT_BELOW

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where:
            estimate = _row_estimate(queryset.db, queryset.model._meta.db_table)
            if estimate is not None and estimate >= self.exact_below:
                return estimate
        return super().count


def _row_estimate(alias: str, table: str) -> int | None:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None  # -1: never analysed
