"""Lists stay JSON arrays (the original API's shape); paging travels in headers.

`?page=` and `?page_size=` (default 100, at most 1000); the answer carries
`X-Total-Count` and an RFC 8288 `Link` header with first/prev/next/last.
"""

from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from mailings.paginators import KnownCountPaginator

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


class LinkHeaderPagination(PageNumberPagination):
    page_size = 100  # the API's default page size; REST_FRAMEWORK sets no PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 1000
    known_count: int | None = None  # set before paginating when the total is known already

    def django_paginator_class(self, *args, **kwargs) -> Paginator:
        return KnownCountPaginator(*args, count=self.known_count, **kwargs)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _positive_int(raw, self.page_size_query_param, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        raw_page = request.query_params.get(self.page_query_param)
        if raw_page is not None and raw_page not in self.last_page_strings:
            _positive_int(raw_page, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_headers(self) -> dict[str, str]:
        url = self.request.build_absolute_uri()
        paginator = self.page.paginator
        links = []
        if paginator.num_pages > 1:
            links.append((remove_query_param(url, self.page_query_param), "first"))
        if self.page.has_previous():
            links.append((self.get_previous_link(), "prev"))
        if self.page.has_next():
            links.append((self.get_next_link(), "next"))
        if paginator.num_pages > 1:
            links.append((replace_query_param(url, self.page_query_param, paginator.num_pages), "last"))
        headers = {"X-Total-Count": str(paginator.count)}
        if links:
            headers["Link"] = ", ".join(f'<{link}>; rel="{rel}"' for link, rel in links)
        return headers

    def get_paginated_response(self, data) -> Response:
        return Response(data, headers=self.get_headers())

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return schema


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Page number, from 1."),
    OpenApiParameter("page_size", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Items per page, 1 to 1000."),
]
