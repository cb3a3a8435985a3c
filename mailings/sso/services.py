"""Signing a person in from the identity provider's claims: their account here, matched on the
provider's `sub` (never on an e-mail, which changes and may belong to a password account), and
their roles set from the groups claim at every sign-in.
"""

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from mailings.models import SsoIdentity
from mailings.sso.errors import SsoRefused

logger = logging.getLogger(__name__)

OPERATORS, VIEWERS = "Operators", "Viewers"  # the groups of mailings/migrations/0003_operator_groups.py
USERNAME_MAX = 150


@dataclass(frozen=True)
class Roles:
    admin: bool
    operator: bool
    viewer: bool

    @property
    def any(self) -> bool:
        return self.admin or self.operator or self.viewer


def sso_roles(claims: dict) -> Roles:
    """The roles the groups claim (OIDC_GROUPS_CLAIM) maps to: a list of names, or one name."""
    raw = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    names = {raw} if isinstance(raw, str) else {str(name) for name in raw} if isinstance(raw, list) else set()
    return Roles(
        admin=bool(names & set(settings.OIDC_ADMIN_GROUPS)),
        operator=bool(names & set(settings.OIDC_OPERATOR_GROUPS)),
        viewer=bool(names & set(settings.OIDC_VIEWER_GROUPS)),
    )


def sso_user_sign_in(*, issuer: str, claims: dict):
    """The user these claims sign in as, created on the first sign-in, with e-mail, names and roles
    refreshed. SsoRefused when the person has no mapped group; an account they had loses staff
    status and its roles here first, so that an admin list shows them as they are upstream."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SsoRefused("The identity provider sent no subject (`sub`) for this person.")
    roles = sso_roles(claims)
    try:
        user = _apply(issuer=issuer, subject=subject, claims=claims, roles=roles)
    except IntegrityError:  # the same person's first sign-in in two tabs at once: the other one won
        user = _apply(issuer=issuer, subject=subject, claims=claims, roles=roles)
    if user is None:
        logger.warning("sso refused: no mapped group", extra={"sso_subject": subject})
        raise SsoRefused(
            "Your account at the identity provider is in none of the groups that may use this back-office "
            f"(its “{settings.OIDC_GROUPS_CLAIM}” claim). Ask your administrator to add you to the operators' "
            "or the viewers' group, then sign in again."
        )
    if not user.is_active:
        raise SsoRefused("Your account here is deactivated. Ask an administrator of the back-office.")
    return user


@transaction.atomic
def _apply(*, issuer: str, subject: str, claims: dict, roles: Roles):
    identity = (
        SsoIdentity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
    )
    if identity is None and not roles.any:
        return None  # nobody to create
    if identity is None:
        User = get_user_model()
        user = User(username=_free_username(claims, subject))
        user.set_unusable_password()
        identity = SsoIdentity(issuer=issuer, subject=subject)
    else:
        user = identity.user
    user.email = _text(claims, "email", 254) or user.email
    user.first_name = _text(claims, "given_name", 150) or user.first_name
    user.last_name = _text(claims, "family_name", 150) or user.last_name
    user.is_staff = roles.any
    user.is_superuser = roles.admin
    user.save()
    identity.user = user
    identity.last_login_at = timezone.now()
    identity.save()
    ours = {group.name: group for group in Group.objects.filter(name__in=[OPERATORS, VIEWERS])}
    granted = {OPERATORS: roles.operator, VIEWERS: roles.viewer}
    user.groups.remove(*(ours[name] for name, on in granted.items() if not on and name in ours))
    user.groups.add(*(ours[name] for name, on in granted.items() if on and name in ours))
    return user if roles.any else None


def _text(claims: dict, name: str, longest: int) -> str:
    """A text claim that fits its column: "" when it is missing, not text, or an e-mail too long to keep."""
    value = claims.get(name)
    if not isinstance(value, str) or (name == "email" and len(value) > longest):
        return ""
    return value.strip()[:longest]


def _free_username(claims: dict, subject: str) -> str:
    """preferred_username, else the e-mail, else the subject, in Django's user name characters;
    `-2`, `-3`... after it when the name is taken (by a password account too: never taken over)."""
    wanted = _text(claims, "preferred_username", USERNAME_MAX) or _text(claims, "email", 254) or subject
    base = re.sub(r"[^\w.@+-]", "-", str(wanted))[: USERNAME_MAX - 8] or "sso-user"
    User = get_user_model()
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name
