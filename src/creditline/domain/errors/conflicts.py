"""A request that contradicts what is stored: a duplicate, a reused idempotency key, a
rate card version loaded again with other prices."""

from __future__ import annotations

from creditline.domain.errors.base import Conflict

__all__ = ["AlreadyExists", "IdempotencyKeyReused", "RateCardVersionConflict"]


class AlreadyExists(Conflict):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} already exists")


class IdempotencyKeyReused(Conflict):
    """The same idempotency key was sent with a different request."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different request")


class RateCardVersionConflict(Conflict):
    """A rate card version that is already loaded, loaded again with different prices.

    A stored version never changes (usage it priced keeps its price); new prices are a
    new version, with a new label and an effective time from now on.
    """

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version
        super().__init__(
            f"rate card {name!r} version {version!r} is already loaded with a different "
            "document; a loaded version never changes: give new prices a new version"
        )
