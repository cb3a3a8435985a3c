"""Lists stay JSON arrays (the original API's shape); paging travels in headers.

`?page=` and `?page_size=` (default 100, at most 1000) read the first and the last pages of
any list; `?cursor=` reads any depth at the cost of the first (a range over the primary
key, where a page number is an OFFSET that walks every row before it). The answer carries
`X-Total-Count` and an RFC 8288 `Link` header with first/prev/next/last: page numbers where
they are cheap, cursors where they are not (mailings/paginators.py draws the line).
"""

import base64
import binascii

from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from mailings.paginators import KnownCountPaginator, PageTooDeep

MAX_PAGE_SIZE = 1000

PAGINATION_HEADERS = [
    OpenApiParameter(
        "X-Total-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=True, description="Items in all pages."
    ),
    OpenApiParameter(
        "Link",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=True,
        description='Links to the other pages: `<url>; rel="next"`, with rel first, prev, next and last.',
    ),
]


def _positive_int(raw: str, name: str, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" from 1 to {maximum}" if maximum else " of 1 or more"
        raise ValidationError({name: [f"{raw!r} is not valid: expected a whole number{bound}."]})
    return value


class Cursor:
    """A position in a list ordered by id: the rows after an id, or the rows before one.

    Opaque to clients (URL-safe base64 of `a<id>` or `b<id>`); they only follow links."""

    def __init__(self, direction: str, key: int) -> None:
        self.direction, self.key = direction, key

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.direction}{self.key}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
            direction, key = text[0], int(text[1:])
            if direction not in "ab" or key < 0 or not text[1:].isdigit():
                raise ValueError
        except (ValueError, IndexError, UnicodeDecodeError, binascii.Error):
            raise ValidationError({"cursor": [f"{raw!r} is not a cursor: follow the Link header's links."]}) from None
        return cls(direction, key)


class LinkHeaderPagination(PageNumberPagination):
    page_size = 100  # the API's default page size; REST_FRAMEWORK sets no PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"
    known_count: int | None = None  # set before paginating when the total is known already

    def django_paginator_class(self, *args, **kwargs) -> Paginator:
        return KnownCountPaginator(*args, count=self.known_count, **kwargs)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _positive_int(raw, self.page_size_query_param, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.cursor = None
        raw_cursor = request.query_params.get(self.cursor_query_param)
        raw_page = request.query_params.get(self.page_query_param)
        if raw_cursor is not None:
            if raw_page is not None:
                raise ValidationError({self.cursor_query_param: ["Give either a cursor or a page, not both."]})
            return self._paginate_by_cursor(queryset, Cursor.decode(raw_cursor))
        if raw_page is not None and raw_page not in self.last_page_strings:
            _positive_int(raw_page, self.page_query_param)
        try:
            rows = super().paginate_queryset(queryset, request, view)
        except NotFound as error:
            if isinstance(error.__context__, PageTooDeep):  # DRF raises NotFound while handling it
                raise ValidationError(
                    {self.page_query_param: [f"{error.__context__} Follow the Link header's cursor links instead."]}
                ) from None
            raise
        self.paginator = self.page.paginator
        return rows

    def _paginate_by_cursor(self, queryset, cursor: Cursor) -> list:
        if tuple(queryset.query.order_by) != ("id",):
            raise ImproperlyConfigured("Cursor pages need a list ordered by id alone.")
        size = self.get_page_size(self.request)
        self.paginator = self.django_paginator_class(queryset, size)
        if cursor.direction == "a":
            rows = list(queryset.filter(id__gt=cursor.key)[: size + 1])
            more_after, more_before, rows = len(rows) > size, True, rows[:size]
        else:
            rows = list(queryset.filter(id__lt=cursor.key).order_by("-id")[: size + 1])
            more_before, more_after, rows = len(rows) > size, True, rows[:size][::-1]
        self.cursor = cursor
        self.page = None
        self.rows, self.more_before, self.more_after = rows, more_before and bool(rows), more_after and bool(rows)
        return rows

    def _cursor_link(self, direction: str, key: int) -> str:
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, Cursor(direction, key).encode())

    def _page_link(self, number: int) -> str:
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def _links(self) -> list[tuple[str, str]]:
        paginator = self.paginator
        links = []
        if paginator.num_pages > 1 or self.cursor is not None:
            links.append((self._page_link(1), "first"))
        if self.cursor is not None:  # the neighbours of a cursor page are cursor pages
            if self.more_before:
                links.append((self._cursor_link("b", self.rows[0].pk), "prev"))
            if self.more_after:
                links.append((self._cursor_link("a", self.rows[-1].pk), "next"))
        else:  # by number where that is cheap, else by cursor from this page's rows
            number, rows = self.page.number, list(self.page.object_list)
            # (No rows although the count said so: rows went between the count and the read.)
            if self.page.has_previous() and (rows or paginator.is_cheap(number - 1)):
                cheap = paginator.is_cheap(number - 1)
                links.append((self._page_link(number - 1) if cheap else self._cursor_link("b", rows[0].pk), "prev"))
            if self.page.has_next() and (rows or paginator.is_cheap(number + 1)):
                cheap = paginator.is_cheap(number + 1)
                links.append((self._page_link(number + 1) if cheap else self._cursor_link("a", rows[-1].pk), "next"))
        if paginator.num_pages > 1 or self.cursor is not None:
            links.append((self._page_link(paginator.num_pages), "last"))
        return links

    def get_headers(self) -> dict[str, str]:
        headers = {"X-Total-Count": str(self.paginator.count)}
        links = self._links()
        if links:
            headers["Link"] = ", ".join(f'<{link}>; rel="{rel}"' for link, rel in links)
        return headers

    def get_paginated_response(self, data) -> Response:
        return Response(data, headers=self.get_headers())

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return schema

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """The list endpoints' query parameters (the statistics actions list PAGE_PARAMETERS)."""

        def query(name: str, kind: str, description: str) -> dict:  # an OpenAPI parameter
            schema = {"type": kind}
            return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

        return [
            query(self.page_query_param, "integer", PAGE_DESCRIPTION),
            query(self.page_size_query_param, "integer", PAGE_SIZE_DESCRIPTION),
            query(self.cursor_query_param, "string", CURSOR_DESCRIPTION),
        ]


PAGE_DESCRIPTION = (
    "Page number from 1, or `last`. Pages are read by number within 10,000 rows of either end of the "
    "list; deeper, follow the `Link` header's cursor links."
)
PAGE_SIZE_DESCRIPTION = f"Items per page, 1 to {MAX_PAGE_SIZE}."
CURSOR_DESCRIPTION = (
    "A position in the list, from a `Link` header's prev or next link (opaque): any depth costs the same. "
    "Not with `page`."
)
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY, description=PAGE_DESCRIPTION),
    OpenApiParameter("page_size", OpenApiTypes.INT, OpenApiParameter.QUERY, description=PAGE_SIZE_DESCRIPTION),
    OpenApiParameter("cursor", OpenApiTypes.STR, OpenApiParameter.QUERY, description=CURSOR_DESCRIPTION),
]
