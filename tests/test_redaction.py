"""Credentials masked out of what people and logs see (`backoffice.redaction`)."""

import pytest

from backoffice.redaction import MASK, mask_url_passwords, redact

SECRET = "s3cr/et+tok=en"  # pragma: allowlist secret


class TestRedact:
    @pytest.mark.parametrize(
        "text",
        [
            f"you sent {SECRET}",
            '{"token": "s3cr\\/et+tok=en"}',  # JSON-escaped; pragma: allowlist secret
            "GET /send?token=s3cr%2Fet%2Btok%3Den",  # URL-encoded
        ],
    )
    def test_it_masks_the_known_secret_in_its_usual_encodings(self, text):
        assert "s3cr" not in redact(text, secrets=[SECRET])
        assert MASK in redact(text, secrets=[SECRET])

    @pytest.mark.parametrize(
        ("text", "hidden"),
        [
            ('{"Authorization": "Custom abc"}', "abc"),
            ("authorization=Whatever-it-is\n", "Whatever"),
            ("got Bearer abcdefgh1234", "abcdefgh1234"),
            ("got bearer abcdefgh1234", "abcdefgh1234"),
            ("Token 0123456789abcdef", "0123456789abcdef"),
            ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
            ("connect to https://user:hunter22@provider.example/send failed", "hunter22"),  # pragma: allowlist secret
        ],
    )
    def test_it_masks_any_credential(self, text, hidden):
        assert hidden not in redact(text)

    def test_it_leaves_plain_words_alone(self):
        assert redact('{"code": 401, "message": "invalid token"}') == '{"code": 401, "message": "invalid token"}'

    def test_it_cuts_after_masking_so_no_part_of_a_secret_is_left(self):
        text = "x" * 295 + SECRET
        assert redact(text, secrets=[SECRET], limit=300) == "x" * 295 + MASK[:5] + "…"


def test_mask_url_passwords_keeps_the_user_and_host():
    urls = "redis://:pw@redis:6379/0, postgres://app:pw@db/app"  # pragma: allowlist secret
    masked = f"redis://:{MASK}@redis:6379/0, postgres://app:{MASK}@db/app"  # pragma: allowlist secret
    assert mask_url_passwords(urls) == masked
