from datetime import UTC, datetime, time, timedelta

import pytest

from mailings.normalizers import normalize_timezone, zone_for
from mailings.sending.windows import next_opening, window_contains, window_open

BERLIN = "Europe/Berlin"
NINE, TEN = time(9, 0), time(10, 0)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def first_reading(at: datetime, zone_name: str, start: time) -> datetime:
    """Brute force: the first whole minute after `at` at which the local clock reads `start`."""
    zone = zone_for(zone_name)
    moment = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(3 * 24 * 60):
        if moment.astimezone(zone).time().replace(tzinfo=None) == start:
            return moment
        moment += timedelta(minutes=1)
    raise AssertionError(f"the clock never reads {start} after {at}")


class TestPlainWindow:
    @pytest.mark.parametrize(
        ("local", "expected"),
        [
            (time(8, 59, 59), False),
            (time(9, 0), True),
            (time(12, 0), True),
            (time(20, 59, 59), True),
            (time(21, 0), False),
            (time(23, 30), False),
            (time(0, 0), False),
        ],
    )
    def test_it_contains_the_start_but_not_the_end(self, local, expected):
        assert window_contains(local, time(9, 0), time(21, 0)) is expected

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (utc(2026, 6, 1, 8, 59, 59), False),
            (utc(2026, 6, 1, 9, 0), True),
            (utc(2026, 6, 1, 20, 59, 59), True),
            (utc(2026, 6, 1, 21, 0), False),
        ],
    )
    def test_it_reads_the_clock_of_the_zone(self, at, expected):
        assert window_open(at=at, zone_name="UTC", start=time(9, 0), end=time(21, 0)) is expected


class TestWrapAroundWindow:
    @pytest.mark.parametrize(
        ("local", "expected"),
        [
            (time(23, 0), True),
            (time(3, 0), True),
            (time(0, 0), True),
            (time(8, 59, 59), True),
            (time(9, 0), False),
            (time(12, 0), False),
            (time(20, 59, 59), False),
            (time(21, 0), True),
        ],
    )
    def test_it_spans_midnight(self, local, expected):
        assert window_contains(local, time(21, 0), time(9, 0)) is expected

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (utc(2026, 6, 1, 23, 0), True),
            (utc(2026, 6, 2, 3, 0), True),
            (utc(2026, 6, 2, 12, 0), False),
            (utc(2026, 6, 2, 9, 0), False),
            (utc(2026, 6, 2, 21, 0), True),
        ],
    )
    def test_it_is_open_overnight(self, at, expected):
        assert window_open(at=at, zone_name="UTC", start=time(21, 0), end=time(9, 0)) is expected

    def test_it_opens_next_at_the_evening_start(self):
        opening = next_opening(at=utc(2026, 6, 2, 12, 0), zone_name="UTC", start=time(21, 0))
        assert opening == utc(2026, 6, 2, 21, 0)


class TestNoWindow:
    @pytest.mark.parametrize(("start", "end"), [(None, None), (time(9, 0), None), (None, time(21, 0))])
    @pytest.mark.parametrize("hour", [0, 3, 9, 12, 21, 23])
    def test_it_is_always_open(self, start, end, hour):
        assert window_open(at=utc(2026, 3, 29, hour, 30), zone_name=BERLIN, start=start, end=end) is True


