"""Thin API views: parse with a serializer, call a service or a selector, answer."""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mailings import selectors, services
from mailings.api.filters import ClientFilter, MailingFilter, MessageFilter
from mailings.api.pagination import PAGE_PARAMETERS, PAGINATION_HEADERS
from mailings.api.permissions import CanAddMailings, CanChangeMailings, CanViewMessages, ModelPermissions
from mailings.api.serializers import (
    ActivationSerializer,
    ClientSerializer,
    MailingSavedSerializer,
    MailingSerializer,
    MessageSerializer,
    RetriedSerializer,
)
from mailings.api.statistics_serializers import MailingStatisticsSerializer, OverallStatisticsSerializer
from mailings.delivery_selectors import delivery_counts_by_mailing, delivery_counts_total, delivery_summary
from mailings.models import Client, Mailing, Message
from mailings.outcomes import success_rate
from mailings.services import history


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD whose writes go through `services`: `<entity>_create/update/delete`."""

    lookup_value_regex = r"[0-9]+"
    entity: str  # the services' keyword for the instance, e.g. "client"
    create_service: Callable[..., Any]
    update_service: Callable[..., Any]
    delete_service: Callable[..., None]

    def service_context(self) -> dict[str, Any]:
        """What the services take besides the data: a mailing's History is told who, and from where."""
        return {}

    def perform_create(self, serializer) -> None:
        serializer.instance = type(self).create_service(**serializer.validated_data, **self.service_context())

    def perform_update(self, serializer) -> None:
        serializer.instance = type(self).update_service(
            **{self.entity: serializer.instance}, **serializer.validated_data, **self.service_context()
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

    def service_context(self) -> dict[str, Any]:
        return {"actor": self.request.user, "via": history.API}

    def get_serializer_class(self):
        # Create and update answer with the guard rails' warnings (mailings/guard_rails.py).
        if self.action in ("create", "update", "partial_update"):
            return MailingSavedSerializer
        return MailingSerializer

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
        self.paginator.known_count = sum(counts.values())  # no COUNT(*) over a million messages
        messages = self.paginate_queryset(selectors.mailing_messages(mailing=mailing))
        data = {
            "mailing": mailing,
            "messages_total": sum(counts.values()),
            "messages_by_status": counts,
            "success_rate": success_rate(counts=counts),
            "left_out_do_not_contact": mailing.left_out_do_not_contact,
            "parts_sent": selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk])[mailing.pk],
            "delivery": delivery_summary(delivery_counts_by_mailing(mailing_ids=[mailing.pk])[mailing.pk]),
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
        overall = selectors.mailing_statistics_overall()
        parts = selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk for mailing in mailings])
        delivery = delivery_counts_by_mailing(mailing_ids=[mailing.pk for mailing in mailings])
        data = {
            **overall,
            "success_rate": success_rate(counts=overall["messages_by_status"]),
            "left_out_do_not_contact": selectors.left_out_do_not_contact_total(),
            "delivery": delivery_summary(delivery_counts_total()),
            "mailings": [
                {
                    "id": mailing.pk,
                    "status": mailing.status,
                    "start_datetime": mailing.start_datetime,
                    "end_datetime": mailing.end_datetime,
                    "message_text": mailing.message_text,
                    "messages_total": sum(counts[mailing.pk].values()),
                    "messages_by_status": counts[mailing.pk],
                    "success_rate": success_rate(counts=counts[mailing.pk]),
                    "left_out_do_not_contact": mailing.left_out_do_not_contact,
                    "parts_sent": parts[mailing.pk],
                    "delivery": delivery_summary(delivery[mailing.pk]),
                }
                for mailing in mailings
            ],
        }
        return Response(OverallStatisticsSerializer(data).data, headers=self.paginator.get_headers())

    def _control(self, service: Callable[..., Mailing]) -> Response:
        mailing = service(mailing=self.get_object(), **self.service_context())
        return Response(MailingSerializer(mailing).data)

    @extend_schema(
        summary="Clone: a paused copy",
        description=(
            "A new mailing with the same text, filter and sending window, as long as the original, starting at "
            "the original's start if that is still ahead, else now. It is made `paused`: nothing is sent until "
            "`POST /mailings/<id>/resume/`. Both mailings' History notes the clone. 201 with the copy; 400 when "
            "the original's text is over the limit on parts (saved before it)."
        ),
        request=None,
        responses={201: MailingSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CanAddMailings])
    def clone(self, request: Request, pk: str) -> Response:
        copy = services.mailing_clone(mailing=self.get_object(), **self.service_context())
        return Response(MailingSerializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Retry the failed messages",
        description=(
            "Puts the mailing's `failed` messages (and only those) back to waiting with fresh attempts, due now; "
            "a mailing finished early runs again. Answers how many moved. 409 when the mailing has ended, is "
            "cancelled, or has no failed messages. Noted in the mailing's History."
        ),
        request=None,
        responses={200: RetriedSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="retry-failed",
        filter_backends=[],
        permission_classes=[CanChangeMailings],
    )
    def retry_failed(self, request: Request, pk: str) -> Response:
        retried = services.mailing_retry_failed(mailing=self.get_object(), **self.service_context())
        return Response(RetriedSerializer({"retried": retried}).data)

    @extend_schema(summary="Pause sending", request=None, responses=MailingSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CanChangeMailings])
    def pause(self, request: Request, pk: str) -> Response:
        """Stop sending until resumed; batches already out stop within a second. 409 if it cannot be paused."""
        return self._control(services.mailing_pause)

    @extend_schema(summary="Resume sending", request=None, responses=MailingSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CanChangeMailings])
    def resume(self, request: Request, pk: str) -> Response:
        return self._control(services.mailing_resume)

    @extend_schema(summary="Cancel for good", request=None, responses=MailingSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CanChangeMailings])
    def cancel(self, request: Request, pk: str) -> Response:
        """Waiting messages become cancelled; messages already sent stay in the statistics."""
        return self._control(services.mailing_cancel)


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

    def list(self, request: Request, *args, **kwargs) -> Response:
        # X-Total-Count from the message counts when the filters are ones they know (all
        # messages, a mailing's, a status'): COUNT(*) over ten million rows takes most of a second.
        filters = set(request.query_params) - {"page", "page_size", "cursor"}
        if filters <= {"mailing", "status"}:
            form = self.filterset_class(request.query_params, queryset=self.get_queryset()).form
            if form.is_valid():  # an invalid filter is answered with its 400 by the usual path
                mailing = form.cleaned_data.get("mailing")
                self.paginator.known_count = selectors.message_total(
                    mailing_id=mailing.pk if mailing else None, status=form.cleaned_data.get("status") or None
                )
        return super().list(request, *args, **kwargs)


