"""The API's reference: its OpenAPI schema for scripts, its Swagger UI page for people.

Both answer only to a user who may read the API (`permissions.may_read_the_api`, set as
drf-spectacular's SERVE_PERMISSIONS): the schema with the API's JSON 401 or 403, the page
with the admin login for a browser without a session, then a 403 page.
"""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer


class SchemaView(SpectacularAPIView):
    """The schema, YAML or JSON (`?format=json`); a refusal is the API's JSON error in either case,
    not an error body dressed as an OpenAPI document."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


schema = SchemaView.as_view()
# The page is for people: without a session they are sent to the admin login, not given a 401.
# Swagger UI with its start-up script served apart, at /docs/?script: the Content-Security-Policy
# refuses inline scripts (and templates/docs/swagger_ui.html has no inline style). Its stylesheet
# draws its icons from data: URLs, which this page alone allows.
docs_page = login_required(
    csp_update({"img-src": ["data:"]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="docs/swagger_ui.html")
    )
)
