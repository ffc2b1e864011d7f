"""Scoped grants: credits that pay only for some operations (requirement B7).

A grant is *general* (no scope: it pays for anything) or *scoped*: a
:class:`GrantScope` lists the uses it pays for, each a :class:`ScopeRule` naming one
operation of the rate card and, optionally, the values some of its dimensions may
take. A charge is **covered** by a scope when one of its rules names the charge's
operation and every dimension the rule limits has one of the allowed values. OTAI's
onboarding guarantee ("1 training run + 1 improvement iteration") is a grant scoped
to ``train`` in any mode::

    [{ operation = "train", dimensions = { mode = "any" } }]

Document form (TOML or JSON): a list of rules (a single rule may be given as a table);
a dimension's values are a list of names, one name, or ``"any"`` (the same as leaving
the dimension out; written for the reader). A list is always literal values, so
``["any"]`` is the value ``any``.

**What a charge is for.** A usage event is a charge of its own operation and
dimensions; a pipeline run is one charge of the pipeline's operation (a scope naming
only one of its steps does not pay for part of a run). A hold (``reserve``) and a
debit (``spend``) are for what the caller says (``operation``, ``dimensions``); one
that says nothing is for no operation, and only general grants pay for it. Holds keep
what they were for, so the part of a commit beyond its hold is covered alike.

**Where scoped grants sit in the consumption order** (:mod:`creditline.domain.spending`):
first. A charge draws from the scoped grants that cover it, in the usual order among
themselves (kind, then soonest expiry, then oldest), then from the general grants in
the organization's consumption order, then, as the depletion policy allows, from flex.
A scoped grant is the narrowest credit an organization holds: spending it first keeps
the general credits for what only they can pay. A charge a scope does not cover never
touches that grant, however short the general credits are.

A scope is checked against the organization's rate card when the grant is made
(:func:`scope_problems`): an operation the card does not price, a dimension it does
not use, or a value it does not know is refused with every problem named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from creditline.domain.errors import InvalidGrant, InvalidSetting
from creditline.domain.pricing import Matrix, RateCard, SupplierPrices

__all__ = [
    "ANY",
    "MAX_RULES",
    "GrantScope",
    "ScopeRule",
    "card_operations",
    "grant_scope",
    "parse_scope",
    "scope_problems",
]

ANY = "any"
"""A dimension's values written as ``"any"``: every value (the same as leaving it out)."""

MAX_RULES = 50
"""The most rules one scope may list."""

