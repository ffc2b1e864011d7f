"""Price forms: an operation's base cost, before multipliers and rounding.

:class:`Flat` (per call), :class:`PerUnit` (per ``per`` units of a quantity),
:class:`Formula` (a sum of :class:`Term` s) price usage directly (a :data:`SimplePrice`);
:class:`Matrix` and :class:`SupplierPrices` pick a simple price by the values of
dimensions; a :class:`Pipeline` is the sum of its steps, each priced as its own
operation. Each form checks itself (``problems``), names the quantities it reads, picks
its simple price for the dimensions given (``select``) and writes its document form
(``to_dict``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from creditline.domain.amounts import MICROS_PER_CREDIT
from creditline.domain.pricing.quote import Component
from creditline.domain.pricing.validation import (
    _MAX_LABEL,
    _OPERATION,
    _each_problems,
    _label_problems,
    _must_be,
    _name_problems,
    _names_problems,
    _number_problems,
    _per_problems,
    brief_repr,
    path,
)
from creditline.domain.pricing.values import (
    _EMPTY,
    MAX_TERM_QUANTITIES,
    _plain,
    _to_decimal,
    _to_tuple,
)


class _Selected(NamedTuple):
    """What a form's dimensions picked: a simple price, and how it was picked."""

    price: SimplePrice
    selection: Mapping[str, str]
    supplier: str | None
    label: str


@dataclass(frozen=True, slots=True)
class Flat:
    """A price per call: ``Flat(Decimal(3))`` costs 3 credits whatever the quantities.

    Document form: ``flat = 3``.
    """

    credits: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", _to_decimal(self.credits))

    def problems(self, where: str) -> list[str]:
        return _number_problems(self.credits, path(where, "flat"))

    def quantity_names(self) -> tuple[str, ...]:
        return ()

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected:
        return _Selected(self, _EMPTY, None, "")

    def components(self, quantities: Mapping[str, Decimal]) -> tuple[Component, ...]:
        micros = self.credits * MICROS_PER_CREDIT
        return (Component(f"{_plain(self.credits)} credits per call", micros),)

    def to_dict(self) -> dict[str, Any]:
        return {"flat": _plain(self.credits)}


