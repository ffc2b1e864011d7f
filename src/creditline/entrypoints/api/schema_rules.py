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

__all__ = ["Ruled", "at_most_one", "exactly_one"]

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


class Ruled:
    """Adds the class's ``schema_rules`` to its JSON schema (``oneOf``, ``not``...)."""

    schema_rules: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        target.update(cls.schema_rules)
        return schema
