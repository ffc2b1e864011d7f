"""The web dashboard's customer portal: signed session links (issue 6), test webhooks."""

from __future__ import annotations

from creditline.domain.deliveries import Delivery
from creditline.domain.portal import DEFAULT_TTL_SECONDS, PortalSession
from creditline.facade.core import Core
from creditline.services import portal

__all__ = ["Portal"]


class Portal(Core):
    """Portal sessions and test webhooks."""

    def create_portal_session(
        self,
        org_id: str,
        *,
        member_id: str | None = None,
        read_only: bool = False,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> PortalSession:
        """A short-lived signed link into the organization's customer portal, for the
        platform's backend to redirect its (already signed-in) user to, as Stripe's
        billing portal does (see :mod:`creditline.domain.portal`)::

            link = cl.create_portal_session(org.id, read_only=True)
            redirect(base_url + link.url)        # /portal/session/<token>

        The link opens a browser session scoped to the organization (and ``member_id``);
        ``read_only`` sessions change nothing. It stops opening after ``ttl_seconds``
        (30 to 3600).

        Raises:
            InvalidSetting: a lifetime out of range.
            OrganizationNotFound, MemberNotFound: no such organization, or member of it.
        """
        cmd = portal.CreatePortalSession(org_id, member_id, read_only, ttl_seconds)
        signer = self.dashboard.signer()
        return self._run(
            lambda: portal.create_portal_session(cmd, self._uow(read_only=True), self.clock, signer)
        )

    def open_portal_link(self, token: str) -> PortalSession:
        """Check a portal link's token (the web portal does, when the link is visited).

        Raises:
            PortalLinkInvalid: it does not verify. PortalLinkExpired: it has expired.
        """
        return portal.open_portal_link(token, self.dashboard.signer(), self.clock)

    def queue_test_webhook(self, org_id: str, endpoint_id: str) -> Delivery:
        """Queue a signed ``webhook.test`` delivery to one of the organization's webhook
        endpoints, due now (the next tick sends it; it is logged like any delivery).

        Raises:
            WebhookEndpointNotFound: no such active endpoint of the organization.
        """
        return self._run(
            lambda: portal.queue_test_webhook(org_id, endpoint_id, self._uow(), self.clock)
        )


# -- billing adapters from the environment -------------------------------------------------
