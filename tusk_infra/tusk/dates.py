"""`@date(FORMAT)`: PHP's date() format letters (as TuskLang's documentation writes them), or strftime's.

Every letter of PHP's date() is translated; `\\` makes the next character literal. A letter PHP does not
define is refused rather than echoed (PHP would print it as is, which hides a typo). Times are UTC: the
clock's moment is converted to UTC first, so `e` and `T` are "UTC" and `O` is "+0000". `u` and `v` are the
clock's microseconds and milliseconds, as PHP's DateTime::format gives them.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, datetime

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip


def _ordinal_suffix(day: int) -> str:
    if day in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


def _swatch(moment: datetime) -> str:
    """Swatch Internet time: thousandths of a day, counted from UTC+1 midnight."""
    seconds = (moment.hour * 3600 + moment.minute * 60 + moment.second + 3600) % 86400
    return f"{int(seconds / 86.4):03d}"


# Each PHP date() letter as a function of a UTC moment.
PHP_LETTERS: dict[str, Callable[[datetime], str]] = {
    # day
    "d": lambda m: f"{m.day:02d}",
    "D": lambda m: _DAYS[m.weekday()][:3],
    "j": lambda m: str(m.day),
    "l": lambda m: _DAYS[m.weekday()],
    "N": lambda m: str(m.isoweekday()),
    "S": lambda m: _ordinal_suffix(m.day),
    "w": lambda m: str(m.isoweekday() % 7),
    "z": lambda m: str(m.timetuple().tm_yday - 1),
    # week
    "W": lambda m: f"{m.isocalendar().week:02d}",
    # month
    "F": lambda m: _MONTHS[m.month - 1],
    "m": lambda m: f"{m.month:02d}",
    "M": lambda m: _MONTHS[m.month - 1][:3],
    "n": lambda m: str(m.month),
    "t": lambda m: str(calendar.monthrange(m.year, m.month)[1]),
    # year
    "L": lambda m: "1" if calendar.isleap(m.year) else "0",
    "o": lambda m: str(m.isocalendar().year),
    "X": lambda m: f"+{m.year:04d}",
    "x": lambda m: f"{m.year:04d}",
    "Y": lambda m: f"{m.year:04d}",
    "y": lambda m: f"{m.year % 100:02d}",
    # time
    "a": lambda m: "am" if m.hour < 12 else "pm",
    "A": lambda m: "AM" if m.hour < 12 else "PM",
    "B": _swatch,
    "g": lambda m: str(_hour12(m)),
    "G": lambda m: str(m.hour),
    "h": lambda m: f"{_hour12(m):02d}",
    "H": lambda m: f"{m.hour:02d}",
    "i": lambda m: f"{m.minute:02d}",
    "s": lambda m: f"{m.second:02d}",
    "u": lambda m: f"{m.microsecond:06d}",
    "v": lambda m: f"{m.microsecond // 1000:03d}",
    # time zone (always UTC here)
    "e": lambda m: "UTC",
    "I": lambda m: "0",
    "O": lambda m: "+0000",
    "P": lambda m: "+00:00",
    "p": lambda m: "Z",
    "T": lambda m: "UTC",
    "Z": lambda m: "0",
    # full date/time
    "c": lambda m: php_date("Y-m-d\\TH:i:sP", m),
    "r": lambda m: php_date("D, d M Y H:i:s O", m),
    "U": lambda m: str(calendar.timegm(m.utctimetuple())),
}

_LETTER_LIST = "".join(sorted(PHP_LETTERS, key=str.lower))

# strftime codes Python supports on every platform; `%` followed by anything else is refused.
STRFTIME_CODES = frozenset("aAwdbBmyYHIpMSfzZjUWcxXGuV%")
_STRFTIME_CODE = re.compile(r"%(.?)", re.DOTALL)


class DateFormatProblem(ValueError):
    """A format the operator cannot honour; `index` is the offending character's index in the format."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def utc(moment: datetime) -> datetime:
    """The moment in UTC (a naive moment is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_date(pattern: str, moment: datetime) -> str:
    """`pattern` filled in for `moment` (in UTC): strftime when it holds a `%`, PHP's letters otherwise."""
    moment = utc(moment)
    if "%" in pattern:
        _check_strftime(pattern)
        return moment.strftime(pattern)
    return php_date(pattern, moment)


def php_date(pattern: str, moment: datetime) -> str:
    """PHP's date(pattern) for a UTC moment; letters PHP does not define are refused."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index + 1 : index + 2])
            index += 2
            continue
        letter = PHP_LETTERS.get(char)
        if letter is not None:
            out.append(letter(moment))
        elif char.isascii() and char.isalpha():
            raise DateFormatProblem(
                f"'{char}' is not a date format letter; escape it for a literal '{char}' "
                f"(\"\\\\{char}\" or '\\{char}'); the letters are {_LETTER_LIST}",
                index,
            )
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _check_strftime(pattern: str) -> None:
    for code in _STRFTIME_CODE.finditer(pattern):
        if code.group(1) not in STRFTIME_CODES:
            shown = f"%{code.group(1)}" if code.group(1) else "a lone %"
            raise DateFormatProblem(
                f"{shown} is not a strftime code (a format with % is read as strftime; write %% for a "
                "literal %)",
                code.start(),
            )
