from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from mailings.normalizers import normalize_phone, normalize_timezone, phone_prefix, zone_for


class TestNormalizePhone:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("79001234567", "79001234567"),
            ("+79001234567", "79001234567"),
            ("+7 (900) 123-45-67", "79001234567"),
            ("7 900 123 45 67", "79001234567"),
            (79001234567, "79001234567"),
            ("89001234567", "79001234567"),  # the trunk prefix, as numbers are dialled within Russia
            ("8 (900) 123-45-67", "79001234567"),
        ],
    )
    def test_it_accepts_and_strips_formatting(self, raw, expected):
        assert normalize_phone(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            "90000000000", "+89001234567", "8900123456", "890012345678",
            "7900123456", "790012345678", "7900123456a", "", None, "++79001234567",
            "7\u0663\u0663\u0663\u0663\u0663\u0663\u0663\u0663\u0663\u0663",  # Arabic-Indic digits
            "7\uff19\uff10\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
        ],
    )  # fmt: skip
    def test_it_refuses_anything_but_7_or_8_and_ten_digits(self, raw):
        with pytest.raises(ValidationError) as info:
            normalize_phone(raw)
        assert "11 digits starting with 7" in info.value.messages[0]


class TestNormalizeTimezone:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Europe/Moscow", "Europe/Moscow"),
            ("europe/moscow", "Europe/Moscow"),
            ("  Asia/Kolkata ", "Asia/Kolkata"),
            ("Etc/GMT-3", "Etc/GMT-3"),
            ("GMT+3", "Etc/GMT-3"),
            ("gmt+3", "Etc/GMT-3"),
            ("UTC+03:00", "Etc/GMT-3"),
            ("+3", "Etc/GMT-3"),
            ("+03", "Etc/GMT-3"),
            ("+0300", "Etc/GMT-3"),
            ("UTC-5", "Etc/GMT+5"),
            ("UTC-5:30", "UTC-05:30"),
            ("UTC+5:30", "UTC+05:30"),
            ("+0545", "UTC+05:45"),
            ("UTC+14", "Etc/GMT-14"),
            ("UTC-12:00", "Etc/GMT+12"),
            ("UTC", "UTC"),
            ("GMT", "UTC"),
            ("Z", "UTC"),
            ("+0", "UTC"),
            ("-00:00", "UTC"),
            # A bare whole number of hours, as integrations that store offsets as integers send it.
            ("3", "Etc/GMT-3"),
            (3, "Etc/GMT-3"),
            ("03", "Etc/GMT-3"),
            (" 3 ", "Etc/GMT-3"),
            ("0", "UTC"),
            (0, "UTC"),
            ("14", "Etc/GMT-14"),
            (-5, "Etc/GMT+5"),
            ("-12", "Etc/GMT+12"),
            ("-003", "Etc/GMT+3"),
            ("utc + 3", "Etc/GMT-3"),
        ],
    )
    def test_it_normalises_names_and_offsets(self, raw, expected):
        assert normalize_timezone(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            *["Mars/Olympus", "MSK", "GMT+15", "UTC-13", "+03:20", "+03:60", "Europe/", "", "   ", None],
            *["15", 15, -13, "3.5", "0300", "1" * 5000],  # whole numbers are hours, from -12 to 14 only
            *[-100, "-530", "+530", "+٣", "UTC+3:0"],  # not HMM: three digits are hours, too many
        ],
    )
    def test_it_refuses_unknown_zones_and_impossible_offsets(self, raw):
        with pytest.raises(ValidationError):
            normalize_timezone(raw)

    def test_a_whole_number_out_of_range_says_the_range(self):
        with pytest.raises(ValidationError, match="-12:00 to \\+14:00"):
            normalize_timezone("15")

    def test_it_keeps_the_posix_sign_of_etc_zones_straight(self):
        # "GMT+3" as people write it is three hours ahead of UTC, which IANA spells Etc/GMT-3.
        noon_utc = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        assert noon_utc.astimezone(zone_for(normalize_timezone("GMT+3"))).hour == 15
        assert noon_utc.astimezone(zone_for(normalize_timezone("UTC-5"))).hour == 7

    def test_it_gives_fixed_offsets_for_zones_iana_has_no_name_for(self):
        zone = zone_for(normalize_timezone("UTC-5:30"))
        assert zone.utcoffset(None) == -timedelta(hours=5, minutes=30)
        assert datetime(2026, 1, 1, 12, 0, tzinfo=UTC).astimezone(zone).strftime("%H:%M") == "06:30"

    def test_every_normalised_name_has_a_zone(self):
        for raw in ["Europe/Berlin", "GMT+3", "UTC-5:30", "UTC", "+14"]:
            zone_for(normalize_timezone(raw))


class TestPhonePrefix:
    @pytest.mark.parametrize(
        ("term", "prefix"),
        [
            ("+7 900 500-00-44", "79005000044"),
            ("8 (900) 500-00-44", "79005000044"),
            ("900 500-00-44", "79005000044"),
            ("7.900", "7900"),
            ("8", "7"),
            ("913", "7913"),
            ("+7", "7"),
        ],
    )
    def test_a_phone_or_its_start_as_people_write_it(self, term, prefix):
        assert phone_prefix(term) == prefix

    @pytest.mark.parametrize("term", ["", "+", "abc", "7900%", "790050000441", "9005000044 1 2", "٧٩٠٠", "7_9"])
    def test_anything_else_is_not_a_phone(self, term):
        assert phone_prefix(term) is None


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("Etc/GMT-3", "UTC+03:00"), ("Etc/GMT+5", "UTC-05:00"), ("Etc/GMT-14", "UTC+14:00"), ("UTC", "UTC"),
     ("UTC+05:30", "UTC+05:30"), ("Europe/Moscow", "Europe/Moscow")],
)  # fmt: skip
def test_a_stored_zone_is_shown_as_people_read_it(stored, shown):
    from mailings.formatting import zone_label

    assert zone_label(stored) == shown


@pytest.mark.parametrize(
    ("term", "prefix"),
    [("812 123-45-67", "78121234567"), ("800 555 35 35", "78005553535"), ("8 812 123", "7812123"),
     ("7900123456", "7900123456")],
)  # fmt: skip
def test_ten_digits_are_a_number_without_its_country_code(term, prefix):
    from mailings.normalizers import phone_prefix

    assert phone_prefix(term) == prefix


def test_a_zone_at_offset_zero_is_utc():
    from mailings.formatting import zone_label

    assert zone_label("Etc/GMT+0") == zone_label("Etc/GMT-0") == "UTC"
