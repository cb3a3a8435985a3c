"""The original Mailer API's paths: /clients/, /mailings/, /messages/ and statistics."""

from rest_framework.routers import SimpleRouter

from mailings.api.views import ClientViewSet, MailingViewSet, MessageViewSet

router = SimpleRouter()
router.register("clients", ClientViewSet, basename="client")
router.register("mailings", MailingViewSet, basename="mailing")
router.register("messages", MessageViewSet, basename="message")

urlpatterns = router.urls
