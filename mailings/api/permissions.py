"""Django model permissions decide what a token may do, reading included."""

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Like DRF's, but reading needs the `view_<model>` permission too (no anonymous access)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class CanViewMessages(BasePermission):
    """For pages that list a mailing's messages: reading messages needs `view_message`."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("mailings.view_message"))


class CanChangeMailings(BasePermission):
    """Controlling a mailing (pause, resume, cancel, processing now) needs `change_mailing`."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("mailings.change_mailing"))
