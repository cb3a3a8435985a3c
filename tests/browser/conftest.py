"""A real browser on the admin: Debian's headless Chromium driven by Playwright, against pytest-django's
live server. Screenshots of each step are kept under `artifacts/screenshots/` for people to look at.
Every page a test opens must run without a JavaScript error and without breaking the
Content-Security-Policy (an inline script, handler or style the browser refused).

Without /usr/bin/chromium these tests are skipped, unless REQUIRE_BROWSER=1 (CI sets it) makes that a failure.
"""

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "browser-test-pw-1"


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API holds an event loop in this thread until it stops, and
    the tests after these run event loops of their own."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()


# Each frame reports what its Content-Security-Policy refused, as it happens, to the test's process.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => window.reportCspViolation(
  `${event.effectiveDirective} refused ${event.blockedURI || "?"} on ${event.documentURI}`
  + ` (${event.sourceFile || "the page"}:${event.lineNumber}) ${event.sample}`));
"""


def _note_csp_message(text: str, violations: list[str]) -> None:
    if "Content Security Policy" in text:
        violations.append(text)


@pytest.fixture
def csp_violations() -> list[str]:
    """What the Content-Security-Policy refused on the test's pages (the `page` fixture fills it):
    the `securitypolicyviolation` events and the browser's console messages about the policy."""
    return []


@pytest.fixture
def page(browser, request, csp_violations):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)  # actions (click, fill, goto)
    expect.set_options(timeout=10_000)  # assertions: their 5 s default is short on a loaded 2-core machine
    context.expose_function("reportCspViolation", lambda text: csp_violations.append(text))
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: _note_csp_message(message.text, csp_violations))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"
    assert not csp_violations, f"Content-Security-Policy violations on the pages: {csp_violations}"


@pytest.fixture
def shot(page, request):
    """`shot("name")` saves a full-page screenshot of this step."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    taken = 0

    def take(name: str) -> Path:
        nonlocal taken
        taken += 1
        path = folder / f"{taken:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def operator_login(live_server, django_user_model, page):
    """Log in through the login form as an operator (a staff user in the Operators group)."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="olga", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))

    def login() -> None:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "olga")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")

    return login
