"""Thin API views: parse with a serializer, call a service or a selector, answer."""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mailings import selectors, services
from mailings.api.filters import ClientFilter, MailingFilter, MessageFilter
from mailings.api.pagination import PAGE_PARAMETERS, PAGINATION_HEADERS
from mailings.api.permissions import CanViewMessages, ModelPermissions
from mailings.api.serializers import (
    ClientSerializer,
    MailingSerializer,
    MailingStatisticsSerializer,
    MessageSerializer,
    OverallStatisticsSerializer,
)
from mailings.models import Client, Mailing, Message


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD whose writes go through `services`: `<entity>_create/update/delete`."""

    lookup_value_regex = r"\d+"
    entity: str  # the services' keyword for the instance, e.g. "client"
    create_service: Callable[..., Any]
    update_service: Callable[..., Any]
    delete_service: Callable[..., None]

    def perform_create(self, serializer) -> None:
        serializer.instance = type(self).create_service(**serializer.validated_data)

    def perform_update(self, serializer) -> None:
        serializer.instance = type(self).update_service(
            **{self.entity: serializer.instance}, **serializer.validated_data
        )

    def perform_destroy(self, instance) -> None:
        type(self).delete_service(**{self.entity: instance})


@extend_schema_view(list=extend_schema(parameters=PAGINATION_HEADERS))
class ClientViewSet(ServiceModelViewSet):
    """Clients: the directory of phones that mailings go to."""

    queryset = Client.objects.order_by("id")
    serializer_class = ClientSerializer
    filterset_class = ClientFilter
    entity = "client"
    create_service = staticmethod(services.client_create)
    update_service = staticmethod(services.client_update)
    delete_service = staticmethod(services.client_delete)


@extend_schema_view(list=extend_schema(parameters=PAGINATION_HEADERS))
class MailingViewSet(ServiceModelViewSet):
    """Mailings. A mailing that has messages cannot be deleted (409): cancel it instead."""

    queryset = Mailing.objects.order_by("id")
    serializer_class = MailingSerializer
    filterset_class = MailingFilter
    entity = "mailing"
    create_service = staticmethod(services.mailing_create)
    update_service = staticmethod(services.mailing_update)
    delete_service = staticmethod(services.mailing_delete)

    @extend_schema(
        operation_id="mailings_statistics_retrieve",
        summary="Statistics of one mailing",
        responses=MailingStatisticsSerializer,
        parameters=[*PAGE_PARAMETERS, *PAGINATION_HEADERS],
    )
    @action(
        detail=True, url_path="statistics", filter_backends=[], permission_classes=[ModelPermissions, CanViewMessages]
    )
    def statistics(self, request: Request, pk: str) -> Response:
        mailing = self.get_object()
        counts = selectors.mailing_message_counts(mailing=mailing)
        messages = self.paginate_queryset(selectors.mailing_messages(mailing=mailing))
        data = {
            "mailing": mailing,
            "messages_total": sum(counts.values()),
            "messages_by_status": counts,
            "messages": messages,
        }
        return Response(MailingStatisticsSerializer(data).data, headers=self.paginator.get_headers())

    @extend_schema(
        operation_id="mailings_statistics_overall",
        summary="Statistics of all mailings",
        responses=OverallStatisticsSerializer,
        parameters=[*PAGE_PARAMETERS, *PAGINATION_HEADERS],
    )
    @action(
        detail=False,
        url_path="statistics",
        filter_backends=[],
        permission_classes=[ModelPermissions, CanViewMessages],
    )
    def overall_statistics(self, request: Request) -> Response:
        mailings = self.paginate_queryset(self.get_queryset())
        counts = selectors.message_counts_by_mailing(mailing_ids=[mailing.pk for mailing in mailings])
        totals = selectors.message_counts_total()
        mailings_by_status = selectors.mailing_counts_by_status()
        data = {
            "mailings_total": sum(mailings_by_status.values()),
            "mailings_by_status": mailings_by_status,
            "messages_total": sum(totals.values()),
            "messages_by_status": totals,
            "mailings": [
                {
                    "id": mailing.pk,
                    "status": mailing.status,
                    "start_datetime": mailing.start_datetime,
                    "end_datetime": mailing.end_datetime,
                    "message_text": mailing.message_text,
                    "messages_total": sum(counts[mailing.pk].values()),
                    "messages_by_status": counts[mailing.pk],
                }
                for mailing in mailings
            ],
        }
        return Response(OverallStatisticsSerializer(data).data, headers=self.paginator.get_headers())


@extend_schema_view(list=extend_schema(parameters=PAGINATION_HEADERS))
class MessageViewSet(ServiceModelViewSet):
    """Messages: the delivery record. Writing needs the add/change/delete_message permission."""

    queryset = Message.objects.order_by("id")
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    entity = "message"
    create_service = staticmethod(services.message_create)
    update_service = staticmethod(services.message_update)
    delete_service = staticmethod(services.message_delete)