@dataclass(frozen=True, slots=True)
class PerUnit:
    """``credits`` per ``per`` units of ``quantity``.

    ``PerUnit(Decimal(10), "characters", 1_000_000)`` is 10 credits per million
    characters; ``PerUnit(Decimal("0.024"), "minutes")`` is 0.024 credits a minute.

    Document form: ``per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }``
    (``per`` defaults to 1).
    """

    credits: Decimal
    quantity: str
    per: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", _to_decimal(self.credits))

    def problems(self, where: str) -> list[str]:
        base = path(where, "per_unit")
        return [
            *_number_problems(self.credits, path(base, "credits")),
            *_name_problems(self.quantity, path(base, "quantity")),
            *_per_problems(self.per, path(base, "per")),
        ]

    def quantity_names(self) -> tuple[str, ...]:
        return (self.quantity,)

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected:
        return _Selected(self, _EMPTY, None, "")

    def components(self, quantities: Mapping[str, Decimal]) -> tuple[Component, ...]:
        amount = quantities[self.quantity]
        micros = self.credits * MICROS_PER_CREDIT * amount / self.per
        label = f"{_plain(amount)} {self.quantity} x {_plain(self.credits)} credits"
        if self.per != 1:
            label += f" / {self.per}"
        return (Component(label, micros),)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_unit": {
                "credits": _plain(self.credits),
                "quantity": self.quantity,
                "per": self.per,
            }
        }


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a :class:`Formula`: ``credits x quantities[0] x ... / per``.

    A term with no quantities is a constant (a fee per run).
    """

    credits: Decimal
    quantities: tuple[str, ...] = ()
    per: int = 1
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", _to_decimal(self.credits))
        object.__setattr__(self, "quantities", _to_tuple(self.quantities))

    def problems(self, where: str) -> list[str]:
        found = _number_problems(self.credits, path(where, "credits"))
        found += _names_problems(self.quantities, path(where, "quantities"), MAX_TERM_QUANTITIES)
        found += _per_problems(self.per, path(where, "per"))
        if not isinstance(self.label, str) or len(self.label) > _MAX_LABEL:
            found.append(f"{path(where, 'label')}: must be a string of at most {_MAX_LABEL}")
        return found

    def component(self, quantities: Mapping[str, Decimal]) -> Component:
        micros = self.credits * MICROS_PER_CREDIT
        parts = [f"{_plain(self.credits)} credits"]
        for name in self.quantities:
            micros *= quantities[name]
            parts.append(f"{_plain(quantities[name])} {name}")
        micros /= self.per
        text = " x ".join(parts) + (f" / {self.per}" if self.per != 1 else "")
        return Component(f"{self.label}: {text}" if self.label else text, micros)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"credits": _plain(self.credits)}
        if self.quantities:
            out["quantities"] = list(self.quantities)
        if self.per != 1:
            out["per"] = self.per
        if self.label:
            out["label"] = self.label
        return out


@dataclass(frozen=True, slots=True)
class Formula:
    """A cost computed from several quantities: the sum of its :class:`Term` s.

    Benchmarking a model on a dataset, for example::

        Formula((Term(Decimal("0.5")),                                   # per run
                 Term(Decimal("0.001"), ("model_params_b", "samples"))))  # size x size

    Document form: an array of tables under ``formula``, each with ``credits`` and
    optional ``quantities`` (a list of names), ``per`` and ``label``.
    """

    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", _to_tuple(self.terms))

    def problems(self, where: str) -> list[str]:
        base = path(where, "formula")
        if not isinstance(self.terms, tuple) or not self.terms:
            return [f"{base}: must have at least one term"]
        return _each_problems(self.terms, Term, base, "a term")

    def quantity_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for term in self.terms for name in term.quantities))

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected:
        return _Selected(self, _EMPTY, None, "")

    def components(self, quantities: Mapping[str, Decimal]) -> tuple[Component, ...]:
        return tuple(term.component(quantities) for term in self.terms)

    def to_dict(self) -> dict[str, Any]:
        return {"formula": [term.to_dict() for term in self.terms]}


SimplePrice = Flat | PerUnit | Formula
"""The forms that price usage directly; a matrix cell or a model resolves to one."""


@dataclass(frozen=True, slots=True)
class Matrix:
    """A price picked by the values of several dimensions.

    ``cells`` maps one value per dimension, in the order of ``dimensions``, to credits.
    Every combination of the values that appear must have a price. With ``quantity``
    set, each cell is credits per ``per`` units of that quantity instead of per call.

    Document form (OTAI training runs)::

        dimensions = ["mode", "delivery"]
        [operations.train.matrix]
        Basic    = { Standard = 1,  Fast = 2 }
        Business = { Standard = 3,  Fast = 5 }
        Maximum  = { Standard = 12, Fast = 18 }
        # optional: unit = { quantity = "characters", per = 1_000_000 }
    """

    dimensions: tuple[str, ...]
    cells: Mapping[tuple[str, ...], Decimal] = field(hash=False)
    quantity: str | None = None
    per: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", _to_tuple(self.dimensions))
        if isinstance(self.cells, Mapping):
            cells = {_to_tuple(key): _to_decimal(value) for key, value in self.cells.items()}
            object.__setattr__(self, "cells", MappingProxyType(cells))

    def values(self) -> dict[str, tuple[str, ...]]:
        """Each dimension's values, in the order they first appear in ``cells``."""
        seen: list[dict[str, None]] = [{} for _ in self.dimensions]
        for key in self.cells:
            if isinstance(key, tuple) and len(key) == len(self.dimensions):
                for level, value in zip(seen, key, strict=True):
                    level[value] = None
        return {dim: tuple(level) for dim, level in zip(self.dimensions, seen, strict=True)}

    def problems(self, where: str) -> list[str]:
        found = _names_problems(self.dimensions, path(where, "dimensions"), 8, dimensions=True)
        if not isinstance(self.dimensions, tuple) or not self.dimensions:
            return found
        if not isinstance(self.cells, Mapping) or not self.cells:
            return [*found, f"{path(where, 'matrix')}: must have at least one price"]
        found += self._cell_problems(where, complete=not found)
        if self.quantity is not None:
            found += _name_problems(self.quantity, path(where, "unit", "quantity"))
            found += _per_problems(self.per, path(where, "unit", "per"))
        elif self.per != 1:
            found.append(f"{path(where, 'unit', 'per')}: needs unit.quantity")
        return found

    def _cell_problems(self, where: str, *, complete: bool) -> list[str]:
        """Each cell's problems; then, if all is well so far, the missing combinations."""
        keys, numbers = [], []
        width = len(self.dimensions)
        for key, value in self.cells.items():
            if not isinstance(key, tuple) or len(key) != width:
                keys.append(f"{path(where, 'matrix')}: key {brief_repr(key)} needs {width} values")
                continue
            labels = [p for v in key for p in _label_problems(v, path(where, "matrix", str(v)))]
            keys += labels
            numbers += [] if labels else _number_problems(value, path(where, "matrix", *key))
        found = keys + numbers
        if keys or not complete:
            return found
        shape = " x ".join(self.dimensions)
        for combination in itertools.product(*self.values().values()):
            if combination not in self.cells:
                found.append(
                    f"{path(where, 'matrix', *combination)}: missing: every combination of "
                    f"{shape} needs a price"
                )
        return found

    def quantity_names(self) -> tuple[str, ...]:
        return () if self.quantity is None else (self.quantity,)

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected | None:
        key = _choose(self.values(), dimensions, problems)
        if key is None:
            return None
        cell = self.cells[key]
        simple: SimplePrice = (
            Flat(cell) if self.quantity is None else PerUnit(cell, self.quantity, self.per)
        )
        selection = dict(zip(self.dimensions, key, strict=True))
        return _Selected(simple, selection, None, " x ".join(key))

    def to_dict(self) -> dict[str, Any]:
        nested: dict[str, Any] = {}
        for key, value in self.cells.items():
            level = nested
            for part in key[:-1]:
                level = level.setdefault(part, {})
            level[key[-1]] = _plain(value)
        out: dict[str, Any] = {"dimensions": list(self.dimensions), "matrix": nested}
        if self.quantity is not None:
            out["unit"] = {"quantity": self.quantity, "per": self.per}
        return out


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's price as its supplier sets it: ``ModelPrice("Azure", PerUnit(...))``."""

    supplier: str
    price: SimplePrice


