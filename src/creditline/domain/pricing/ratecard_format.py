"""The rate card document: one version of a price list as TOML or JSON (C2, C3, C8).

:func:`parse_ratecard` reads a document (TOML text, JSON text, or the equivalent
``dict``) into a :class:`~creditline.domain.pricing.RateCard`, and
:meth:`RateCard.to_dict() <creditline.domain.pricing.RateCard.to_dict>` writes one back;
reading what it wrote gives an equal card. A document that breaks any rule is refused
with one :class:`~creditline.domain.errors.InvalidRateCard` that lists *every* problem,
each starting with its location (``operations.train.matrix.Maximum.Fast: must not be
negative``; array items are ``[0]``-indexed; keys that are not bare words are quoted).

Numbers are exact. TOML and JSON text are read with their fractional numbers as
:class:`~decimal.Decimal` (``0.024`` is exactly 0.024); in a ``dict``, write them as
text (``"0.024"``), ints or Decimals: a float is refused. Amounts of credits are in
credits (not micro-credits); the engine converts.

A full example (every key; ``#`` comments say which are optional)::

    format = 1                              # optional: the document format, only 1 so far
    name = "acme"                           # the card; every version shares it
    version = "2026-02"                     # this version's label, unique within the card
    effective_from = 2026-02-01T00:00:00Z   # in force from here until the next version
    description = "Acme's prices"           # optional

    # optional: the rounding of every price that sets none. Without it: up, 0.000001.
    # mode: up | down | half_up | half_even; increment: in credits (a multiple of 0.000001)
    rounding = { mode = "up", increment = "0.000001" }

    # optional: a time-of-day rate for every operation that sets none (C8). The window is
    # [start, end) in the zone's local time (UTC, +02:00, or an IANA name such as
    # Europe/Berlin); start after end wraps past midnight.
    off_peak = { start = "22:00", end = "06:00", zone = "UTC", multiplier = 0.5 }

    # Each operation has exactly one price form (flat, per_unit, matrix, formula,
    # models, pipeline), then optional multipliers, rounding and off_peak.

    [operations.ping]
    description = "A health check"          # optional, on every operation
    flat = 0.01                             # credits per call

    [operations.translate]
    per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }
    # per: optional (1); its only prime factors are 2 and 5, so the rate is an exact decimal

    [operations.train]
    dimensions = ["mode", "delivery"]       # the matrix's dimensions, outermost first
    rounding = { mode = "up", increment = 1 }   # this price: up to whole credits
    # unit = { quantity = "rows", per = 1000 }  # optional: each cell is then per unit
    [operations.train.matrix]               # every combination needs a price
    Basic    = { Standard = 1,  Fast = 2 }
    Business = { Standard = 3,  Fast = 5 }

    [[operations.train.multipliers]]        # optional, any number: applied in order
    quantity = "attributes"
    bands = [                               # inclusive, ascending, not overlapping;
      { from = 1,  to = 5,  multiplier = 0.5 },     # a value in no band is refused;
      { from = 6,  to = 20, multiplier = 1 },       # the last may omit "to"
      { from = 21,          multiplier = 2 },
    ]

    [operations.benchmark]                  # a sum of terms: credits x quantities / per
    [[operations.benchmark.formula]]
    label = "setup"                         # optional
    credits = 0.5                           # no quantities: a constant per run
    [[operations.benchmark.formula]]
    credits = 0.001
    quantities = ["model_params_b", "samples"]   # at most 4
    per = 1                                 # optional (1)

    [operations.generate]                   # one price per model, set by its supplier
    dimension = "model"                     # optional ("model"): the dimension choosing
    [operations.generate.models.gpt-4]
    supplier = "OpenAI"
    per_unit = { credits = 60, quantity = "tokens", per = 1_000_000 }
    [operations.generate.models.echo]       # each model: flat, per_unit or formula
    supplier = "Acme"
    flat = 0

    [operations.design]                     # the sum of the steps given when pricing
    pipeline = { allow = ["translate", "generate"] }   # optional allow-list; {} = any

Names of quantities and dimensions are lower-case words (``characters``,
``model_params_b``); operation names are letters, digits and ``_ . : / -``; dimension
values and model names are any non-empty text.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from creditline.domain.amounts import parse_credits
from creditline.domain.errors import InvalidAmount, InvalidRateCard
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
from creditline.domain.pricing.ratecard import RateCard, ratecard_problems
from creditline.domain.pricing.rounding import DEFAULT_ROUNDING, Rounding
from creditline.domain.pricing.validation import _must_be, brief_repr, path
from creditline.domain.pricing.values import _from_iso

__all__ = ["FORMAT", "FORMS", "parse_ratecard"]

FORMAT = 1
"""The document format this module reads and :meth:`RateCard.to_dict` writes."""

FORMS = ("flat", "per_unit", "matrix", "formula", "models", "pipeline")
"""The keys of the price forms; an operation has exactly one."""

_SIMPLE_FORMS = ("flat", "per_unit", "formula")
_CARD_KEYS = (
    "format",
    "name",
    "version",
    "effective_from",
    "description",
    "rounding",
    "off_peak",
    "operations",
)
_OPERATION_KEYS = (
    "description",
    *FORMS,
    "dimensions",
    "unit",
    "dimension",
    "multipliers",
    "rounding",
    "off_peak",
)
_STAND_IN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_FORM_EXTRAS = {"dimensions": "matrix", "unit": "matrix", "dimension": "models"}


def parse_ratecard(
    source: str | bytes | Mapping[str, Any], *, syntax: Literal["toml", "json"] = "toml"
) -> RateCard:
    """Read one rate card version from a document.

    Args:
        source: TOML or JSON text (``str`` or UTF-8 ``bytes``), or the document already
            parsed into a mapping (from JSON, YAML or code).
        syntax: how to read text: ``"toml"`` (the default) or ``"json"``.

    Returns:
        The validated card.

    Raises:
        InvalidRateCard: listing every problem of the document, each with its location.
    """
    document = _load(source, syntax)
    reader = _Reader()
    fields = reader.card(document)
    operations = reader.operations(document.get("operations"))
    problems = reader.problems + ratecard_problems(operations=operations, **fields)
    if problems:
        raise InvalidRateCard(problems)
    built = {name: offer for name, offer in operations.items() if offer is not None}
    return RateCard(operations=built, **fields)


def _load(source: str | bytes | Mapping[str, Any], syntax: str) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    try:
        text = source.decode("utf-8") if isinstance(source, bytes) else source
        if syntax == "toml":
            document: object = tomllib.loads(text, parse_float=Decimal)
        elif syntax == "json":
            document = json.loads(text, parse_float=Decimal)
        else:
            raise InvalidRateCard([f"syntax: must be toml or json, got {syntax!r}"])
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRateCard([f"document: not valid {syntax.upper()}: {exc}"]) from None
    if not isinstance(document, Mapping):
        raise InvalidRateCard(["document: must be a table (a JSON object)"])
    return document


class _Reader:
    """Turns a document's shape into pricing objects, noting every shape problem.

    Only the shape is checked here (tables, arrays, required and unknown keys, which
    form an operation has); values (numbers, names, times) are passed on as they are
    and checked by the pricing objects themselves, so the library API and documents
    report the same problems. A part whose shape is broken is not built (and so not
    checked further); the rest still is.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def table(self, value: object, where: str) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.note(_must_be(where, "a table", value))
        return None

    def array(self, value: object, where: str) -> list[Any] | None:
        if isinstance(value, list):
            return value
        self.note(_must_be(where, "an array", value))
        return None

    def keys(
        self,
        table: Mapping[str, Any],
        where: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
    ) -> bool:
        """Note unknown and missing keys; whether every required key is there."""
        for key in table:
            if key not in allowed:
                self.note(f"{path(where, str(key))}: unknown key (known: {', '.join(allowed)})")
        missing = [key for key in required if key not in table]
        for key in missing:
            self.note(f"{path(where, key)}: missing")
        return not missing

    # ----------------------------------------------------------------- the card

    def card(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The card's own fields, for :func:`ratecard_problems` and :class:`RateCard`."""
        # A missing "operations" is left to the pricing check ("prices at least one").
        self.keys(document, "", _CARD_KEYS, ("name", "version", "effective_from"))
        if document.get("format", FORMAT) != FORMAT:
            self.note(_must_be("format", str(FORMAT), document["format"]))
        rounding = document.get("rounding")
        off_peak = document.get("off_peak")
        # A missing name, version or time is noted above; a valid stand-in keeps the
        # pricing checks from noting it a second time (the card is refused either way).
        return {
            "name": document.get("name", "?"),
            "version": document.get("version", "?"),
            "effective_from": _from_iso(document.get("effective_from", _STAND_IN_TIME), datetime),
            "description": document.get("description", ""),
            "rounding": DEFAULT_ROUNDING
            if rounding is None
            else self.rounding(rounding, "rounding"),
            "off_peak": None if off_peak is None else self.off_peak(off_peak, "off_peak"),
        }

    def operations(self, value: object) -> dict[str, OperationPrice | None]:
        """Each operation, or ``None`` where its price form could not be read."""
        if value is None:
            return {}
        table = self.table(value, "operations")
        if table is None:
            return {}
        return {
            str(name): self.operation(entry, path("operations", str(name)))
            for name, entry in table.items()
        }

    def operation(self, value: object, where: str) -> OperationPrice | None:
        table = self.table(value, where)
        if table is None:
            return None
        self.keys(table, where, _OPERATION_KEYS, ())
        for extra, owner in _FORM_EXTRAS.items():
            if extra in table and owner not in table:
                self.note(f"{path(where, extra)}: only for a {owner} price")
        form = self.form(table, where, FORMS)
        multipliers = self.multipliers(table.get("multipliers", []), path(where, "multipliers"))
        rounding, off_peak = table.get("rounding"), table.get("off_peak")
        if rounding is not None:
            rounding = self.rounding(rounding, path(where, "rounding"))
        if off_peak is not None:
            off_peak = self.off_peak(off_peak, path(where, "off_peak"))
        if form is None:
            return None
        return OperationPrice(form, multipliers, rounding, off_peak, table.get("description", ""))

    # ----------------------------------------------------------------- price forms

    def form(
        self, table: Mapping[str, Any], where: str, forms: tuple[str, ...]
    ) -> PriceForm | None:
        present = [key for key in forms if key in table]
        if len(present) != 1:
            found = ", ".join(present) if present else "none"
            self.note(
                f"{where}: must have exactly one price: one of {', '.join(forms)} (found {found})"
            )
            return None
        kind = present[0]
        value = table[kind]
        at = path(where, kind)
        if kind == "flat":
            return Flat(value)
        if kind == "per_unit":
            return self.per_unit(value, at)
        if kind == "formula":
            return self.formula(value, at)
        if kind == "matrix":
            return self.matrix(table, where)
        if kind == "models":
            return self.models(table, where)
        return self.pipeline(value, at)

    def per_unit(self, value: object, where: str) -> PerUnit | None:
        table = self.table(value, where)
        if table is None or not self.keys(
            table, where, ("credits", "quantity", "per"), ("credits", "quantity")
        ):
            return None
        return PerUnit(table["credits"], table["quantity"], table.get("per", 1))

    def formula(self, value: object, where: str) -> Formula | None:
        items = self.array(value, where)
        if items is None:
            return None
        terms = [self.term(item, path(where, index)) for index, item in enumerate(items)]
        if any(term is None for term in terms):
            return None
        return Formula(tuple(term for term in terms if term is not None))

    def term(self, value: object, where: str) -> Term | None:
        table = self.table(value, where)
        allowed = ("credits", "quantities", "per", "label")
        if table is None or not self.keys(table, where, allowed, ("credits",)):
            return None
        return Term(
            table["credits"],
            table.get("quantities", ()),
            table.get("per", 1),
            table.get("label", ""),
        )

    def matrix(self, operation: Mapping[str, Any], where: str) -> Matrix | None:
        dimensions = operation.get("dimensions")
        if not isinstance(dimensions, list) or not dimensions:
            self.note(
                f"{path(where, 'dimensions')}: a matrix needs the list of its dimensions, "
                f"got {brief_repr(dimensions)}"
            )
            return None
        cells = self.cells(operation["matrix"], path(where, "matrix"), [str(d) for d in dimensions])
        unit = self.unit(operation.get("unit"), path(where, "unit"))
        if cells is None or unit is None:
            return None
        return Matrix(tuple(dimensions), cells, *unit)

    def cells(
        self, value: object, where: str, dimensions: list[str]
    ) -> dict[tuple[str, ...], Any] | None:
        """The cells of a matrix nested one table per dimension, keyed by value tuples."""
        table = self.table(value, where)
        if table is None:
            return None
        if not table:
            self.note(f"{where}: must have at least one {dimensions[0]} value")
            return None
        cells: dict[tuple[str, ...], Any] = {}
        whole = True
        for key, inner in table.items():
            at = path(where, str(key))
            if len(dimensions) == 1:
                if isinstance(inner, Mapping):
                    self.note(f"{at}: must be a price; the matrix has no more dimensions")
                    whole = False
                cells[(key,)] = inner
                continue
            below = self.cells(inner, at, dimensions[1:])
            whole = whole and below is not None
            cells.update({(key, *rest): cell for rest, cell in (below or {}).items()})
        return cells if whole else None

    def unit(self, value: object, where: str) -> tuple[str | None, int] | None:
        if value is None:
            return (None, 1)
        table = self.table(value, where)
        if table is None or not self.keys(table, where, ("quantity", "per"), ("quantity",)):
            return None
        return (table["quantity"], table.get("per", 1))

    def models(self, operation: Mapping[str, Any], where: str) -> SupplierPrices | None:
        at = path(where, "models")
        table = self.table(operation["models"], at)
        if table is None:
            return None
        models = {
            str(name): self.model(entry, path(at, str(name))) for name, entry in table.items()
        }
        if any(model is None for model in models.values()):
            return None
        chosen = {name: model for name, model in models.items() if model is not None}
        return SupplierPrices(chosen, operation.get("dimension", "model"))

    def model(self, value: object, where: str) -> ModelPrice | None:
        table = self.table(value, where)
        if table is None or not self.keys(
            table, where, ("supplier", *_SIMPLE_FORMS), ("supplier",)
        ):
            return None
        form = self.form(table, where, _SIMPLE_FORMS)
        if not isinstance(form, SimplePrice):
            return None
        return ModelPrice(table["supplier"], form)

    def pipeline(self, value: object, where: str) -> Pipeline | None:
        table = self.table(value, where)
        if table is None or not self.keys(table, where, ("allow",), ()):
            return None
        return Pipeline(table.get("allow", ()))

    # ---------------------------------------------------------------- modifiers

    def multipliers(self, value: object, where: str) -> tuple[MultiplierBands, ...]:
        items = self.array(value, where)
        built = [self.bands(item, path(where, index)) for index, item in enumerate(items or [])]
        return tuple(bands for bands in built if bands is not None)

    def bands(self, value: object, where: str) -> MultiplierBands | None:
        table = self.table(value, where)
        if table is None or not self.keys(
            table, where, ("quantity", "bands"), ("quantity", "bands")
        ):
            return None
        items = self.array(table["bands"], path(where, "bands"))
        if items is None:
            return None
        bands = [self.band(item, path(where, "bands", index)) for index, item in enumerate(items)]
        if any(band is None for band in bands):
            return None
        return MultiplierBands(table["quantity"], tuple(band for band in bands if band is not None))

    def band(self, value: object, where: str) -> Band | None:
        table = self.table(value, where)
        if table is None or not self.keys(
            table, where, ("from", "to", "multiplier"), ("from", "multiplier")
        ):
            return None
        return Band(table["from"], table.get("to"), table["multiplier"])

    def rounding(self, value: object, where: str) -> Rounding:
        """The rule; a broken one is noted and replaced by the default, to check the rest."""
        table = self.table(value, where)
        if table is None or not self.keys(
            table, where, ("mode", "increment"), ("mode", "increment")
        ):
            return DEFAULT_ROUNDING
        try:
            increment = parse_credits(table["increment"])
        except InvalidAmount as exc:
            self.note(
                f"{path(where, 'increment')}: {exc.reason}, got {brief_repr(table['increment'])}"
            )
            return DEFAULT_ROUNDING
        return Rounding(table["mode"], increment)

    def off_peak(self, value: object, where: str) -> OffPeak | None:
        table = self.table(value, where)
        allowed = ("start", "end", "zone", "multiplier")
        if table is None or not self.keys(table, where, allowed, ("start", "end", "multiplier")):
            return None
        return OffPeak(table["start"], table["end"], table["multiplier"], table.get("zone", "UTC"))
