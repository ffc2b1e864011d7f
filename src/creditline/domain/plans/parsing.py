"""Reading plans from their document form (TOML), listing every problem at once.

Document form of the billing fields (all optional; an absent grant is none)::

    interval = "monthly"                       # or "annual"
    anchor = "signup"                          # or "calendar"
    time_zone = "UTC"                          # an IANA name
    signup_grant = { credits = 100 }           # kind = "included" unless said
    cycle_grant = { credits = 50, kind = "included" }
    grant_expiry = "never"                     # "end_of_cycle", { after = "6 months" },
                                               # { rollover_cycles = 3 }
    extra_signup_grants = [
      { credits = 10, kind = "included", scope = [{ operation = "train" }] },
    ]

Grace between depletion and lock (:mod:`creditline.domain.grace`)::

    grace_hours = 72                           # or grace_credits = "50", or both
    grace_billing = "flex"                     # or "write_off"
    read_only_hours = 168                      # then paused

The forms of ``gates`` are in :mod:`creditline.domain.plans.plan`, those of
``flex_price``, ``fee`` and ``dunning`` in :mod:`creditline.domain.plans.terms`.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from creditline.domain.amounts import MAX_MICROS, CostBasis, parse_credits
from creditline.domain.cycles import (
    AnchorKind,
    BillingInterval,
    ExpiryRule,
    parse_expiry,
    time_zone,
)
from creditline.domain.errors import InvalidAmount, InvalidSetting
from creditline.domain.grace import GRACE_KEYS, GraceTerms, parse_grace
from creditline.domain.grants import GrantKind
from creditline.domain.plans.plan import PLAN_GRANT_KINDS, Gates, Plan, PlanGrant
from creditline.domain.plans.policy import DepletionPolicy
from creditline.domain.plans.terms import Dunning, FeeChange, FeeTiming, PlanFee
from creditline.domain.scopes import parse_scope

__all__ = ["load_plans", "parse_plan"]


def _strings(value: object, where: str, problems: list[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: must be a list of names")
        return frozenset()
    return frozenset(value)


def _table(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a table")
        return {}
    return dict(value)


def _cap(value: object, where: str, problems: list[str]) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        problems.append(f"{where}: must be a number")
        return None
    try:
        cap = Decimal(str(value))
    except ArithmeticError:
        problems.append(f"{where}: {value!r} is not a number")
        return None
    if not cap.is_finite() or cap < 0:
        problems.append(f"{where}: must be a finite number >= 0, got {value}")
        return None
    return cap


def _gates(raw: object, problems: list[str]) -> Gates:
    if not isinstance(raw, Mapping):
        problems.append("gates: must be a table")
        return Gates()
    forbid = _strings(raw.get("forbid_operations", []), "gates.forbid_operations", problems)
    allow = {
        str(dim): _strings(values, f"gates.allow.{dim}", problems)
        for dim, values in _table(raw, "allow", "gates.allow", problems).items()
    }
    caps = {}
    for name, value in _table(raw, "max", "gates.max", problems).items():
        cap = _cap(value, f"gates.max.{name}", problems)
        if cap is not None:
            caps[str(name)] = cap
    for key in sorted(set(raw) - {"forbid_operations", "allow", "max"}):
        problems.append(f"gates.{key}: unknown key")
    return Gates(forbid, allow, caps)


def _optional_int(raw: Mapping[str, Any], key: str, problems: list[str]) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{key}: must be a whole number >= 0")
        return None
    return value


_E = TypeVar("_E", bound=enum.StrEnum)


def _choice(
    raw: Mapping[str, Any], key: str, default: _E, problems: list[str], where: str = ""
) -> _E:
    kind = type(default)
    try:
        return kind(raw.get(key, default.value))
    except ValueError:
        problems.append(f"{where}{key}: one of {', '.join(k.value for k in kind)}")
        return default


def _settings_table(
    value: object, where: str, form: str, problems: list[str]
) -> Mapping[Any, Any] | None:
    """The table of the setting ``where``, or ``None``: absent, or not a table (a problem
    that shows its ``form``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a table such as {form}")
        return None
    return value


def _unknown_keys(table: Mapping[Any, Any], where: str, known: set[str]) -> list[str]:
    """A problem for each key of the table ``where`` that is not one of ``known``."""
    return [f"{where}.{k}: unknown key" for k in sorted(map(str, set(table) - known))]


def _plan_grant(raw: Mapping[str, Any], key: str, problems: list[str]) -> PlanGrant | None:
    form = '{ credits = 6, kind = "included" }'
    value = _settings_table(raw.get(key), key, form, problems)
    if value is None:
        return None
    problems.extend(_unknown_keys(value, key, _GRANT_KEYS))
    amount = None
    if "credits" not in value:
        problems.append(f"{key}.credits: required")
    else:
        amount = _grant_amount(value["credits"], f"{key}.credits", problems)
    kind = value.get("kind", GrantKind.INCLUDED.value)
    if kind not in PLAN_GRANT_KINDS:
        problems.append(f"{key}.kind: one of {', '.join(k.value for k in PLAN_GRANT_KINDS)}")
        return None
    scope = None
    if value.get("scope") is not None:
        try:
            scope = parse_scope(value["scope"], f"{key}.scope")
        except InvalidSetting as exc:
            problems.extend(exc.reason.split("; "))
            return None
    return None if amount is None else PlanGrant(amount, GrantKind(kind), scope)


_GRANT_KEYS = {"credits", "kind", "scope"}


def _extra_grants(raw: Mapping[str, Any], problems: list[str]) -> tuple[PlanGrant, ...]:
    """``extra_signup_grants = [{ credits = 4, scope = [...] }, ...]``."""
    value = raw.get("extra_signup_grants")
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("extra_signup_grants: must be a list of grants such as "
                        '[{ credits = 4, scope = [{ operation = "train" }] }]')  # fmt: skip
        return ()
    found = []
    for i, item in enumerate(value):
        sub: list[str] = []
        grant = _plan_grant({"grant": item}, "grant", sub)
        problems.extend(p.replace("grant", f"extra_signup_grants[{i}]", 1) for p in sub)
        if grant is not None:
            found.append(grant)
    return tuple(found)


def _grant_amount(value: object, where: str, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        problems.append(f'{where}: must be a number of credits (6 or "2.5"), got {value!r}')
        return None
    try:
        amount = parse_credits(value)
    except InvalidAmount as exc:
        problems.append(f"{where}: {exc.reason}, got {value!r}")
        return None
    if not 0 < amount <= MAX_MICROS:
        problems.append(f"{where}: must be greater than zero (leave the grant out for none)")
        return None
    return amount


def _time_zone(raw: Mapping[str, Any], problems: list[str]) -> str:
    name = raw.get("time_zone", "UTC")
    try:
        time_zone(name)
    except InvalidSetting as exc:
        problems.append(f"time_zone: {exc.reason}, got {name!r}")
        return "UTC"
    return str(name)


def _expiry(raw: Mapping[str, Any], problems: list[str]) -> ExpiryRule:
    try:
        return parse_expiry(raw.get("grant_expiry", "never"), "grant_expiry")
    except InvalidSetting as exc:
        problems.extend(exc.reason.split("; "))
        return ExpiryRule.never()


def _billing(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The billing fields of a plan document, as :class:`Plan` keyword arguments."""
    return {
        "interval": _choice(raw, "interval", BillingInterval.MONTHLY, problems),
        "anchor": _choice(raw, "anchor", AnchorKind.SIGNUP, problems),
        "time_zone": _time_zone(raw, problems),
        "signup_grant": _plan_grant(raw, "signup_grant", problems),
        "cycle_grant": _plan_grant(raw, "cycle_grant", problems),
        "grant_expiry": _expiry(raw, problems),
        "extra_signup_grants": _extra_grants(raw, problems),
    }


def _flex_price(value: object, problems: list[str]) -> CostBasis | None:
    """``flex_price = { currency = "USD", minor_per_credit = 100 }``, or ``None``."""
    form = '{ currency = "USD", minor_per_credit = 100 }'
    table = _settings_table(value, "flex_price", form, problems)
    if table is None:
        return None
    found = _unknown_keys(table, "flex_price", _PRICE_KEYS)
    currency, minor = table.get("currency"), table.get("minor_per_credit")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        found.append(f"flex_price.currency: a three-letter ISO 4217 code, got {currency!r}")
    if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= MAX_MICROS:
        found.append(
            f"flex_price.minor_per_credit: a whole number of minor units >= 0, got {minor!r}"
        )
    problems.extend(found)
    if found:
        return None
    return CostBasis(int(minor), str(currency))  # type: ignore[arg-type]


_PRICE_KEYS = {"currency", "minor_per_credit"}


def _currency(value: object) -> bool:
    return isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()


def _fee(value: object, problems: list[str]) -> PlanFee | None:
    """``fee = { prices_minor = { USD = 4900 }, billed = "in_advance", on_change = "none" }``."""
    form = '{ prices_minor = { USD = 4900 }, billed = "in_advance" }'
    table = _settings_table(value, "fee", form, problems)
    if table is None:
        return None
    found = _unknown_keys(table, "fee", _FEE_KEYS)
    prices = table.get("prices_minor")
    if not isinstance(prices, Mapping) or not prices:
        found.append(f"fee.prices_minor: a table of one or more prices, such as {form}")
        prices = {}
    for currency, minor in prices.items():
        if not _currency(currency):
            found.append(f"fee.prices_minor: {currency!r} is not a three-letter ISO 4217 code")
        if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= MAX_MICROS:
            found.append(
                f"fee.prices_minor.{currency}: a whole number of minor units >= 0, got {minor!r}"
            )
    billed = _choice(table, "billed", FeeTiming.IN_ADVANCE, found, "fee.")
    change = _choice(table, "on_change", FeeChange.NONE, found, "fee.")
    default = table.get("currency")
    if default is not None and default not in prices:
        found.append(f"fee.currency: one of the prices' currencies, got {default!r}")
    elif default is None and len(prices) > 1:
        found.append(f"fee.currency: name the currency billed by default, one of "
                     f"{', '.join(sorted(map(str, prices)))}")  # fmt: skip
    problems.extend(found)
    if found:
        return None
    chosen = str(default) if default is not None else str(next(iter(prices)))
    return PlanFee({str(c): int(m) for c, m in prices.items()}, billed, change, chosen)


_FEE_KEYS = {"prices_minor", "currency", "billed", "on_change"}


_SUSPEND = {"pause": DepletionPolicy.PAUSE, "read_only": DepletionPolicy.READ_ONLY, "none": None}


def _dunning(value: object, depletion: DepletionPolicy, problems: list[str]) -> Dunning | None:
    """``dunning = { retry_after_days = [1, 3, 7], suspend = "pause" }``."""
    table = _settings_table(value, "dunning", "{ retry_after_days = [1, 3, 7] }", problems)
    if table is None:
        return None
    found = _unknown_keys(table, "dunning", _DUNNING_KEYS)
    days = table.get("retry_after_days", [1, 3, 7])
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 366 for d in days
    ):
        found.append("dunning.retry_after_days: a list of whole numbers of days from 1 to 366")
        days = []
    default = depletion if depletion in (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY) else (
        DepletionPolicy.PAUSE
    )  # fmt: skip
    suspend_name = table.get("suspend")
    if suspend_name is not None and suspend_name not in _SUSPEND:
        found.append(f"dunning.suspend: one of {', '.join(_SUSPEND)}")
    problems.extend(found)
    if found:
        return None
    suspend = default if suspend_name is None else _SUSPEND[str(suspend_name)]
    return Dunning(tuple(int(d) for d in days), suspend)


_DUNNING_KEYS = {"retry_after_days", "suspend"}


_KEYS = {
    "name",
    "depletion",
    "flex_enabled",
    "flex_limit_micros",
    "max_open_reservations",
    "gates",
    "interval",
    "anchor",
    "time_zone",
    "signup_grant",
    "cycle_grant",
    "grant_expiry",
    "flex_price",
    "extra_signup_grants",
    "fee",
    "dunning",
    "max_hold_hours",
    *GRACE_KEYS,
}

MAX_HOLD_HOURS = 366 * 24
"""The longest hold a plan may allow, in hours (a year)."""


def _max_hold_hours(raw: Mapping[str, Any], problems: list[str]) -> int | None:
    value = raw.get("max_hold_hours")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_HOLD_HOURS:
        problems.append(f"max_hold_hours: must be a whole number of hours, 1 to {MAX_HOLD_HOURS}")
        return None
    return value


def _grace(
    raw: Mapping[str, Any], depletion: DepletionPolicy, problems: list[str]
) -> GraceTerms | None:
    grace = parse_grace(raw, problems)
    if grace is not None and depletion not in (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY):
        problems.append("grace_hours, grace_credits: grace needs depletion pause or read_only")
    return grace


def parse_plan(raw: Mapping[str, Any]) -> Plan:
    """Build a plan from its document form (:meth:`Plan.to_dict`), listing every problem."""
    problems: list[str] = [f"{k}: unknown key" for k in sorted(set(raw) - _KEYS)]
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: must be a non-empty string")
    try:
        depletion = DepletionPolicy(raw.get("depletion", "pause"))
    except ValueError:
        problems.append(f"depletion: one of {', '.join(p.value for p in DepletionPolicy)}")
        depletion = DepletionPolicy.PAUSE
    flex_enabled = raw.get("flex_enabled", True)
    if not isinstance(flex_enabled, bool):
        problems.append("flex_enabled: must be true or false")
    plan = Plan(
        name=str(name),
        depletion=depletion,
        flex_enabled=bool(flex_enabled),
        flex_limit=_optional_int(raw, "flex_limit_micros", problems),
        gates=_gates(raw.get("gates", {}), problems),
        max_open_reservations=_optional_int(raw, "max_open_reservations", problems),
        **_billing(raw, problems),
        flex_price=_flex_price(raw.get("flex_price"), problems),
        fee=_fee(raw.get("fee"), problems),
        dunning=_dunning(raw.get("dunning"), depletion, problems),
        max_hold_hours=_max_hold_hours(raw, problems),
        grace=_grace(raw, depletion, problems),
    )
    if problems:
        raise InvalidSetting("plan", raw.get("name"), "; ".join(problems))
    return plan


def load_plans(text: str | bytes) -> list[Plan]:
    """Read plans from TOML: one ``[[plans]]`` table per plan, in the document form.

    Example (``examples/otai/plans.toml``)::

        [[plans]]
        name = "pro"
        depletion = "pause"
        gates = { allow = { mode = ["Basic", "Business"] } }

    Raises:
        InvalidSetting: listing every problem of every plan, each located as
            ``plans[1] (pro): depletion: one of ...``; nothing is returned.
    """
    try:
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        document = tomllib.loads(source, parse_float=Decimal)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidSetting("plans", "[[plans]]", f"not a TOML document: {exc}") from None
    problems = [f"{key}: unknown key" for key in sorted(document) if key != "plans"]
    raw = document.get("plans")
    if not isinstance(raw, list) or not raw:
        problems.append("plans: must be one or more [[plans]] tables")
        raw = []
    plans: list[Plan] = []
    for i, item in enumerate(raw):
        where = f"plans[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        try:
            plans.append(parse_plan(item))
        except InvalidSetting as exc:
            problems.extend(f"{where} ({item.get('name')}): {p}" for p in exc.reason.split("; "))
    names = [plan.name for plan in plans]
    problems.extend(
        f"plans: {name!r} is defined more than once"
        for name in sorted({n for n in names if names.count(n) > 1})
    )
    if problems:
        raise InvalidSetting("plans", "[[plans]]", "; ".join(problems))
    return plans
