"""Single sign-on in Chromium, through a real OpenID provider (oidc-provider-mock, tests/sso/conftest.py):
an operator and a viewer click "Sign in with SSO", sign in on the provider's page, land in the admin
with their role's pages, and log out here and at the provider. A person in no mapped group sees why."""

import pytest
from playwright.sync_api import expect

from mailings.sso import discovery
from tests.support.oidc_provider import OPERATOR_GROUP, VIEWER_GROUP, running_provider, sso_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def provider():
    with running_provider() as provider:
        yield provider


@pytest.fixture
def sso_on(settings, provider):
    sso_settings(settings, provider.issuer)
    yield provider
    discovery.forget()


def sign_in_with_sso(page, shot, live_server, sub: str) -> None:
    page.goto(f"{live_server.url}/admin/mailings/mailing/")
    expect(page.locator("#sso-login")).to_have_text("Sign in with SSO")
    shot("sign-in-page")
    page.click("#sso-login")
    page.wait_for_url("**/oauth2/authorize?**")
    page.fill("input[name=sub]", sub)
    shot("provider-sign-in")
    page.get_by_role("button", name="Authorize").click()


def log_out_everywhere(page, shot, live_server) -> None:
    page.click("#logout-form button")
    page.wait_for_url("**/oauth2/end_session?**")
    shot("provider-logout")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{live_server.url}/admin/login/")
    expect(page.locator("#sso-login")).to_be_visible()
    page.goto(f"{live_server.url}/admin/")
    page.wait_for_url(f"{live_server.url}/admin/login/?next=/admin/")


def test_an_operator_signs_in_with_sso_and_may_add_mailings(live_server, page, shot, sso_on):
    sso_on.set_user("sub-olga", email="olga@example.com", preferred_username="olga", groups=[OPERATOR_GROUP])
    sign_in_with_sso(page, shot, live_server, "sub-olga")
    page.wait_for_url(f"{live_server.url}/admin/mailings/mailing/")
    expect(page.locator("#user-tools")).to_contain_text("olga")
    expect(page.locator(".object-tools a.addlink")).to_be_visible()
    shot("operator-mailings")
    page.click(".object-tools a.addlink")
    page.wait_for_url("**/admin/mailings/mailing/add/")
    expect(page.locator("input[name=_save]")).to_be_visible()
    shot("operator-add-mailing")
    log_out_everywhere(page, shot, live_server)


def test_a_viewer_signs_in_with_sso_and_only_reads(live_server, page, shot, sso_on):
    sso_on.set_user("sub-vera", email="vera@example.com", preferred_username="vera", groups=[VIEWER_GROUP])
    sign_in_with_sso(page, shot, live_server, "sub-vera")
    page.wait_for_url(f"{live_server.url}/admin/mailings/mailing/")
    expect(page.locator("#user-tools")).to_contain_text("vera")
    expect(page.locator("#changelist")).to_be_visible()
    expect(page.locator(".object-tools a.addlink")).to_have_count(0)
    shot("viewer-mailings")
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")
    expect(page.locator("#refusal-reason")).to_be_visible()
    shot("viewer-refused-add")
    log_out_everywhere(page, shot, live_server)


def test_a_person_in_no_mapped_group_is_told_why(live_server, page, shot, sso_on):
    sso_on.set_user("sub-nina", email="nina@example.com", groups=["marketing"])
    sign_in_with_sso(page, shot, live_server, "sub-nina")
    page.wait_for_url("**/admin/sso/callback/?**")
    expect(page.locator("#refusal-reason")).to_contain_text("in none of the groups that may use this back-office")
    shot("refused")
    page.click("#back-to-login")
    expect(page.locator("#sso-login")).to_be_visible()
