"""The Content-Security-Policy: strict on every HTML page of the admin and the API docs, and nothing in
those pages that it would refuse (an inline script, an event handler attribute, a style attribute or
element). tests/browser/test_content_security_policy.py shows the pages still work under it."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.admin.conftest import admin_routes

pytestmark = pytest.mark.django_db

UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "*", "data:", "http:", "https:")
STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def policy_of(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy, {directive: its sources}."""
    header = response.get("Content-Security-Policy")
    assert header, f"{response.wsgi_request.get_full_path()} has no Content-Security-Policy"
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


class InlineCode(HTMLParser):
    """What in a page the policy refuses: inline scripts (JSON data blocks are not run), event
    handler attributes, style attributes and style elements."""

    DATA_TYPES = {"application/json", "application/ld+json"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and "src" not in values and values.get("type") not in self.DATA_TYPES:
            self.found.append(f"an inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"a <style> element at line {self.getpos()[0]}")
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f'{name}="…" on a <{tag}> at line {self.getpos()[0]}')

    @classmethod
    def in_page(cls, html: str) -> list[str]:
        parser = cls()
        parser.feed(html)
        return parser.found


class TestTheParser:
    def test_it_finds_what_the_policy_refuses_and_lets_data_and_files_be(self):
        page = """<script>alert(1)</script><script type="application/json" id="d">{"a": 1}</script>
        <script src="/static/x.js"></script><a onclick="go()">x</a><p style="color: red">y</p>
        <style>p {}</style><svg><rect width="5" fill="red"></rect></svg><div data-url="/x">z</div>"""
        assert InlineCode.in_page(page) == [
            "an inline <script> at line 1",
            'onclick="…" on a <a> at line 2',
            'style="…" on a <p> at line 2',
            "a <style> element at line 3",
        ]


def _html_pages(client, urls):
    for url in urls:
        response = client.get(url)
        if response.get("Content-Type", "").startswith("text/html"):
            yield url, response


def _every_admin_get_url():
    """Every admin page a model's routes give, opened on a row of that model."""
    yield "/admin/"
    for app in ("mailings", "django_celery_beat", "auth", "authtoken", "axes"):
        yield reverse("admin:app_list", kwargs={"app_label": app})
    for model, _, route in admin_routes():
        obj = model._default_manager.order_by("pk").first()
        base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        yield base + route.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk))


class TestEveryPage:
    def test_the_policy_is_the_strict_one_and_refuses_no_inline_code_on_any_admin_page(self, admin_client, world):
        checked = 0
        for url, response in _html_pages(admin_client, _every_admin_get_url()):
            assert policy_of(response) == STRICT, url
            assert InlineCode.in_page(response.content.decode()) == [], url
            checked += 1
        assert checked > 80, checked  # 101 pages on this code

    def test_the_login_and_password_pages_too(self, client, admin_client):
        for test_client, url in [(client, "/admin/login/"), (admin_client, "/admin/password_change/")]:
            response = test_client.get(url)
            assert response.status_code == 200, url
            assert policy_of(response) == STRICT, url
            assert InlineCode.in_page(response.content.decode()) == [], url

    def test_the_api_docs_page_allows_data_images_and_nothing_else_more(self, admin_client):
        response = admin_client.get("/docs/")
        assert response.status_code == 200
        assert policy_of(response) == {**STRICT, "img-src": ["'self'", "data:"]}
        assert InlineCode.in_page(response.content.decode()) == []
        script = admin_client.get("/docs/?script=")
        assert script["Content-Type"] == "application/javascript"

    @pytest.mark.parametrize("directive", ["default-src", "script-src", "style-src"])
    def test_no_unsafe_source_anywhere(self, admin_client, directive):
        for url in ("/admin/", "/docs/", "/admin/mailings/mailing/add/"):
            sources = policy_of(admin_client.get(url))[directive]
            assert not set(sources) & set(UNSAFE), (url, directive, sources)

    def test_an_error_page_and_the_json_api_carry_it_too(self, client, api):
        assert policy_of(client.get("/admin/login/?next=/", HTTP_HOST="evil.example")) == STRICT  # a 400
        assert policy_of(api.get("/clients/")) == STRICT
