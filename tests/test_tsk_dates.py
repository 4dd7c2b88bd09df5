"""`@date`'s PHP date() letters at the edges (tusk_infra/tusk/dates.py); case files cover the common ones."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tusk_infra.tusk.dates import PHP_LETTERS, DateFormatProblem, format_date, php_date


@pytest.mark.parametrize(
    ("day", "suffix"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"),
     (22, "22nd"), (23, "23rd"), (30, "30th"), (31, "31st")],
)  # fmt: skip
def test_ordinal_suffix(day: int, suffix: str) -> None:
    assert php_date("jS", datetime(2026, 1, day, tzinfo=UTC)) == suffix


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(0, "12 12 am AM 0 00"), (11, "11 11 am AM 11 11"), (12, "12 12 pm PM 12 12"),
     (23, "11 11 pm PM 23 23")],
)  # fmt: skip
def test_twelve_and_twenty_four_hour_clocks(hour: int, expected: str) -> None:
    assert php_date("g h a A G H", datetime(2026, 1, 1, hour, tzinfo=UTC)) == expected


def test_iso_week_year_differs_from_the_calendar_year_at_new_year() -> None:
    # 2027-01-01 is a Friday: ISO week 53 of 2026.
    assert php_date("Y o W N w z", datetime(2027, 1, 1, tzinfo=UTC)) == "2027 2026 53 5 5 0"


def test_leap_year_and_days_in_month() -> None:
    assert php_date("L t z", datetime(2028, 2, 29, tzinfo=UTC)) == "1 29 59"
    assert php_date("L t", datetime(2026, 2, 1, tzinfo=UTC)) == "0 28"


def test_unix_time_and_swatch_beats() -> None:
    assert php_date("U B", datetime(1970, 1, 1, tzinfo=UTC)) == "0 041"
    assert php_date("B", datetime(2026, 1, 1, 22, 59, 59, tzinfo=UTC)) == "999"


def test_backslash_makes_any_character_literal() -> None:
    assert php_date("\\Y\\\\Y", datetime(2026, 1, 1, tzinfo=UTC)) == "Y\\2026"
    assert php_date("Y\\", datetime(2026, 1, 1, tzinfo=UTC)) == "2026"  # a trailing backslash is dropped


def test_the_moment_is_converted_to_utc() -> None:
    east = datetime(2026, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    assert format_date("c T", east) == "2026-05-31T22:00:00+00:00 UTC"
    assert format_date("c", datetime(2026, 6, 1, 1, 0)) == "2026-06-01T01:00:00+00:00"  # naive: taken as UTC


UNDEFINED_LETTERS = sorted(set(string.ascii_letters) - set(PHP_LETTERS))


@pytest.mark.parametrize("letter", UNDEFINED_LETTERS)
def test_a_letter_php_does_not_define_is_refused(letter: str) -> None:
    with pytest.raises(DateFormatProblem) as raised:
        php_date(f"Y-{letter}", datetime(2026, 1, 1, tzinfo=UTC))
    assert raised.value.index == 2
    assert f"'{letter}' is not a date format letter" in str(raised.value)


def test_every_php_letter_is_translated() -> None:
    # PHP 8.2's date() letters, all of them.
    assert set(PHP_LETTERS) == set("dDjlNSwzWFmMntLoXxYyaABgGhHisuveIOPpTZcrU")
