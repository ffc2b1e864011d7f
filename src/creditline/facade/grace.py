"""Grace between depletion and lock (see :mod:`creditline.domain.grace`)."""

from __future__ import annotations

from datetime import datetime

from creditline.facade.core import Core
from creditline.services import grace as grace_service
from creditline.services import scheduler

__all__ = ["Grace"]


class Grace(Core):
    """Where an organization stands in its plan's grace, and the deadlines' job."""

    def grace(self, org_id: str, limit: int = 100) -> grace_service.GraceStatus:
        """Where ``org_id`` stands in its plan's grace (active, grace, read-only or
        paused; since when; the grace left and the current state's deadline) and its
        last ``limit`` transitions, oldest first, each with its cause and time.

        Raises:
            OrganizationNotFound: no such organization.
        """
        now = self.clock.now()
        return self._run(
            lambda: grace_service.status(org_id, self._uow(read_only=True), now, limit)
        )

    def elapse_grace(self) -> grace_service.GraceRun:
        """Apply the passed deadlines of every organization in grace or read-only (the
        scheduler's ``grace`` job, run by :meth:`tick`)."""
        return grace_service.elapse_due(self._tx, self.clock)

    def _grace_job(self, now: datetime) -> scheduler.JobOutcome:
        run = self.elapse_grace()
        summary = {
            "transitions": [t.to_dict() for t in run.transitions],
            "failed": [{"org_id": org, "error": str(exc)} for org, exc in run.failed],
        }
        return scheduler.JobOutcome(summary, tuple(exc for _, exc in run.failed))
