"""Single sign-on through a real OpenID provider (oidc-provider-mock) and the live server, over HTTP:
the whole authorization-code flow, the roles it gives, and every way it must refuse."""

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import Group

from mailings.models import SsoIdentity
from tests.support.oidc_provider import (
    ADMIN_GROUP,
    OPERATOR_GROUP,
    VIEWER_GROUP,
    Browser,
    running_provider,
    sso_settings,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser(live_server, sso_on):
    return Browser(live_server.url)


def groups_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


class TestSignIn:
    def test_it_signs_an_operator_in_with_pkce_state_and_nonce(self, browser, sso_on, django_user_model):
        sso_on.set_user("sub-olga", email="olga@example.com", preferred_username="olga", groups=[OPERATOR_GROUP])
        authorization = browser.start()
        query = parse_qs(urlsplit(authorization).query)
        assert authorization.startswith(f"{sso_on.issuer}/oauth2/authorize?")
        assert query["code_challenge_method"] == ["S256"]
        assert query["code_challenge"][0]
        assert query["state"][0]
        assert query["nonce"][0]
        assert query["scope"] == ["openid email profile"]

        answer = browser.get(browser.authorize(authorization, "sub-olga"))

        assert answer.status_code == 302
        assert answer.headers["Location"] == "/admin/"
        index = browser.get("/admin/")
        assert index.status_code == 200
        assert "olga" in index.text
        user = SsoIdentity.objects.get(subject="sub-olga", issuer=sso_on.issuer).user
        assert (user.username, user.email, user.is_staff, user.is_superuser) == (
            "olga",
            "olga@example.com",
            True,
            False,
        )
        assert groups_of(user) == {"Operators"}
        assert not user.has_usable_password()
        session = next(cookie for cookie in browser.http.cookies if cookie.name == "sessionid")
        assert abs(session.expires - (time.time() + 10 * 3600)) < 60
        assert browser.get("/admin/mailings/mailing/add/").status_code == 200

    def test_a_viewer_sees_but_may_not_add(self, browser, sso_on):
        sso_on.set_user("sub-vera", email="vera@example.com", groups=[VIEWER_GROUP])
        assert browser.sign_in("sub-vera").status_code == 302
        assert browser.get("/admin/mailings/mailing/").status_code == 200
        assert browser.get("/admin/mailings/mailing/add/").status_code == 403
        user = SsoIdentity.objects.get(subject="sub-vera").user
        assert groups_of(user) == {"Viewers"}
        assert user.username == "vera@example.com"

    def test_an_admin_group_makes_a_superuser(self, browser, sso_on):
        sso_on.set_user("sub-ivan", email="ivan@example.com", groups=[ADMIN_GROUP])
        assert browser.sign_in("sub-ivan").status_code == 302
        user = SsoIdentity.objects.get(subject="sub-ivan").user
        assert user.is_superuser
        assert user.is_staff
        assert groups_of(user) == set()

    def test_roles_follow_the_groups_at_every_sign_in(self, live_server, sso_on):
        sso_on.set_user("sub-ola", email="ola@example.com", groups=[OPERATOR_GROUP, ADMIN_GROUP])
        assert Browser(live_server.url).sign_in("sub-ola").status_code == 302
        user = SsoIdentity.objects.get(subject="sub-ola").user
        other = Group.objects.create(name="Report readers")  # a group of ours SSO does not manage
        user.groups.add(other)

        sso_on.set_user("sub-ola", email="ola.new@example.com", groups=[VIEWER_GROUP])
        again = Browser(live_server.url)
        assert again.sign_in("sub-ola").status_code == 302

        user.refresh_from_db()
        assert groups_of(user) == {"Viewers", "Report readers"}
        assert not user.is_superuser
        assert user.email == "ola.new@example.com"
        assert again.get("/admin/mailings/mailing/add/").status_code == 403

    def test_people_are_matched_on_sub_not_on_email(self, browser, sso_on, django_user_model):
        owner = django_user_model.objects.create_user("pat", email="pat@example.com", password="pw-123456")
        sso_on.set_user("sub-pat", email="pat@example.com", preferred_username="pat", groups=[OPERATOR_GROUP])
        assert browser.sign_in("sub-pat").status_code == 302
        user = SsoIdentity.objects.get(subject="sub-pat").user
        assert user.pk != owner.pk
        assert user.username == "pat-2"
        owner.refresh_from_db()
        assert not owner.is_staff
        assert groups_of(owner) == set()

    def test_it_returns_to_the_page_asked_for_but_never_to_another_site(self, live_server, sso_on):
        sso_on.set_user("sub-n", groups=[OPERATOR_GROUP])
        here = Browser(live_server.url)
        here_callback = here.authorize(here.start("/admin/mailings/client/"), "sub-n")
        assert here.get(here_callback).headers["Location"] == "/admin/mailings/client/"
        away = Browser(live_server.url)
        away_callback = away.authorize(away.start("https://evil.example.com/"), "sub-n")
        assert away.get(away_callback).headers["Location"] == "/admin/"


class TestRefusals:
    def test_a_person_in_no_mapped_group_gets_a_clear_page_and_no_account(self, browser, sso_on, django_user_model):
        sso_on.set_user("sub-nobody", email="nobody@example.com", groups=["marketing"])
        answer = browser.sign_in("sub-nobody")
        assert answer.status_code == 403
        assert "in none of the groups that may use this back-office" in answer.text
        assert not django_user_model.objects.filter(email="nobody@example.com").exists()
        assert browser.get("/admin/").status_code == 302  # not signed in

    def test_someone_removed_from_every_group_loses_staff_on_the_next_sign_in(self, live_server, sso_on):
        sso_on.set_user("sub-gone", email="gone@example.com", groups=[OPERATOR_GROUP, ADMIN_GROUP])
        assert Browser(live_server.url).sign_in("sub-gone").status_code == 302
        sso_on.set_user("sub-gone", email="gone@example.com", groups=[])
        answer = Browser(live_server.url).sign_in("sub-gone")
        assert answer.status_code == 403
        user = SsoIdentity.objects.get(subject="sub-gone").user
        assert (user.is_staff, user.is_superuser, groups_of(user)) == (False, False, set())

    def test_a_wrong_state_is_refused(self, browser, sso_on):
        sso_on.set_user("sub-s", groups=[OPERATOR_GROUP])
        callback = browser.authorize(browser.start(), "sub-s")
        forged = callback.replace("state=", "state=x")
        answer = browser.get(forged)
        assert answer.status_code == 403
        assert "state does not match" in answer.text
        assert browser.get("/admin/").status_code == 302

    def test_a_callback_in_another_browser_is_refused(self, live_server, browser, sso_on):
        sso_on.set_user("sub-t", groups=[OPERATOR_GROUP])
        callback = browser.authorize(browser.start(), "sub-t")
        answer = Browser(live_server.url).get(callback)
        assert answer.status_code == 403
        assert "not started in this browser" in answer.text

    def test_an_expired_code_is_refused(self, browser, sso_on):
        sso_on.set_user("sub-e", groups=[OPERATOR_GROUP])
        callback = browser.authorize(browser.start(), "sub-e")
        sso_on.expire_codes()
        answer = browser.get(callback)
        assert answer.status_code == 403
        assert "expired or was used already" in answer.text
        assert browser.get("/admin/").status_code == 302

    def test_a_used_code_is_refused_the_second_time(self, live_server, browser, sso_on):
        sso_on.set_user("sub-r", groups=[OPERATOR_GROUP])
        first = browser.start()
        callback = browser.authorize(first, "sub-r")
        assert browser.get(callback).status_code == 302
        # An attacker with the same code and a state of their own session: the provider refuses the code.
        thief = Browser(live_server.url)
        state = parse_qs(urlsplit(thief.start()).query)["state"][0]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        answer = thief.get(f"/admin/sso/callback/?code={code}&state={state}")
        assert answer.status_code == 403
        assert "expired or was used already" in answer.text

    def test_a_token_from_another_issuer_is_refused(self, settings, browser, sso_on):
        sso_on.set_user("sub-i", groups=[OPERATOR_GROUP])
        # Same provider, reached by another name: its tokens say http://127.0.0.1:PORT.
        other_name = sso_on.issuer.replace("localhost", "127.0.0.1")
        sso_settings(settings, sso_on.issuer, OIDC_OP_AUTHORIZATION_ENDPOINT=f"{other_name}/oauth2/authorize",
                     OIDC_OP_TOKEN_ENDPOINT=f"{other_name}/oauth2/token", OIDC_OP_JWKS_ENDPOINT=f"{other_name}/jwks",
                     OIDC_OP_USER_ENDPOINT=f"{other_name}/userinfo")  # fmt: skip
        answer = browser.sign_in("sub-i")
        assert answer.status_code == 403
        assert "not from the identity provider set here" in answer.text
        assert not SsoIdentity.objects.filter(subject="sub-i").exists()

    def test_a_code_issued_to_another_client_is_refused(self, settings, browser, sso_on):
        sso_on.set_user("sub-a", groups=[OPERATOR_GROUP])
        authorization = browser.start().replace("client_id=backoffice-tests", "client_id=someone-else")
        answer = browser.get(browser.authorize(authorization, "sub-a"))
        assert answer.status_code == 403
        assert "expired or was used already" in answer.text
        assert not SsoIdentity.objects.filter(subject="sub-a").exists()

    def test_an_expired_id_token_is_refused(self, settings, live_server):
        with running_provider(access_token_max_age=timedelta(seconds=-120)) as stale:
            sso_settings(settings, stale.issuer)
            stale.set_user("sub-x", groups=[OPERATOR_GROUP])
            answer = Browser(live_server.url).sign_in("sub-x")
        assert answer.status_code == 403
        assert "The ID token has expired" in answer.text
        assert not SsoIdentity.objects.filter(subject="sub-x").exists()

    def test_a_deactivated_account_is_signed_out_and_refused(self, live_server, sso_on, django_user_model):
        sso_on.set_user("sub-d", groups=[OPERATOR_GROUP])
        signed_in = Browser(live_server.url)
        assert signed_in.sign_in("sub-d").status_code == 302
        assert signed_in.get("/clients/").status_code == 200
        django_user_model.objects.filter(sso_identity__subject="sub-d").update(is_active=False)
        assert signed_in.get("/clients/").status_code in {401, 403}
        assert "You are authenticated as" not in signed_in.get("/admin/login/").text  # signed out, not just refused
        answer = Browser(live_server.url).sign_in("sub-d")
        assert answer.status_code == 403
        assert "deactivated" in answer.text

    def test_a_provider_that_names_another_issuer_is_a_clear_page(self, settings, browser, sso_on):
        sso_settings(settings, f"{sso_on.issuer}/impostor")
        answer = browser.get("/admin/sso/start/")
        assert answer.status_code == 503
        assert "not OIDC_ISSUER" in answer.text

    def test_an_unreachable_provider_is_a_clear_page(self, settings, browser, sso_on):
        sso_settings(settings, "http://127.0.0.1:9")
        answer = browser.get("/admin/sso/start/")
        assert answer.status_code == 503
        assert "does not answer" in answer.text

    def test_sso_off_has_no_button_and_no_urls(self, settings, live_server):
        settings.SSO_ENABLED = False
        off = Browser(live_server.url)
        assert "Sign in with SSO" not in off.get("/admin/login/").text
        assert off.get("/admin/sso/start/").status_code == 404
        assert off.get("/admin/sso/callback/?code=a&state=b").status_code == 404


class TestLogout:
    def test_it_ends_the_session_here_and_at_the_provider(self, live_server, browser, sso_on):
        sso_on.set_user("sub-l", groups=[OPERATOR_GROUP])
        assert browser.sign_in("sub-l").status_code == 302
        answer = browser.log_out()

        assert answer.status_code == 302
        end_session = urlsplit(answer.headers["Location"])
        query = parse_qs(end_session.query)
        assert answer.headers["Location"].startswith(f"{sso_on.issuer}/oauth2/end_session?")
        assert query["post_logout_redirect_uri"] == [f"{live_server.url}/admin/login/"]
        assert query["id_token_hint"][0].count(".") == 2
        assert browser.get("/admin/").status_code == 302  # signed out here already
        # The provider asks, then sends the browser back to our sign-in page.
        confirm, back_to = f"{sso_on.issuer}/oauth2/end_session/confirm", query["post_logout_redirect_uri"][0]
        back = browser.http.post(confirm, data={"redirect_uri": back_to}, allow_redirects=False, timeout=10)
        assert back.headers["Location"] == f"{live_server.url}/admin/login/"

    def test_without_an_end_session_endpoint_it_returns_to_the_sign_in_page(
        self, settings, live_server, browser, sso_on
    ):
        sso_on.set_user("sub-m", groups=[OPERATOR_GROUP])
        issuer = sso_on.issuer
        endpoints = {"AUTHORIZATION": "oauth2/authorize", "TOKEN": "oauth2/token", "JWKS": "jwks"}
        sso_settings(
            settings, issuer, **{f"OIDC_OP_{name}_ENDPOINT": f"{issuer}/{path}" for name, path in endpoints.items()}
        )
        assert browser.sign_in("sub-m").status_code == 302
        answer = browser.log_out()
        assert answer.headers["Location"] == f"{live_server.url}/admin/login/"
        assert browser.get("/admin/").status_code == 302


class TestLoginLimits:
    def test_refused_sso_sign_ins_are_not_failed_passwords(self, live_server, sso_on):
        sso_on.set_user("sub-no", groups=[])
        for _ in range(6):
            assert Browser(live_server.url).sign_in("sub-no").status_code == 403
        assert AccessAttempt.objects.count() == 0
        assert AccessFailureLog.objects.count() == 0

    def test_a_password_lockout_does_not_block_sso_from_the_same_address(self, live_server, sso_on, django_user_model):
        django_user_model.objects.create_user("locked", password="pw-123456", is_staff=True)
        guesser = Browser(live_server.url)
        guesser.get("/admin/login/")
        for _ in range(6):
            token = guesser.http.cookies["csrftoken"]
            data = {"username": "locked", "password": "wrong", "csrfmiddlewaretoken": token}
            guesser.http.post(f"{live_server.url}/admin/login/", data=data, timeout=10)
        assert AccessAttempt.objects.filter(username="locked", failures_since_start__gte=5).exists()
        sso_on.set_user("sub-ok", groups=[OPERATOR_GROUP])
        assert Browser(live_server.url).sign_in("sub-ok").status_code == 302
