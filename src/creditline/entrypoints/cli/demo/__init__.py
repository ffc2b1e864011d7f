"""The demo: four months of an AI lab's credits, up to the present moment, told through
the public facade only.

"Demo AI Lab" (external reference ``demo``) signs up 120 days before "now" (the real
time, or ``--now``) with three projects and five members, on the ``team`` plan: 1,000
*included* credits every calendar month, expiring with the month. Its usage is priced
by the demo rate card (:data:`RATE_CARD`, after aiXplain's per-model supplier prices):

- ``support-bot`` answers customers with ``generate_text`` on three models, all day,
  fewer at the weekend;
- ``doc-pipeline`` transcribes and translates, and runs ``pipeline`` jobs
  (transcribe, translate, then summarise or read aloud), each step priced as its own
  operation;
- ``eval-pipeline`` runs ``benchmark`` jobs on weekdays, one ``benchmark_model`` step
  per model compared (three or four of four models).

Volume grows over the months and varies from day to day. Ordinary calls are sent in
batches, one per twelve hours; pipeline and benchmark jobs are recorded one by one when
they finish (so each one's ledger entry names it and opens to its components).

Along the way: on day 9 the lab buys the 1,000-credit ``starter`` pack through the
purchase flow (a Stripe checkout, paid, granted by the signed webhook); on day 41 a
member buys another one by mistake and it is refunded within the hour; on days 23 and
77 a job that failed on the supplier's side is voided (a benchmark when there was
one). Two alert rules watch the balance (below 300 credits; at most 14 days left at
the last week's burn) and post to the lab's webhook endpoint. Every simulated midnight
the engine's own scheduler (:meth:`Creditline.tick`) renews the plan, expires what the
month left, evaluates the alerts and delivers their webhooks; the first midnight the
balance is below 300 credits, the lab tops up with the 5,000-credit ``growth`` pack.
The story ends at "now", in the running month's cycle, which then goes on live.

Everything is deterministic: each day's usage comes from a random generator seeded
with the date, and the clock is a :class:`~creditline.ManualClock`. Payments go to
Stripe in memory (:class:`~creditline.adapters.payments.FakeStripe`) and the alert
webhooks to a receiver in memory (:class:`Outside`): the demo never reaches the
network, and never charges a card.

Re-running: the organization is found by its external reference and its story resumes
after the last ledger entry, up to the new "now": run again at the same moment it adds
nothing and the report is the same, ids included; run later it plays the days in
between. Every project, member, grant, purchase and event has a natural key (a name,
an e-mail address, an idempotency key, an event id).

The demo travels in time and runs the scheduler over the whole database, so it refuses
a database that holds any organization other than its own: give it a database of its
own (``make run`` uses ``sqlite:///var/demo.db``).
"""

from creditline.entrypoints.cli.demo.story import run
from creditline.entrypoints.cli.demo.world import (
    DAYS,
    DEMO_REF,
    PACKS,
    PLANS,
    RATE_CARD,
    DemoReport,
    Outside,
    story_start,
)

__all__ = [
    "DAYS",
    "DEMO_REF",
    "PACKS",
    "PLANS",
    "RATE_CARD",
    "DemoReport",
    "Outside",
    "run",
    "story_start",
]
