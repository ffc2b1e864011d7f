"""Request fingerprints for idempotency keys.

A key is stored with a hash of the request it answered, in the same transaction as
the effect. The same key with the same request replays the stored outcome; the
same key with a different request is :class:`IdempotencyKeyReused`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["fingerprint"]


def fingerprint(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