class TestDaylightSavingTime:
    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            # Saturday 2026-03-28, CET (UTC+1): 09:00 local is 08:00 UTC.
            (utc(2026, 3, 28, 7, 0), False),
            (utc(2026, 3, 28, 7, 59, 59), False),
            (utc(2026, 3, 28, 8, 0), True),
            (utc(2026, 3, 28, 8, 59, 59), True),
            (utc(2026, 3, 28, 9, 0), False),
            # Sunday 2026-03-29 after the 01:00 UTC change, CEST (UTC+2): 09:00 local is 07:00 UTC.
            (utc(2026, 3, 29, 6, 59, 59), False),
            (utc(2026, 3, 29, 7, 0), True),
            (utc(2026, 3, 29, 7, 59, 59), True),
            (utc(2026, 3, 29, 8, 0), False),
        ],
    )
    def test_it_follows_the_spring_change(self, at, expected):
        assert window_open(at=at, zone_name=BERLIN, start=NINE, end=TEN) is expected

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            # Saturday 2026-10-24, CEST (UTC+2): 09:00 local is 07:00 UTC.
            (utc(2026, 10, 24, 6, 59, 59), False),
            (utc(2026, 10, 24, 7, 0), True),
            (utc(2026, 10, 24, 7, 59, 59), True),
            (utc(2026, 10, 24, 8, 0), False),
            # Sunday 2026-10-25 after the 01:00 UTC change, CET (UTC+1): 09:00 local is 08:00 UTC.
            (utc(2026, 10, 25, 7, 0), False),
            (utc(2026, 10, 25, 7, 59, 59), False),
            (utc(2026, 10, 25, 8, 0), True),
            (utc(2026, 10, 25, 8, 59, 59), True),
            (utc(2026, 10, 25, 9, 0), False),
        ],
    )
    def test_it_follows_the_autumn_change(self, at, expected):
        assert window_open(at=at, zone_name=BERLIN, start=NINE, end=TEN) is expected

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (utc(2026, 3, 27, 12, 0), utc(2026, 3, 28, 8, 0)),
            (utc(2026, 3, 28, 7, 30), utc(2026, 3, 28, 8, 0)),
            (utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 7, 0)),
            (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 7, 0)),  # before the change
            (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 7, 0)),  # just after it
            (utc(2026, 3, 29, 7, 0), utc(2026, 3, 30, 7, 0)),
        ],
    )
    def test_it_finds_the_next_opening_across_the_spring_change(self, at, expected):
        opening = next_opening(at=at, zone_name=BERLIN, start=NINE)
        assert opening == expected
        assert opening.astimezone(zone_for(BERLIN)).time().replace(tzinfo=None) == NINE

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (utc(2026, 10, 23, 12, 0), utc(2026, 10, 24, 7, 0)),
            (utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 8, 0)),
            (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 8, 0)),  # 02:30 CEST, the first pass of the repeated hour
            (utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 8, 0)),  # 02:30 CET, the second pass
            (utc(2026, 10, 25, 7, 30), utc(2026, 10, 25, 8, 0)),
            (utc(2026, 10, 25, 8, 0), utc(2026, 10, 26, 8, 0)),
        ],
    )
    def test_it_finds_the_next_opening_across_the_autumn_change(self, at, expected):
        opening = next_opening(at=at, zone_name=BERLIN, start=NINE)
        assert opening == expected
        assert opening.astimezone(zone_for(BERLIN)).time().replace(tzinfo=None) == NINE

    def test_it_opens_a_window_that_starts_in_the_spring_gap_after_the_gap(self):
        # 02:30 never happens in Berlin on 2026-03-29: the clock jumps from 02:00 to 03:00 (01:00 UTC).
        opening = next_opening(at=utc(2026, 3, 28, 12, 0), zone_name=BERLIN, start=time(2, 30))
        assert utc(2026, 3, 29, 1, 0) <= opening <= utc(2026, 3, 29, 2, 0)

    @pytest.mark.parametrize(
        ("at", "start", "end", "expected"),
        [
            # 2026-10-25 00:40 UTC is 02:40 CEST; the clock reads 02:30 again at 01:30 UTC (02:30 CET).
            (utc(2026, 10, 25, 0, 40), time(2, 30), time(2, 35), utc(2026, 10, 25, 1, 30)),
            # 00:10 UTC is 02:10 CEST; the clock reads 02:00 again at 01:00 UTC (02:00 CET).
            (utc(2026, 10, 25, 0, 10), time(2, 0), time(2, 5), utc(2026, 10, 25, 1, 0)),
        ],
    )
    def test_it_does_not_skip_the_second_pass_of_the_repeated_hour(self, at, start, end, expected):
        # The window is closed at `at` (first pass of the hour) and open again at `expected` (second pass).
        assert window_open(at=at, zone_name=BERLIN, start=start, end=end) is False
        assert window_open(at=expected, zone_name=BERLIN, start=start, end=end) is True
        assert next_opening(at=at, zone_name=BERLIN, start=start) <= expected


