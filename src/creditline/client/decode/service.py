"""The service's own jobs: verification and the scheduler's runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from creditline.client.decode._common import Doc, decodes, record
from creditline.domain.errors import CreditlineError
from creditline.domain.verification import Problem
from creditline.services.queries import VerifyReport
from creditline.services.scheduler import JobRun, TickReport


def _problem(text: str) -> Problem:
    subject, _, message = text.partition(": ")
    return Problem(subject, message)


def verify_report(d: Doc) -> VerifyReport:
    return record(VerifyReport, d, problems=tuple(_problem(p) for p in d["problems"]))


def _plain(value: Any) -> Any:
    """Numbers of a summary as the library has them (``float`` for non-integers)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@decodes(JobRun)
def job_run(d: Doc) -> JobRun:
    """A scheduler job's run; its errors are rebuilt from their text."""
    errors = tuple(CreditlineError(e) for e in d["errors"])
    return record(JobRun, d, summary=_plain(d["summary"]), errors=errors)


def tick_report(d: Doc) -> TickReport:
    return record(TickReport, d)
