"""An operation's price: one form, then optional multipliers, then one rounding rule.

The form gives the base cost (:mod:`~creditline.domain.pricing.forms`), the multipliers
multiply it (:mod:`~creditline.domain.pricing.multipliers`), and the rule rounds the
result once (:mod:`~creditline.domain.pricing.rounding`). A rounding rule or off-peak
rate left unset here is the card's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from creditline.domain.pricing.forms import Pipeline, PriceForm
from creditline.domain.pricing.multipliers import MultiplierBands, OffPeak
from creditline.domain.pricing.rounding import Rounding
from creditline.domain.pricing.validation import _each_problems, _problems_of, brief_repr, path
from creditline.domain.pricing.values import _to_tuple


@dataclass(frozen=True, slots=True)
class OperationPrice:
    """What one operation costs: a form, multipliers, a rounding rule.

    Attributes:
        form: the base cost (see the module docstring for the forms).
        multipliers: bands of quantities that multiply the base, applied in order.
        rounding: this price's rule; ``None`` uses the card's.
        off_peak: this price's time-of-day rate; ``None`` uses the card's.
        description: free text for people.
    """

    form: PriceForm
    multipliers: tuple[MultiplierBands, ...] = ()
    rounding: Rounding | None = None
    off_peak: OffPeak | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "multipliers", _to_tuple(self.multipliers))

    def problems(self, where: str) -> list[str]:
        """Every problem of this price, located under ``where`` (its document table)."""
        if isinstance(self.form, PriceForm):
            found = self.form.problems(where)
        else:
            found = [f"{where}: the price must be a price form, got {brief_repr(self.form)}"]
        found += self._modifier_problems(where)
        if not isinstance(self.description, str):
            found.append(f"{path(where, 'description')}: must be a string")
        if isinstance(self.form, Pipeline) and (
            self.multipliers or self.rounding is not None or self.off_peak is not None
        ):
            found.append(
                f"{where}: a pipeline is the sum of its steps, each with its own multipliers "
                "and rounding; it cannot have its own"
            )
        return found

    def _modifier_problems(self, where: str) -> list[str]:
        found = []
        if not isinstance(self.multipliers, tuple):
            found.append(f"{path(where, 'multipliers')}: must be a list of multiplier bands")
        else:
            at = path(where, "multipliers")
            found += _each_problems(self.multipliers, MultiplierBands, at, "multiplier bands")
        if self.rounding is not None:
            found += _problems_of(self.rounding, Rounding, path(where, "rounding"))
        if self.off_peak is not None:
            found += _problems_of(self.off_peak, OffPeak, path(where, "off_peak"))
        return found

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description} if self.description else {}
        out.update(self.form.to_dict())
        if self.multipliers:
            out["multipliers"] = [bands.to_dict() for bands in self.multipliers]
        if self.rounding is not None:
            out["rounding"] = self.rounding.to_dict()
        if self.off_peak is not None:
            out["off_peak"] = self.off_peak.to_dict()
        return out