class TestOtherZones:
    def test_it_uses_half_hour_offsets(self):
        kolkata = "Asia/Kolkata"
        assert window_open(at=utc(2026, 6, 1, 3, 29, 59), zone_name=kolkata, start=NINE, end=TEN) is False
        assert window_open(at=utc(2026, 6, 1, 3, 30), zone_name=kolkata, start=NINE, end=TEN) is True
        assert window_open(at=utc(2026, 6, 1, 4, 30), zone_name=kolkata, start=NINE, end=TEN) is False
        assert next_opening(at=utc(2026, 6, 1, 0, 0), zone_name=kolkata, start=NINE) == utc(2026, 6, 1, 3, 30)

    def test_it_reads_etc_gmt_minus_3_as_three_hours_ahead(self):
        zone = normalize_timezone("GMT+3")
        assert zone == "Etc/GMT-3"
        assert window_open(at=utc(2026, 6, 1, 5, 59, 59), zone_name=zone, start=NINE, end=TEN) is False
        assert window_open(at=utc(2026, 6, 1, 6, 0), zone_name=zone, start=NINE, end=TEN) is True
        assert window_open(at=utc(2026, 6, 1, 7, 0), zone_name=zone, start=NINE, end=TEN) is False
        assert next_opening(at=utc(2026, 6, 1, 12, 0), zone_name=zone, start=NINE) == utc(2026, 6, 2, 6, 0)

    def test_it_reads_a_fixed_offset_with_minutes(self):
        zone = normalize_timezone("UTC-5:30")
        assert zone == "UTC-05:30"
        assert zone_for(zone).utcoffset(None) == -timedelta(hours=5, minutes=30)
        assert window_open(at=utc(2026, 6, 1, 14, 29, 59), zone_name=zone, start=NINE, end=TEN) is False
        assert window_open(at=utc(2026, 6, 1, 14, 30), zone_name=zone, start=NINE, end=TEN) is True
        assert window_open(at=utc(2026, 6, 1, 15, 30), zone_name=zone, start=NINE, end=TEN) is False
        assert next_opening(at=utc(2026, 6, 1, 0, 0), zone_name=zone, start=NINE) == utc(2026, 6, 1, 14, 30)

    def test_it_reads_a_positive_fixed_offset(self):
        zone = normalize_timezone("+0545")
        assert zone == "UTC+05:45"
        assert next_opening(at=utc(2026, 6, 1, 0, 0), zone_name=zone, start=NINE) == utc(2026, 6, 1, 3, 15)


# Two-day stretches around the 2026 changes: US spring (03-08), EU spring (03-29), EU autumn (10-25), US autumn (11-01).
AROUND_CHANGES = (utc(2026, 3, 7, 12), utc(2026, 3, 28, 0), utc(2026, 10, 24, 0), utc(2026, 10, 31, 12))


def _instants(*days: datetime, step_minutes: int = 17):
    for day in days:
        for k in range(0, 2 * 24 * 60, step_minutes):
            yield day + timedelta(minutes=k, seconds=k % 60)


class TestNextOpeningProperties:
    STARTS = [time(0, 0), time(2, 0), time(2, 30), time(2, 59), time(3, 0), time(9, 0), time(21, 0), time(23, 59)]
    ZONES = [BERLIN, "Asia/Kolkata", "Etc/GMT-3", "UTC-05:30", "America/New_York", "UTC"]

    @pytest.mark.parametrize("zone_name", ZONES)
    @pytest.mark.parametrize("start", STARTS)
    def test_it_is_always_strictly_after_at_and_within_a_day(self, zone_name, start):
        checked = 0
        for at in _instants(*AROUND_CHANGES):
            opening = next_opening(at=at, zone_name=zone_name, start=start)
            assert opening > at, (zone_name, start, at, opening)
            assert opening - at <= timedelta(hours=25), (zone_name, start, at, opening)
            checked += 1
        assert checked > 600

    def test_it_is_strictly_after_at_exactly_on_the_start(self):
        for day in range(20, 35):
            at = datetime(2026, 3, 1, 9, 0, tzinfo=zone_for(BERLIN)) + timedelta(days=day)
            opening = next_opening(at=at, zone_name=BERLIN, start=NINE)
            assert opening > at
            assert opening.astimezone(zone_for(BERLIN)).date() == at.date() + timedelta(days=1)

    def test_it_handles_a_start_in_the_spring_gap(self):
        for at in _instants(utc(2026, 3, 28, 0), step_minutes=5):
            opening = next_opening(at=at, zone_name=BERLIN, start=time(2, 30))
            assert opening > at, (at, opening)
            assert opening - at <= timedelta(hours=25), (at, opening)

    @pytest.mark.parametrize("zone_name", [BERLIN, "America/New_York", "Asia/Kolkata", "UTC-05:30"])
    @pytest.mark.parametrize("start", [time(9, 0), time(21, 0), time(0, 0)])
    def test_it_is_the_first_time_the_clock_reads_start(self, zone_name, start):
        # Starts outside the hours where clocks change: the answer is exactly the brute-force one.
        for at in _instants(*AROUND_CHANGES, step_minutes=97):
            assert next_opening(at=at, zone_name=zone_name, start=start) == first_reading(at, zone_name, start)