_MAX_NAME = 200
_EMPTY: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """One use a scoped grant pays for: ``operation``, with the dimensions it limits.

    ``dimensions`` maps a dimension to the values it may take, or to ``None`` for any
    value (as if it were not listed).
    """

    operation: str
    dimensions: Mapping[str, frozenset[str] | None] = field(default_factory=dict, hash=False)

    def covers(self, operation: str, dimensions: Mapping[str, str]) -> bool:
        if operation != self.operation:
            return False
        for name, allowed in self.dimensions.items():
            if allowed is not None and dimensions.get(name) not in allowed:
                return False
        return True

    def to_document(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"operation": self.operation}
        if self.dimensions:
            rule["dimensions"] = {
                name: ANY if allowed is None else sorted(allowed)
                for name, allowed in sorted(self.dimensions.items())
            }
        return rule

    def describe(self) -> str:
        """``train (mode: any)``, ``train (mode: Basic or Business)``."""
        if not self.dimensions:
            return self.operation
        parts = [
            f"{name}: {ANY if allowed is None else ' or '.join(sorted(allowed))}"
            for name, allowed in sorted(self.dimensions.items())
        ]
        return f"{self.operation} ({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class GrantScope:
    """What a scoped grant pays for: any of its rules (see the module docstring)."""

    rules: tuple[ScopeRule, ...]

    def covers(self, operation: str | None, dimensions: Mapping[str, str] | None = None) -> bool:
        """Whether a charge of ``operation`` with ``dimensions`` may draw from the grant
        (a charge for no operation never may)."""
        if operation is None:
            return False
        dims = _EMPTY if dimensions is None else dimensions
        return any(rule.covers(operation, dims) for rule in self.rules)

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations it names, in order, each once."""
        return tuple(dict.fromkeys(rule.operation for rule in self.rules))

    def to_document(self) -> list[dict[str, Any]]:
        return [rule.to_document() for rule in self.rules]

    def describe(self) -> str:
        """``train (mode: any); improve``: for people (the CLI, the portal)."""
        return "; ".join(rule.describe() for rule in self.rules)


def parse_scope(value: object, where: str = "scope") -> GrantScope:
    """A scope from its document form (a list of rules, or one rule as a table).

    Raises:
        InvalidSetting: naming every problem, each located (``scope[0].operation: ...``).
    """
    if isinstance(value, GrantScope):
        return value
    problems: list[str] = []
    items: list[object]
    if isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise InvalidSetting(
            where, _shown(value), 'must be a list of rules such as [{ operation = "train" }]'
        )
    if not items:
        problems.append(f"{where}: must list at least one rule (leave the scope out for none)")
    if len(items) > MAX_RULES:
        problems.append(f"{where}: at most {MAX_RULES} rules, got {len(items)}")
    rules = []
    for i, item in enumerate(items[:MAX_RULES]):
        rule = _rule(item, f"{where}[{i}]", problems)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise InvalidSetting(where, _shown(value), "; ".join(problems))
    return GrantScope(tuple(rules))


def grant_scope(
    value: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
) -> GrantScope | None:
    """A grant's scope from its document form (``None``: unscoped).

    Raises:
        InvalidGrant: naming every problem of the document.
    """
    if value is None or isinstance(value, GrantScope):
        return value
    try:
        return parse_scope(value)
    except InvalidSetting as exc:
        raise InvalidGrant(exc.reason.split("; ")) from None


def _rule(item: object, at: str, problems: list[str]) -> ScopeRule | None:
    if not isinstance(item, Mapping):
        problems.append(f'{at}: must be a table such as {{ operation = "train" }}')
        return None
    problems.extend(
        f"{at}.{key}: unknown key"
        for key in sorted(map(str, set(item) - {"operation", "dimensions"}))
    )
    operation = item.get("operation")
    if not _name_ok(operation):
        problems.append(f"{at}.operation: must be an operation name, got {_shown(operation)}")
        operation = None
    raw = item.get("dimensions", {})
    if raw is None:
        raw = {}
    dimensions: dict[str, frozenset[str] | None] = {}
    if not isinstance(raw, Mapping):
        problems.append(f'{at}.dimensions: must be a table such as {{ mode = "any" }}')
    else:
        for name, values in raw.items():
            where = f"{at}.dimensions.{name}"
            if not _name_ok(name):
                problems.append(f"{at}.dimensions: {_shown(name)} is not a dimension name")
                continue
            ok, allowed = _values(values, where, problems)
            if ok:
                dimensions[str(name)] = allowed
    if operation is None:
        return None
    return ScopeRule(str(operation), dimensions)


def _values(values: object, where: str, problems: list[str]) -> tuple[bool, frozenset[str] | None]:
    """Whether a dimension's values are well-formed, and which (``None``: any)."""
    if values == ANY:
        return True, None
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple | frozenset | set) or not values:
        problems.append(f'{where}: must be "any", a value, or a list of values')
        return False, None
    bad = [v for v in values if not _name_ok(v)]
    if bad:
        problems.append(f"{where}: {_shown(bad[0])} is not a dimension value")
        return False, None
    return True, frozenset(str(v) for v in values)


def _name_ok(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_NAME
        and not value.isspace()
        and value.isprintable()
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def scope_problems(
    scope: GrantScope,
    card: str,
    operations: Mapping[str, Mapping[str, Iterable[str] | None]],
    where: str = "scope",
) -> list[str]:
    """What in ``scope`` the rate card does not know.

    Args:
        scope: the scope to check.
        card: the card, for the messages (``rate card 'otai'``).
        operations: what the card prices (any of its versions): each operation's
            dimensions, each with its known values (``None``: any value, as for a
            dimension no price lists the values of).
        where: where the scope is, for the messages (``scope[0].operation: ...``).
    """
    problems: list[str] = []
    known_ops = ", ".join(sorted(operations)) or "none"
    for i, rule in enumerate(scope.rules):
        at = f"{where}[{i}]"
        dims = operations.get(rule.operation)
        if dims is None:
            problems.append(
                f"{at}.operation: {rule.operation!r} is not an operation of {card} "
                f"(it has: {known_ops})"
            )
            continue
        for name, allowed in sorted(rule.dimensions.items()):
            if name not in dims:
                has = ", ".join(sorted(dims)) or "none"
                problems.append(
                    f"{at}.dimensions.{name}: {rule.operation!r} has no dimension {name!r} "
                    f"(it has: {has})"
                )
                continue
            values = dims[name]
            if allowed is None or values is None:
                continue
            known = set(values)
            for value in sorted(allowed - known):
                problems.append(
                    f"{at}.dimensions.{name}: {value!r} is not a value of {name!r} "
                    f"(it has: {', '.join(sorted(known))})"
                )
    return problems


def card_operations(
    cards: Iterable[RateCard],
) -> dict[str, dict[str, frozenset[str] | None]]:
    """What the given versions of a rate card price, for :func:`scope_problems`: each
    operation's dimensions with the values its prices list (a matrix's rows and columns,
    the models of supplier prices), across all versions."""
    found: dict[str, dict[str, set[str]]] = {}
    for card in cards:
        for name, price in card.operations.items():
            dims = found.setdefault(name, {})
            form = price.form
            if isinstance(form, Matrix):
                for dim, values in form.values().items():
                    dims.setdefault(dim, set()).update(values)
            elif isinstance(form, SupplierPrices):
                dims.setdefault(form.dimension, set()).update(form.models)
    return {
        op: {dim: frozenset(values) for dim, values in dims.items()} for op, dims in found.items()
    }
