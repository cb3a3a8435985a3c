"""Django model permissions decide what a token may do, reading included.

Who may read the API is decided here, once: `may_read_the_api`. Its docs page and schema
answer only to such a user, and `OPTIONS` (which describes an endpoint) asks what `GET` asks.
"""

from rest_framework.permissions import BasePermission, DjangoModelPermissions

# The models of `mailings` the API serves (its viewsets' querysets; a test holds the two together).
API_MODELS = ("client", "mailing", "message", "suppression")


def may_read_the_api(user) -> bool:
    """An active, authenticated user (token or admin session) who may read at least one of the
    API's models: the schema describes every operation, so reading one part of the API is enough
    to read the description of all of it (each operation still answers 403 to a user without its
    permission)."""
    if not (user and user.is_authenticated):
        return False
    return any(user.has_perm(f"mailings.view_{model}") for model in API_MODELS)


class CanReadTheApi(BasePermission):
    """For the schema and the docs page (drf-spectacular's SERVE_PERMISSIONS)."""

    message = (
        "Reading the API and its schema needs the view permission of clients, mailings, messages or the "
        "do-not-contact list."
    )

    def has_permission(self, request, view) -> bool:
        return may_read_the_api(request.user)


class ModelPermissions(DjangoModelPermissions):
    """Like DRF's, but reading needs the `view_<model>` permission too (no anonymous access), and so
    does `OPTIONS`, which DRF lets any authenticated user call: it describes the endpoint's fields."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class CanViewMessages(BasePermission):
    """For pages that list a mailing's messages: reading messages needs `view_message`."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("mailings.view_message"))


class CanChangeMailings(BasePermission):
    """Controlling a mailing (pause, resume, cancel, processing now) needs `change_mailing`, whatever the
    method: `GET` and `OPTIONS` of these endpoints too."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("mailings.change_mailing"))


class CanAddMailings(BasePermission):
    """Cloning a mailing makes one: it needs `add_mailing` (and `view_mailing`, to see the original)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.has_perms(["mailings.add_mailing", "mailings.view_mailing"])
        )
