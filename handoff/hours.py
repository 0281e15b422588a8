"""Business hours: when people answer, in the store's time zone.

Written as the store owner would say it, days then hours, several parts apart by ';':

    mon-fri 09:00-17:30; sat 10:00-14:00

Nothing written means always open. Outside these hours a handoff becomes an offline ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class Opening:
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class BusinessHours:
    openings: tuple[Opening, ...]
    zone: ZoneInfo
    text: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> BusinessHours:
        """Parse the setting; a ValueError says which part is wrong and how to write it."""
        openings = [_opening(part.strip().lower()) for part in text.split(";") if part.strip()]
        return cls(tuple(openings), ZoneInfo(timezone), text.strip())

    @property
    def always(self) -> bool:
        return not self.openings

    def open_at(self, moment: datetime) -> bool:
        if self.always:
            return True
        local = moment.astimezone(self.zone)
        now = local.time()
        return any(local.weekday() in o.days and o.opens <= now < o.closes for o in self.openings)

    def describe(self) -> str:
        """For customers: "mon-fri 09:00-17:30; sat 10:00-14:00, Amsterdam time"."""
        if self.always:
            return "any time"
        city = self.zone.key.rsplit("/", 1)[-1].replace("_", " ")
        return f"{self.text}, {city} time"


def _opening(part: str) -> Opening:
    match = _PART.match(part)
    if not match:
        raise ValueError(
            f"business hours: cannot read {part!r}; "
            "write e.g. 'mon-fri 09:00-17:30; sat 10:00-14:00'"
        )
    first, last = match["first"], match["last"] or match["first"]
    for day in (first, last):
        if day not in DAYS:
            raise ValueError(f"business hours: {day!r} is not one of {', '.join(DAYS)}")
    start, end = DAYS.index(first), DAYS.index(last)
    days = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
    opens, closes = _time(match["open"]), _time(match["close"])
    if closes <= opens:
        raise ValueError(f"business hours: in {part!r} the closing time is not after opening")
    return Opening(frozenset(days), opens, closes)


def _time(text: str) -> time:
    hours, minutes = (int(n) for n in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"business hours: {text!r} is not a time of day")
    return time(hours, minutes)
