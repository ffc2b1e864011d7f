"""The application factory, and the payment provider's webhook endpoint.

``POST /webhooks/stripe`` reads the raw body (the signature covers its exact bytes)
and the ``Stripe-Signature`` header, and hands both to
:meth:`creditline.Creditline.handle_webhook`, which verifies, deduplicates and acts
(see :mod:`creditline.services.webhooks`). It answers ``200`` for an event processed,
ignored, or already processed (a duplicate), so that Stripe stops retrying it;
``400`` (problem+json) for a delivery that does not verify; ``502`` when Stripe could
not be asked for the state, so that Stripe retries the delivery later.

Routes are thin: parse, call the engine, render; the engine's errors become problem
details in one handler (:mod:`creditline.entrypoints.api.problems`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from creditline import Creditline, __version__
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.api.problems import problem_response

__all__ = ["create_app"]


def create_app(creditline: Creditline) -> FastAPI:
    """The HTTP API over ``creditline`` (which holds the payment provider it verifies
    webhooks with: ``Creditline.open(url, payments=StripeProvider(...))``)."""
    app = FastAPI(title="creditline", version=__version__)
    app.state.creditline = creditline
    app.add_exception_handler(CreditlineError, problem_response)

    @app.post("/webhooks/stripe", summary="Stripe webhook endpoint")
    async def stripe_webhook(request: Request) -> dict[str, Any]:
        payload = await request.body()
        signature = request.headers.get("Stripe-Signature")
        # The engine's calls block (database, Stripe): off the event loop.
        outcome = await run_in_threadpool(creditline.handle_webhook, payload, signature)
        return {"received": True, "event_id": outcome.event_id, "outcome": outcome.outcome}

    return app
