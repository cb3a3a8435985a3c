"""/suppressions/: the do-not-contact list. List (filtered by phone and reason), add (201 when new,
200 with the entry when the phone is listed already), and remove by phone (204, 404 when not
listed, 400 naming `phone_number` when the path's is not a phone). The phone in the path is
normalised as everywhere: 8 913 123-45-67 is 79131234567."""

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.request import Request
from rest_framework.response import Response

from mailings import services
from mailings.api.filters import SuppressionFilter
from mailings.api.pagination import PAGINATION_HEADERS
from mailings.api.serializers import SuppressionSerializer
from mailings.models import Suppression

API_SOURCE = "API"
PHONE_IN_PATH = OpenApiParameter(
    "phone_number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The listed phone: 7 and ten digits (8 and ten digits is read as 7).",
)


@extend_schema_view(
    list=extend_schema(parameters=PAGINATION_HEADERS),
    create=extend_schema(
        summary="Put a phone on the do-not-contact list",
        description=(
            "201 with the new entry; 200 with the existing one when the phone is listed already (its reason, "
            "source and time stay). The source is `API`, the user the token's."
        ),
        responses={201: SuppressionSerializer, 200: SuppressionSerializer},
    ),
    destroy=extend_schema(
        summary="Take a phone off the do-not-contact list",
        parameters=[PHONE_IN_PATH],
        responses={
            204: None,
            400: OpenApiResponse(description="The path's phone is not a phone number (`phone_number` says why)."),
            404: OpenApiResponse(description="The phone is not on the list."),
        },
    ),
)
class SuppressionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The do-not-contact list: phones no mailing sends to."""

    queryset = Suppression.objects.select_related("created_by").order_by("id")
    serializer_class = SuppressionSerializer
    filterset_class = SuppressionFilter
    lookup_field = "phone_number"
    lookup_value_regex = r"[^/]+"

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = services.suppression_add(**serializer.validated_data, source=API_SOURCE, actor=request.user)
        answer = status.HTTP_201_CREATED if added.created else status.HTTP_200_OK
        return Response(self.get_serializer(added.suppression).data, status=answer)

    def destroy(self, request: Request, phone_number: str) -> Response:
        try:
            removed = services.suppression_remove(phone_number=phone_number)
        except ValidationError as exc:
            why = f"{phone_number!r} is not a phone number: {' '.join(exc.messages)}"
            raise BadRequest({"phone_number": [why]}) from None
        if not removed:
            raise NotFound(f"{phone_number} is not on the do-not-contact list.")
        return Response(status=status.HTTP_204_NO_CONTENT)
