"""The account and roles made from the provider's claims (mailings/sso/services.py), whatever the claims hold."""

import pytest

from mailings.models import SsoIdentity
from mailings.sso.errors import SsoRefused
from mailings.sso.services import sso_roles, sso_user_sign_in

pytestmark = pytest.mark.django_db
ISSUER = "https://id.example.com"


@pytest.fixture(autouse=True)
def groups(settings):
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_OPERATOR_GROUPS, settings.OIDC_VIEWER_GROUPS, settings.OIDC_ADMIN_GROUPS = ["ops"], ["view"], ["adm"]


class TestRoles:
    @pytest.mark.parametrize(
        ("claim", "roles"),
        [
            (["ops", "other"], (False, True, False)),
            ("view", (False, False, True)),  # one group as a string (Google's `hd`)
            (["adm", "ops", "view"], (True, True, True)),
            (None, (False, False, False)),
            ({"ops": True}, (False, False, False)),  # neither a list nor a name
            (["OPS"], (False, False, False)),  # names are matched exactly
        ],
    )
    def test_it_reads_the_groups_claim(self, claim, roles):
        found = sso_roles({"groups": claim})
        assert (found.admin, found.operator, found.viewer) == roles


class TestSignIn:
    def test_claims_that_do_not_fit_are_left_out_not_a_server_error(self):
        claims = {"sub": "s1", "groups": ["ops"], "email": "a" * 250 + "@example.com", "given_name": 42,
                  "family_name": "N" * 400, "preferred_username": "name with spaces/and slashes"}  # fmt: skip
        user = sso_user_sign_in(issuer=ISSUER, claims=claims)
        assert (user.email, user.first_name, len(user.last_name)) == ("", "", 150)
        assert user.username == "name-with-spaces-and-slashes"

    def test_a_subject_is_required(self):
        with pytest.raises(SsoRefused, match="no subject"):
            sso_user_sign_in(issuer=ISSUER, claims={"groups": ["ops"], "email": "a@example.com"})

    def test_the_same_subject_at_another_issuer_is_another_person(self):
        first = sso_user_sign_in(issuer=ISSUER, claims={"sub": "s1", "groups": ["ops"], "preferred_username": "sam"})
        other = sso_user_sign_in(issuer="https://other.example.com", claims={"sub": "s1", "groups": ["ops"]})
        assert first.pk != other.pk
        assert SsoIdentity.objects.filter(subject="s1").count() == 2
