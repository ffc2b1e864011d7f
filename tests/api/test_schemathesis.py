"""Property-based tests of the whole API from its own OpenAPI document (schemathesis):
for every operation, generated requests (bounded: a few examples each, derandomized)
never get a 5xx, and every answer matches the document (status, content type, body).

The engine is made when the module is imported (schemathesis reads the document when
the tests are collected), on a SQLite file of its own, with an operator key, the small
rate card and one organization with credits, whose id every generated organization
path uses.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from creditline import Creditline, credits
from creditline.adapters.notify.addresses import SystemResolver
from creditline.adapters.notify.webhooks import HttpWebhookSender
from creditline.entrypoints.api import create_app
from tests.api.conftest import QUIET
from tests.metering import card_doc

_FOLDER = tempfile.mkdtemp(prefix="creditline-schemathesis-")
# Generated webhook endpoints may name public addresses, which this machine cannot reach,
# and names its name server may not answer for: a registration's look-up and a tick's
# deliveries give up quickly instead of holding a request for seconds. A tick still
# sends every delivery due (each event to each generated endpoint, one after another per
# endpoint), so on a loaded machine it may take longer than the client's default 10 s:
# calls wait up to _CALL_TIMEOUT (this checks the answers, not their speed).
_ENGINE = Creditline.open(
    f"sqlite:///{_FOLDER}/api.db",
    webhook_sender=HttpWebhookSender(timeout=0.05),
    webhook_resolver=SystemResolver(0.05),
)
_CALL_TIMEOUT = 60
_ENGINE.load_rate_card(card_doc())
_ORG = _ENGINE.create_org("Fuzzed").id
_ENGINE.grant(_ORG, credits(1000))
_OPERATOR = _ENGINE.create_api_key("operator", name="fuzz").secret


def _cleanup() -> None:
    _ENGINE.close()
    shutil.rmtree(_FOLDER, ignore_errors=True)


atexit.register(_cleanup)

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_ENGINE, settings=QUIET))


@pytest.fixture(scope="module", autouse=True)
def _engine_closed_after() -> Iterator[None]:
    yield
    _cleanup()
    atexit.unregister(_cleanup)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_matches_the_document(case: Any) -> None:
    # Reach past the tenancy check: most generated organization ids exist nowhere.
    if case.path_parameters and "org_id" in case.path_parameters:
        case.path_parameters["org_id"] = _ORG
    # A fresh Idempotency-Key, so that examples do not collide into 409s.
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_OPERATOR}"},
        timeout=_CALL_TIMEOUT,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# -- every check, the stateful phase included --------------------------------------------
# Every check schemathesis has (as `st run --checks all`), on positive and negative data,
# about 10 examples per operation; then linked sequences of calls (the stateful phase).
# The expected answers that depend on stored data are in schemathesis.toml.

# Schemathesis sends many requests with bad keys on purpose: the per-address limit on them
# (429 after a burst) would answer those instead of 401.
_UNLIMITED = replace(QUIET, bad_key_rate_per_second=1_000_000.0, bad_key_burst=1_000_000)
every_check = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_ENGINE, settings=_UNLIMITED)
)
every_check.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=10
)
_AUTH = {"Authorization": f"Bearer {_OPERATOR}"}


def _prepared(case: Any) -> None:
    """A positive case reaches past the tenancy check; a negative one is sent as made."""
    if case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE:
        return
    if case.path_parameters and "org_id" in case.path_parameters:
        case.path_parameters["org_id"] = _ORG
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


@pytest.mark.slow
@every_check.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_check_passes_on_positive_and_negative_requests(case: Any) -> None:
    _prepared(case)
    case.call_and_validate(headers=_AUTH, timeout=_CALL_TIMEOUT)


class _Scenarios(every_check.as_state_machine()):  # type: ignore[misc]
    def before_call(self, case: Any) -> None:
        _prepared(case)

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": _AUTH, "timeout": _CALL_TIMEOUT}


TestStatefulScenarios = pytest.mark.slow(_Scenarios.TestCase)
TestStatefulScenarios.settings = settings(
    max_examples=10,
    stateful_step_count=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
