"""Pricing: what an operation costs, by the rate card in force (requirements C2, C3, C8).

A **rate card** is one version of a platform's price list: a name (``"otai"``), a
version label (``"2026-01"``), the instant it takes effect (``effective_from``) and
a price for each operation the platform meters (``"train"``, ``"translate"``).
Versions of one card form a :class:`RateCardHistory`; a version is *in force* on the
half-open interval ``[effective_from, next version's effective_from)``. A usage event
is priced by the version in force at the event's own timestamp, and a new version may
only take effect from now on (:meth:`RateCardHistory.add`), so a new price never
changes what past usage cost, late events included.

An operation's price (:class:`OperationPrice`) is one **form**, giving the *base*
cost, then optional **multipliers**, then one **rounding** rule:

- :class:`Flat`: ``credits`` per call.
- :class:`PerUnit`: ``credits`` per ``per`` units of a quantity (10 credits per
  1_000_000 ``characters``; 0.024 credits per ``minutes``).
- :class:`Matrix`: a price picked by the values of dimensions (``mode`` x
  ``delivery``: Business/Standard = 3 credits), per call or per unit.
- :class:`Formula`: a sum of terms, each ``credits x q1 x q2 ... / per``
  (benchmarking by model size and dataset size).
- :class:`SupplierPrices`: one price per model, set by its supplier and picked by a
  dimension (``model``); the platform adds nothing on top.
- :class:`Pipeline`: the sum of its steps, each priced as its own operation.

Then:

- :class:`MultiplierBands` multiply the base by the band a quantity falls in
  (``attributes`` 1..5 x0.5, 6..20 x1, 21..50 x2, 51..200 x4); a value in no band
  is refused.
- :class:`OffPeak` multiplies by its factor when the event's local time of day is
  inside its window (22:00-06:00 in a zone) (C8). The card may set one for all of its
  operations; an operation's own replaces it.

The arithmetic is exact: prices, multipliers and quantities are :class:`~decimal.Decimal`
(never floats; ints and decimal strings are accepted), every ``per`` is a divisor whose
reciprocal is an exact decimal (only the prime factors 2 and 5: 1, 1000, 1_000_000,
1024), and products are taken in a context that raises instead of rounding. So::

    exact = base x multiplier_1 x ... x multiplier_n      (micro-credits, a Decimal)
    total = round_to_increment(exact, rounding.increment, rounding.mode)   (an int)

:func:`round_to_increment` is the only place a cost is rounded, once per priced
operation, to a multiple of the rule's increment (1 = the micro-credit, 1_000_000 =
whole credits) in one of four modes (:class:`RoundingMode`). A price with no rule of
its own uses the card's, and a card with none rounds *up to the micro-credit*. A
pipeline does not round again: its total is the sum of its steps' rounded totals.

:func:`price` returns a :class:`Quote` without spending anything: the total in
micro-credits and the breakdown (components of the base, multipliers applied, the
exact value, the rounding and what it added, the steps of a pipeline), so a platform
can say "this run will cost 12 credits" before it starts::

    card = parse_ratecard(Path("examples/otai/ratecard.toml").read_text())
    quote = price(card, "train", {"attributes": 3}, {"mode": "Business", "delivery": "Standard"})
    quote.total          # 2_000_000 micro-credits: 3 credits x 0.5 = 1.5, rounded up
    history.price("train", {...}, {...}, at=event_time)   # the version in force then

:meth:`RateCardHistory.charge` is the ingest path's price: only the card, the version,
the total and a pipeline's step totals (a :class:`Charge`), always equal to what
:meth:`RateCardHistory.price` gives (and refusing what it refuses, with the same
error). It prices the common cases (int quantities, no off-peak rate) by integer
arithmetic, compiled once per version and operation: each price becomes a sum of
``coefficient x quantity x ...`` over one denominator, each band multiplier a ratio of
ints, and the exact ratio is rounded as :func:`round_to_increment` rounds it. Anything
else it hands to the full pricing, which also names every problem.

Rate cards built in code are validated when constructed; every problem is reported at
once in one :class:`~creditline.domain.errors.InvalidRateCard`, each located by a path
into the card's document form (``operations.train.matrix.Maximum.Fast: must not be
negative``) so the library and files (:mod:`creditline.domain.pricing.ratecard_format`) speak
the same language. Bad usage raises :class:`~creditline.domain.errors.InvalidUsage`
naming every bad field (``quantities.minutes: missing``).

Where each rule lives:

- :mod:`~creditline.domain.pricing.rounding`: :func:`round_to_increment`, the modes, the
  default rule.
- :mod:`~creditline.domain.pricing.forms`: the price forms (flat, per unit, formula,
  matrix, supplier prices, pipeline).
- :mod:`~creditline.domain.pricing.multipliers`: bands and the off-peak rate.
- :mod:`~creditline.domain.pricing.operation`: an operation's price (form, multipliers,
  rounding).
- :mod:`~creditline.domain.pricing.ratecard`: the card, its checks, and :func:`price`.
- :mod:`~creditline.domain.pricing.evaluate`: usage read and checked, bands applied,
  exact arithmetic.
- :mod:`~creditline.domain.pricing.versions`: a card's history, the version in force,
  :meth:`RateCardHistory.charge`.
- :mod:`~creditline.domain.pricing.compiled`: the integer fast path of ``charge``.
- :mod:`~creditline.domain.pricing.ratecard_format`: the rate card document (TOML, JSON).
- :mod:`~creditline.domain.pricing.quote`: steps, quotes and their breakdown, charges.
- :mod:`~creditline.domain.pricing.validation`: how a problem is found and located.
- :mod:`~creditline.domain.pricing.values`: exact numbers and their bounds, times, zones.
"""

from creditline.domain.pricing.forms import (
    Flat,
    Formula,
    Matrix,
    ModelPrice,
    PerUnit,
    Pipeline,
    PriceForm,
    SimplePrice,
    SupplierPrices,
    Term,
)
from creditline.domain.pricing.multipliers import Band, MultiplierBands, OffPeak
from creditline.domain.pricing.operation import OperationPrice
from creditline.domain.pricing.quote import AppliedMultiplier, Charge, Component, Quote, Step
from creditline.domain.pricing.ratecard import RateCard, price, ratecard_problems
from creditline.domain.pricing.rounding import (
    DEFAULT_ROUNDING,
    Rounding,
    RoundingMode,
    round_to_increment,
)
from creditline.domain.pricing.validation import path
from creditline.domain.pricing.values import Quantity
from creditline.domain.pricing.versions import RateCardHistory

__all__ = [
    "DEFAULT_ROUNDING",
    "AppliedMultiplier",
    "Band",
    "Charge",
    "Component",
    "Flat",
    "Formula",
    "Matrix",
    "ModelPrice",
    "MultiplierBands",
    "OffPeak",
    "OperationPrice",
    "PerUnit",
    "Pipeline",
    "PriceForm",
    "Quantity",
    "Quote",
    "RateCard",
    "RateCardHistory",
    "Rounding",
    "RoundingMode",
    "SimplePrice",
    "Step",
    "SupplierPrices",
    "Term",
    "path",
    "price",
    "ratecard_problems",
    "round_to_increment",
]