class ActivateMailingView(APIView):
    """`/activate_mailing/` from the original API: the provider's state and the overall statistics.

    POST also queues a processing pass for the workers (on the tick's queue) and answers at
    once, without waiting for it: a pass over a large mailing takes longer than a proxy
    waits. GET only reads: the periodic tick runs the pass anyway, and a poll of the
    provider's state should not pile passes onto the queue.
    """

    permission_classes = [CanChangeMailings, CanViewMessages]

    def _answer(self, *, task_id: str | None, answer_status: int) -> Response:
        data = {"queued": task_id is not None, "task_id": task_id, "provider": selectors.provider_status()}
        body = {**data, **selectors.mailing_statistics_overall()}
        return Response(ActivationSerializer(body).data, status=answer_status)

    @extend_schema(
        summary="Queue a processing pass now",
        description=(
            "Queues a processing pass (start due mailings, queue due messages, finish ended ones) for the "
            "workers and answers at once with 202, the provider's state and the overall statistics as they "
            "are now. 503 when the broker does not answer."
        ),
        request=None,
        responses={202: ActivationSerializer},
    )
    def post(self, request: Request) -> Response:
        task_id = services.mailings_process_now()
        return self._answer(task_id=task_id, answer_status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The provider's state and the overall statistics (queues nothing)",
        description="The same answer as POST's, with `queued` false: the periodic tick processes the mailings.",
        responses=ActivationSerializer,
    )
    def get(self, request: Request) -> Response:
        return self._answer(task_id=None, answer_status=status.HTTP_200_OK)
