"""Multipliers: what multiplies an operation's base cost before it is rounded.

:class:`MultiplierBands` multiply by the :class:`Band` a quantity falls in (a value in
no band is refused); :class:`OffPeak` multiplies by its factor inside a daily window of
local time (C8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from creditline.domain.pricing.validation import (
    _each_problems,
    _must_be,
    _name_problems,
    _number_problems,
    path,
)
from creditline.domain.pricing.values import (
    _clock,
    _from_iso,
    _plain,
    _to_decimal,
    _to_tuple,
    _zone,
)


@dataclass(frozen=True, slots=True)
class Band:
    """Values of a quantity from ``low`` to ``high`` (both included; ``None``: no end)."""

    low: Decimal
    high: Decimal | None
    multiplier: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _to_decimal(self.low))
        object.__setattr__(self, "multiplier", _to_decimal(self.multiplier))
        if self.high is not None:
            object.__setattr__(self, "high", _to_decimal(self.high))

    def contains(self, value: Decimal) -> bool:
        return self.low <= value and (self.high is None or value <= self.high)

    def describe(self) -> str:
        """``"1..5"``; ``"201.."`` when there is no upper end."""
        return f"{_plain(self.low)}..{'' if self.high is None else _plain(self.high)}"

    def problems(self, where: str) -> list[str]:
        found = _number_problems(self.low, path(where, "from"))
        found += _number_problems(self.multiplier, path(where, "multiplier"))
        if self.high is not None:
            found += _number_problems(self.high, path(where, "to"))
            if not found and self.high < self.low:
                found.append(f"{path(where, 'to')}: must not be below from ({self.low})")
        return found


@dataclass(frozen=True, slots=True)
class MultiplierBands:
    """Multiply an operation's base by the band a quantity falls in (OTAI's attributes).

    Bands are in ascending order and do not overlap; a value in no band (0 or 250
    attributes when the bands cover 1..200) is refused as invalid usage.

    Document form::

        [[operations.train.multipliers]]
        quantity = "attributes"
        bands = [
          { from = 1,  to = 5,   multiplier = 0.5 },
          { from = 6,  to = 20,  multiplier = 1 },
        ]
    """

    quantity: str
    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", _to_tuple(self.bands))

    def problems(self, where: str) -> list[str]:
        found = _name_problems(self.quantity, path(where, "quantity"))
        at = path(where, "bands")
        if not isinstance(self.bands, tuple) or not self.bands:
            return [*found, f"{at}: must have at least one band"]
        if not all(isinstance(band, Band) for band in self.bands):
            return [*found, f"{at}: every band must be a Band"]
        bands = _each_problems(self.bands, Band, at, "a Band")
        return found + (bands or _order_problems(self.bands, at))

    def find(self, value: Decimal) -> Band | None:
        return next((band for band in self.bands if band.contains(value)), None)

    def describe(self) -> str:
        return ", ".join(band.describe() for band in self.bands)

    def to_dict(self) -> dict[str, Any]:
        bands = []
        for band in self.bands:
            entry = {"from": _plain(band.low), "multiplier": _plain(band.multiplier)}
            if band.high is not None:
                entry["to"] = _plain(band.high)
            bands.append(entry)
        return {"quantity": self.quantity, "bands": bands}


def _order_problems(bands: tuple[Band, ...], where: str) -> list[str]:
    found = []
    for index in range(1, len(bands)):
        before, band = bands[index - 1], bands[index]
        if before.high is None or band.low <= before.high:
            found.append(
                f"{path(where, index)}: must start above the end of {path('bands', index - 1)} "
                "(bands are in ascending order and do not overlap)"
            )
    return found


@dataclass(frozen=True, slots=True)
class OffPeak:
    """A time-of-day rate (C8): the price times ``multiplier`` inside a daily window.

    The window is ``[start, end)`` in the local time of ``zone`` (``"UTC"``, a fixed
    offset such as ``"+02:00"``, or an IANA name such as ``"Europe/Berlin"``, which
    follows daylight saving time); a window whose start is after its end wraps past
    midnight (22:00-06:00). The time that counts is the event's timestamp.

    Document form: ``off_peak = { start = "22:00", end = "06:00", zone = "UTC",
    multiplier = 0.5 }``.
    """

    start: time
    end: time
    multiplier: Decimal
    zone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _from_iso(self.start, time))
        object.__setattr__(self, "end", _from_iso(self.end, time))
        object.__setattr__(self, "multiplier", _to_decimal(self.multiplier))

    def problems(self, where: str) -> list[str]:
        found = [
            _must_be(path(where, name), 'a time of day such as "22:00"', value)
            for name, value in (("start", self.start), ("end", self.end))
            if not isinstance(value, time) or value.tzinfo is not None
        ]
        if not found and self.start == self.end:
            found.append(f"{path(where, 'end')}: must differ from start")
        if _zone(self.zone) is None:
            what = "UTC, an offset such as +02:00 or an IANA time zone such as Europe/Berlin"
            found.append(_must_be(path(where, "zone"), what, self.zone))
        return found + _number_problems(self.multiplier, path(where, "multiplier"))

    def applies(self, at: datetime) -> bool:
        """Whether the instant ``at`` falls inside the window, in the window's zone."""
        zone = _zone(self.zone)
        assert zone is not None  # a validated card only holds zones that resolve
        local = at.astimezone(zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def describe(self) -> str:
        return f"off-peak {_clock(self.start)}-{_clock(self.end)} {self.zone}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _clock(self.start),
            "end": _clock(self.end),
            "zone": self.zone,
            "multiplier": _plain(self.multiplier),
        }
