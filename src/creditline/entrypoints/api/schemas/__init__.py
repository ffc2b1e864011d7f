"""The HTTP API's request and response bodies (pydantic), and how engine results become
response bodies: a module a feature, as :mod:`..routes` has (organizations, the ledger, usage
events and reports, reservations, the catalogue, billing, alerts, API keys, the portal,
sales), and :mod:`.common` for what they share.

**Amounts.** Credits are exact, never floats. Every credit amount is answered twice: as
a decimal string of credits (``"amount": "12.5"``) and as an integer of micro-credits
(``"amount_micros": 12500000``; 1 credit = 1,000,000 micro-credits). A request gives
either one, never both: ``"amount": "12.5"`` or ``"amount_micros": 12500000``. Money is
integer minor units with an ISO currency (``{"minor": 45000, "currency": "EUR"}``).
Quantities of usage are integers, JSON numbers read exactly (``0.5`` is the decimal
0.5, not a float), or decimal strings.

**Times** are ISO 8601 with a time zone (answers are in UTC).

**Request bodies refuse unknown fields** (422): ids, balances, an organization or any
other field a caller may not set cannot be smuggled in; the organization comes from
the path and the API key.
"""

from __future__ import annotations
