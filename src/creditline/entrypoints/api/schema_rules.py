"""Cross-field rules of request bodies, stated in their JSON schema.

A model's validator enforces a rule (``amount`` or ``amount_micros``, exactly one); the
OpenAPI document must say so too, or a client generated from it (or a fuzzer) sends
bodies the schema allows and the server refuses. A model lists its rules in
``schema_rules`` and inherits :class:`Ruled` (before ``BaseModel``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "NOT_BLANK",
    "Ruled",
    "at_least_one_of",
    "at_most_one",
    "at_most_one_of",
    "exactly_one",
]

NOT_BLANK = r"[^\t-\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A text's pattern: it holds a character that is not a space. Spelled out, not ``\\S``:
Python's, Rust's (the server's validation) and Hypothesis' (clients generating from the
document) regular expressions disagree on which characters ``\\s`` takes (``\\x85``,
``\\x1c``-``\\x1f``); these are spaces to all of them."""

_NULL = {"type": "null"}
_SET = {"not": {"type": "null"}}


def exactly_one(first: str, second: str) -> dict[str, Any]:
    """Exactly one of two nullable fields is given (not null)."""
    return {
        "oneOf": [
            {"required": [first], "properties": {first: _SET, second: _NULL}},
            {"required": [second], "properties": {second: _SET, first: _NULL}},
        ]
    }


def at_most_one(first: str, second: str) -> dict[str, Any]:
    """Not both of two nullable fields are given."""
    return {"not": {"required": [first, second], "properties": {first: _SET, second: _SET}}}


def at_most_one_of(*names: str) -> dict[str, Any]:
    """No two of several nullable fields are given."""
    return {
        "allOf": [
            at_most_one(first, second) for i, first in enumerate(names) for second in names[i + 1 :]
        ]
    }


def at_least_one_of(*names: str) -> dict[str, Any]:
    """One or more of several nullable fields are given."""
    return {"anyOf": [{"required": [name], "properties": {name: _SET}} for name in names]}


class Ruled:
    """Adds the class's ``schema_rules`` to its JSON schema (``oneOf``, ``not``...)."""

    schema_rules: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        target.update(_given(cls.schema_rules, target.get("properties", {})))
        return schema


def _given(rule: Any, properties: dict[str, Any]) -> Any:
    """``rule`` with each "given" (not null) field stated as the field's own non-null
    schema, so that a value chosen for that branch also meets the field's bounds."""
    if isinstance(rule, list):
        return [_given(item, properties) for item in rule]
    if not isinstance(rule, dict):
        return rule
    out: dict[str, Any] = {}
    for key, value in rule.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _not_null(properties.get(name)) if branch == _SET else branch
                for name, branch in value.items()
            }
        else:
            out[key] = _given(value, properties)
    return out


def _not_null(field: Any) -> dict[str, Any]:
    if not isinstance(field, dict) or "anyOf" not in field:
        return dict(_SET)
    kinds = [k for k in field["anyOf"] if k != _NULL]
    return dict(kinds[0]) if len(kinds) == 1 else {"anyOf": kinds}
