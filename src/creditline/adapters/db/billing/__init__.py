"""Repositories of billing: the pack catalogue, purchases and receipts, payment records
(customers and processed webhook events), and invoices. SQLAlchemy Core, in the unit
of work's transaction; every query of these tables lives here, one module per concept
(``states.py``: the compare-and-set of a purchase's or an invoice's state).

Locks: :meth:`PurchaseRepository.get` with ``lock=True`` and
:meth:`InvoiceRepository.next_number` take a row lock on PostgreSQL (``FOR UPDATE``);
on SQLite every write transaction already holds the database's write lock
(``BEGIN IMMEDIATE``), so the same code is serialized there too.
"""

from .invoices import InvoiceRepository
from .packs import PackRepository
from .payments import PaymentRecordRepository
from .purchases import PurchaseRepository

__all__ = [
    "InvoiceRepository",
    "PackRepository",
    "PaymentRecordRepository",
    "PurchaseRepository",
]
