"""Country gating and contact sales (D8)."""

from __future__ import annotations

from creditline.domain.countries import SelfServeCountries
from creditline.domain.sales import SalesRequest, parse_source
from creditline.facade.core import Core
from creditline.services import sales

__all__ = ["Sales"]


class Sales(Core):
    """Where credits can be bought self-serve, and contact-sales requests."""

    @property
    def self_serve_countries(self) -> SelfServeCountries:
        """Where credits can be bought self-serve (``countries`` ``None``: everywhere)."""
        return self._self_serve

    def self_serve(self, org_id: str) -> sales.SelfServe:
        """Whether the organization can buy credits self-serve now (its country is in the
        platform's list, or there is no list), or is to contact sales instead.

        Raises:
            OrganizationNotFound: no such organization.
        """
        return self._run(
            lambda: sales.self_serve(org_id, self._uow(read_only=True), self._self_serve)
        )

    def contact_sales(
        self,
        org_id: str,
        pack: str | None = None,
        *,
        credits: int | None = None,
        message: str | None = None,
        member_id: str | None = None,
        email: str | None = None,
        source: str = "api",
    ) -> SalesRequest:
        """Ask sales about buying ``pack`` (or ``credits`` micro-credits, or neither):
        the request is recorded with the organization's country, listed for the
        operator (:meth:`sales_requests`), signed to the operator's webhook endpoints
        (``sales.contact_requested``) and e-mailed to the sales address (when set and
        the engine has a mail server). Nothing is bought. Any organization may ask,
        whether or not it could buy self-serve.

        Raises:
            InvalidSetting, InvalidAmount: a bad request (nothing recorded).
            OrganizationNotFound, MemberNotFound, PackNotFound: nothing recorded.
        """
        cmd = sales.ContactSales(
            org_id, pack, credits, message, member_id, email, parse_source(source)
        )
        mail_to = self._sales_email if self._alert_mailer is not None else None
        return self._run(
            lambda: sales.contact_sales(cmd, self._uow(), self.clock, sales_email=mail_to)
        )

    def sales_requests(self, org_id: str | None = None, limit: int = 100) -> list[SalesRequest]:
        """Contact-sales requests, newest first: an organization's, or every one.

        Raises:
            InvalidSetting: a limit outside 1 to 10000. OrganizationNotFound.
        """
        return self._run(lambda: sales.list_requests(self._uow(read_only=True), org_id, limit))

    def sales_request(self, request_id: str, org_id: str | None = None) -> SalesRequest:
        """One contact-sales request (``org_id``: only if it is that organization's).

        Raises:
            SalesRequestNotFound: no such request (or not ``org_id``'s).
        """
        return self._run(lambda: sales.get_request(request_id, org_id, self._uow(read_only=True)))
