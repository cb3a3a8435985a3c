"""The sign-in page with SSO on, and ADMIN_PASSWORD_LOGIN=0: SSO only, a password POST refused."""

import os
import subprocess
import sys

import pytest

from backoffice.processes import ROOT
from tests.support.oidc_provider import sso_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("break-glass", password="pw-123456", is_staff=True, is_superuser=True)


class TestSignInPage:
    def test_it_offers_sso_and_the_password_form(self, settings, client):
        sso_settings(settings, "http://localhost:1")
        page = client.get("/admin/login/?next=/admin/mailings/").content.decode()
        assert 'id="sso-login" href="/admin/sso/start/?next=/admin/mailings/"' in page
        assert 'id="id_password"' in page

    def test_password_sign_in_still_works_with_sso_on(self, settings, client, staff):
        sso_settings(settings, "http://localhost:1")
        answer = client.post("/admin/login/", {"username": "break-glass", "password": "pw-123456"})
        assert answer.status_code == 302
        assert client.get("/admin/").status_code == 200


class TestPasswordLoginOff:
    @pytest.fixture(autouse=True)
    def password_off(self, settings):
        sso_settings(settings, "http://localhost:1", ADMIN_PASSWORD_LOGIN=False)

    def test_the_page_has_only_the_sso_button(self, client):
        page = client.get("/admin/login/").content.decode()
        assert 'id="sso-login"' in page
        assert 'id="id_password"' not in page

    def test_a_password_post_is_refused(self, client, staff):
        answer = client.post("/admin/login/", {"username": "break-glass", "password": "pw-123456"})
        assert answer.status_code == 403
        assert "Password sign-in is turned off here" in answer.content.decode()
        assert client.get("/admin/").status_code == 302


def settings_with(**env) -> str:
    """What the settings module makes of this environment, in a fresh process."""
    code = (
        "from django.conf import settings as s; print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']); "
        "print(s.AUTHENTICATION_BACKENDS, s.SSO_ENABLED, s.ADMIN_PASSWORD_LOGIN, s.OIDC_OPERATOR_GROUPS)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_") and k != "ADMIN_PASSWORD_LOGIN"}
    run = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "backoffice.settings", "DEBUG": "1", **env},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return run.stdout + run.stderr


SSO_ENV = {"OIDC_ISSUER": "https://id.example.com/", "OIDC_RP_CLIENT_ID": "bo", "OIDC_OPERATOR_GROUPS": "ops, ,x"}


class TestSettings:
    def test_sso_is_off_without_a_client_id(self):
        assert settings_with().strip().endswith("False True []")

    def test_sso_adds_its_backend_after_the_password_ones(self):
        said = settings_with(**SSO_ENV)
        assert (
            "'django.contrib.auth.backends.ModelBackend', 'mailings.sso.backend.SsoBackend'] True True ['ops', 'x']"
            in said
        )

    def test_the_logout_form_may_lead_to_the_provider(self):
        assert settings_with(**SSO_ENV).startswith("[\"'self'\", 'https://id.example.com']")
        assert settings_with().startswith("[\"'self'\"]")

    def test_password_login_off_leaves_no_password_backend(self):
        said = settings_with(**SSO_ENV, ADMIN_PASSWORD_LOGIN="0")
        assert "['axes.backends.AxesStandaloneBackend', 'mailings.sso.backend.SsoBackend'] True False" in said

    @pytest.mark.parametrize(
        ("env", "says"),
        [
            ({"ADMIN_PASSWORD_LOGIN": "0"}, "ADMIN_PASSWORD_LOGIN=0 needs SSO"),
            ({"OIDC_RP_CLIENT_ID": "bo"}, "OIDC_RP_CLIENT_ID is set but OIDC_ISSUER is not"),
            ({**SSO_ENV, "OIDC_OPERATOR_GROUPS": ""}, "no group is mapped"),
            ({**SSO_ENV, "OIDC_RP_SCOPES": "email"}, "needs the `openid` scope"),
            ({**SSO_ENV, "ADMIN_PASSWORD_LOGIN": "maybe"}, "ADMIN_PASSWORD_LOGIN='maybe'"),
        ],
    )
    def test_a_setting_that_cannot_work_stops_start_up(self, env, says):
        assert says in settings_with(**env)