@dataclass(frozen=True, slots=True)
class SupplierPrices:
    """One price per model, set by the model's supplier, picked by a dimension.

    The platform adds no fee and no markup: a call costs exactly the model's price
    (then the operation's multipliers and rounding, if it sets any). Each model's price
    is a :class:`Flat`, :class:`PerUnit` or :class:`Formula`, so models of one operation
    may be priced in different units.

    Document form (aiXplain)::

        [operations.translate]
        dimension = "model"                       # the default
        [operations.translate.models.azure-translator]
        supplier = "Azure"
        per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }
    """

    models: Mapping[str, ModelPrice] = field(hash=False)
    dimension: str = "model"

    def __post_init__(self) -> None:
        if isinstance(self.models, Mapping):
            object.__setattr__(self, "models", MappingProxyType(dict(self.models)))

    def problems(self, where: str) -> list[str]:
        found = _name_problems(self.dimension, path(where, "dimension"))
        if not isinstance(self.models, Mapping) or not self.models:
            return [*found, f"{path(where, 'models')}: must have at least one model"]
        for name, model in self.models.items():
            at = path(where, "models", str(name))
            found += _label_problems(name, at)
            if not isinstance(model, ModelPrice):
                found.append(_must_be(at, "a model price", model))
                continue
            found += _label_problems(model.supplier, path(at, "supplier"))
            if isinstance(model.price, SimplePrice):
                found += model.price.problems(at)
            else:
                found.append(f"{at}: a model's price is flat, per_unit or formula")
        return found

    def quantity_names(self) -> tuple[str, ...]:
        names = (name for m in self.models.values() for name in m.price.quantity_names())
        return tuple(dict.fromkeys(names))

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected | None:
        key = _choose({self.dimension: tuple(self.models)}, dimensions, problems)
        if key is None:
            return None
        model = self.models[key[0]]
        return _Selected(model.price, {self.dimension: key[0]}, model.supplier, key[0])

    def to_dict(self) -> dict[str, Any]:
        models = {
            name: {"supplier": model.supplier, **model.price.to_dict()}
            for name, model in self.models.items()
        }
        return {"dimension": self.dimension, "models": models}


@dataclass(frozen=True, slots=True)
class Pipeline:
    """An operation that costs the sum of its steps, each priced as its own operation.

    The steps are given when pricing (:class:`Step`), since a pipeline is designed by
    its user. ``allow`` limits which operations may be steps (empty: any operation of
    the card that is not itself a pipeline). A pipeline has no multipliers and no
    rounding of its own: each step is rounded by its own rule, and the total is the
    sum of the steps' totals.

    Document form: ``pipeline = { allow = ["translate", "transcribe"] }`` or
    ``pipeline = {}``.
    """

    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", _to_tuple(self.allow))

    def problems(self, where: str) -> list[str]:
        at = path(where, "pipeline", "allow")
        if not isinstance(self.allow, tuple):
            return [f"{at}: must be a list of operation names"]
        return [
            _must_be(path(at, index), "an operation name", name)
            for index, name in enumerate(self.allow)
            if not isinstance(name, str) or not _OPERATION.match(name)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"pipeline": {"allow": list(self.allow)} if self.allow else {}}


PriceForm = Flat | PerUnit | Matrix | Formula | SupplierPrices | Pipeline
"""The forms an operation's price can take."""


def _choose(
    values: Mapping[str, tuple[str, ...]], given: Mapping[str, object], problems: list[str]
) -> tuple[str, ...] | None:
    """The value of each dimension in ``given``, if all are there and known."""
    key = []
    for dimension, allowed in values.items():
        choice = given.get(dimension)
        known = ", ".join(allowed)
        if choice is None:
            problems.append(f"dimensions.{dimension}: missing (one of {known})")
        elif choice not in allowed:
            problems.append(
                f"dimensions.{dimension}: unknown value {brief_repr(choice)} (one of {known})"
            )
        else:
            key.append(str(choice))
    return tuple(key) if len(key) == len(values) else None
