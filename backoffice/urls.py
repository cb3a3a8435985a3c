"""URLs: the admin, the API docs and the JSON API at the original Mailer API's paths."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from backoffice import ops
from mailings.api import docs


class FaviconRedirect(RedirectView):
    """Browsers ask /favicon.ico of pages without a <link rel="icon"> (the API's JSON)."""

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("mailings/favicon.svg")  # at request time: the collected name carries a hash


urlpatterns = [
    path("favicon.ico", FaviconRedirect.as_view(), name="favicon"),
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/sso/", include("mailings.sso.urls")),  # single sign-on (docs/sso.md); 404 while it is off
    path("admin/", admin.site.urls),
    path("docs/schema/", docs.schema, name="schema"),
    path("docs/", docs.docs_page, name="docs"),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("", include("mailings.api.urls")),
]

# The API answers JSON, the admin and the docs pages HTML, whatever goes wrong.
handler400 = "mailings.api.errors.bad_request"
handler403 = "mailings.api.errors.permission_denied"
handler404 = "mailings.api.errors.not_found"
handler500 = "mailings.api.errors.server_error"
