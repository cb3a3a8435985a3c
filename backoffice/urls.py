"""URLs: the admin, the API docs and the JSON API at the original Mailer API's paths."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backoffice import ops

# Swagger UI with its start-up script served apart, at /docs/?script: the Content-Security-Policy
# refuses inline scripts (and templates/docs/swagger_ui.html has no inline style). Its stylesheet
# draws its icons from data: URLs, which this page alone allows.
swagger_ui = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="docs/swagger_ui.html")
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("docs/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The Swagger UI page is for people: send them to the admin login, not a 401.
    path("docs/", login_required(swagger_ui), name="docs"),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("", include("mailings.api.urls")),
]

# The API answers JSON, the admin and the docs pages HTML, whatever goes wrong.
handler400 = "mailings.api.errors.bad_request"
handler404 = "mailings.api.errors.not_found"
handler500 = "mailings.api.errors.server_error"
