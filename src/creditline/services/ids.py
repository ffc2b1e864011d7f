"""Identifiers: a short type prefix and 128 random bits (``org_k3x...``)."""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return f"{prefix}_{raw}"
