"""The original Mailer API's paths: /clients/, /mailings/, /messages/, statistics, /activate_mailing/; the
do-not-contact list, /suppressions/; and /inbound/<provider>/ and /providers/<provider>/delivery-reports/,
where providers deliver replies and delivery reports."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from mailings.api.delivery_reports import DeliveryReportsView
from mailings.api.inbound import InboundRepliesView
from mailings.api.suppressions import SuppressionViewSet
from mailings.api.views import ActivateMailingView, ClientViewSet, MailingViewSet, MessageViewSet

router = SimpleRouter()
router.register("clients", ClientViewSet, basename="client")
router.register("mailings", MailingViewSet, basename="mailing")
router.register("messages", MessageViewSet, basename="message")
router.register("suppressions", SuppressionViewSet, basename="suppression")

urlpatterns = [
    path("activate_mailing/", ActivateMailingView.as_view(), name="activate-mailing"),
    path("inbound/<str:provider>/", InboundRepliesView.as_view(), name="inbound-replies"),
    path("providers/<str:provider>/delivery-reports/", DeliveryReportsView.as_view(), name="delivery-reports"),
    *router.urls,
]
