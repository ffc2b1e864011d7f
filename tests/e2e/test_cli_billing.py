"""The billing commands (``pack``, ``purchase``, ``invoice``, ``billing``), driven through
typer's CliRunner on a SQLite file. Purchases are made through the engine with the
in-memory Stripe (the command line takes its provider from the environment, and tests
run without the network); the commands then read, refund and render them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline import Creditline, ManualClock
from creditline.adapters.payments import FakeStripe
from creditline.entrypoints.cli import app
from tests.billing import EXAMPLES, provider

runner = CliRunner()
MARCH = "2026-03-10T12:00:00+00:00"
APRIL = "2026-04-01T00:00:00+00:00"
NO_STRIPE = {"CREDITLINE_STRIPE_API_KEY": "", "CREDITLINE_SMTP_HOST": ""}


def cli(db: str, *args: str, now: str | None = None) -> Result:
    argv = ["--db", db, *(["--now", now] if now else []), *args]
    return runner.invoke(app, argv, catch_exceptions=False, env=NO_STRIPE)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    return result.stderr.strip()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


@pytest.fixture
def engine(db: str) -> Iterator[tuple[Creditline, FakeStripe, ManualClock]]:
    fake = FakeStripe()
    clock = ManualClock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    with Creditline.open(db, clock=clock, payments=provider(fake)) as cl:
        yield cl, fake, clock


def test_examples_load_brings_the_packs_and_pack_list_shows_them(db: str) -> None:
    ok(cli(db, "examples", "load", "otai", "-f", "json"))
    packs = ok(cli(db, "pack", "list", "-f", "json"))
    assert packs["refund_policy"] == "refundable"
    assert [(p["name"], p["credits"], p["prices_minor"]) for p in packs["packs"]] == [
        ("10-credits", "10", {"EUR": 10000}),
        ("50-credits", "50", {"EUR": 45000}),
        ("100-credits", "100", {"EUR": 80000}),
    ]
    table = cli(db, "pack", "list")
    assert "EUR 450.00" in table.stdout and "refunds: refundable" in table.stdout


def test_pack_load_lists_every_problem_and_stores_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "packs.toml"
    bad.write_text('name = "x"\n[[packs]]\nname = "a"\ncredits = -1\nprices_minor = { EUR = 0 }')
    message = refused(cli(db, "pack", "load", str(bad)), 2)
    assert "packs[0] (a).credits" in message and "packs[0] (a).prices_minor.EUR" in message
    assert ok(cli(db, "pack", "list", "-f", "json")) is None
    loaded = ok(cli(db, "pack", "load", str(EXAMPLES / "aixplain" / "packs.toml"), "-f", "json"))
    assert loaded["any_amount"]["unit_prices_minor"] == {"USD": 100}


def test_buying_without_a_payment_provider_is_refused_with_exit_9(db: str) -> None:
    ok(cli(db, "examples", "load", "datarobot", "-f", "json"))
    org = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    message = refused(cli(db, "purchase", "create", org, "explorer"), 9)
    assert "contact sales" in message
    assert ok(cli(db, "purchase", "list", org, "-f", "json")) == []


def test_purchases_are_listed_shown_and_a_final_one_refused_a_refund(
    db: str, engine: tuple[Creditline, FakeStripe, ManualClock]
) -> None:
    cl, fake, _ = engine
    cl.load_packs((EXAMPLES / "datarobot" / "packs.toml").read_text(encoding="utf-8"))
    org = cl.create_org("Acme").id
    purchase = cl.create_purchase(org, "explorer", currency="USD")
    fake.pay(purchase.session_id or "")
    cl.refresh_purchase(org, purchase.id)
    (listed,) = ok(cli(db, "purchase", "list", org, "-f", "json"))
    assert (listed["id"], listed["status"], listed["credits"], listed["price"]) == (
        purchase.id, "paid", "500", "USD 500.00",
    )  # fmt: skip
    shown = ok(cli(db, "purchase", "show", org, purchase.id, "-f", "json"))
    assert shown["expiry"] == {"after": "6 months"} and shown["grant_id"]
    message = refused(cli(db, "purchase", "refund", org, purchase.id), 5)
    assert "final and non-refundable" in message
    assert refused(cli(db, "purchase", "show", org, "pur_nope"), 3).endswith("not found")


def test_invoices_run_list_show_render_and_void(
    db: str, tmp_path: Path, engine: tuple[Creditline, FakeStripe, ManualClock]
) -> None:
    cl, _, _ = engine
    folder = EXAMPLES / "roboflow"
    cl.load_rate_card((folder / "ratecard.toml").read_text(encoding="utf-8"))
    cl.load_plans((folder / "plans.toml").read_text(encoding="utf-8"))
    org = cl.create_org("Acme Vision").id
    cl.set_rate_card(org, "roboflow")
    cl.assign_plan(org, "core")
    assert cl.record(org, "e1", "labeling", {"images": 1234}).accepted  # 12.34 credits, flex
    message = refused(cli(db, "invoice", "run", "--month", "2026-03", now=MARCH), 2)
    assert "not over yet" in message
    run = ok(cli(db, "invoice", "run", "-f", "json", now=APRIL))
    (issued,) = run["issued"]
    assert (issued["number"], issued["period"], issued["total_minor"], issued["status"]) == (
        "INV-000001", "2026-03", 4936, "open",  # 12.34 x USD 4.00
    )  # fmt: skip
    assert ok(cli(db, "invoice", "run", "-f", "json", now=APRIL))["issued"] == []
    (listed,) = ok(cli(db, "invoice", "list", org, "-f", "json"))
    assert listed["id"] == issued["id"]
    table = cli(db, "invoice", "show", org, issued["id"])
    assert "INV-000001" in table.stdout and "USD 49.36" in table.stdout
    html = cli(db, "invoice", "show", org, issued["id"], "--html")
    assert html.stdout.startswith("<!doctype html>") and "USD 49.36" in html.stdout
    pdf = tmp_path / "invoice.pdf"
    written = cli(db, "invoice", "pdf", org, issued["id"], "--output", str(pdf))
    assert written.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
    void = ok(cli(db, "invoice", "void", org, issued["id"], "-f", "json", now=APRIL))
    assert void["status"] == "void"
    assert "only an open invoice" in refused(cli(db, "invoice", "void", org, issued["id"]), 2)
    (record,) = ok(cli(db, "billing", "history", org, "-f", "json"))
    assert (record["kind"], record["amount"], record["status"]) == ("invoice", "USD 49.36", "void")


def test_a_subscription_is_invoiced_and_an_operator_marks_it_paid(db: str) -> None:
    ok(cli(db, "examples", "load", "ai-engine", "-f", "json"))
    org = ok(cli(db, "org", "create", "Subscriber", "-f", "json", now=MARCH))["id"]
    ok(cli(db, "plan", "assign", org, "standard", "--subscribe", "--currency", "EUR",
           "-f", "json", now=MARCH))  # fmt: skip
    (item,) = ok(cli(db, "invoice", "pending", org, "-f", "json", now=MARCH))
    assert (item["kind"], item["amount_minor"], item["currency"]) == ("fee", 8900, "EUR")
    table = cli(db, "invoice", "pending", org, now=MARCH).stdout
    assert "standard plan (monthly), 2026-03-10 to 2026-03-31" in table and "EUR 89.00" in table
    run = ok(cli(db, "invoice", "run", "-f", "json", now=APRIL))
    (invoice,) = run["issued"]
    assert invoice["lines"][0]["kind"] == "fee" and invoice["total_minor"] == 8900
    shown = cli(db, "invoice", "show", org, invoice["id"], now=APRIL).stdout
    assert "standard plan (monthly)" in shown and "EUR 89.00" in shown
    assert ok(cli(db, "invoice", "retry", "-f", "json", now=APRIL)) == []
    paid = ok(cli(db, "invoice", "mark-paid", org, invoice["id"], "--reference", "wire 9",
                  "-f", "json", now=APRIL))  # fmt: skip
    assert paid["status"] == "paid"
    events = ok(cli(db, "invoice", "events", org, "-f", "json", now=APRIL))
    assert [(e["type"], e["cause"]) for e in events] == [
        ("payment_reference", "operator"), ("paid", "operator"), ("issued", "invoicing"),
    ]  # fmt: skip
    assert "wire 9" in cli(db, "invoice", "events", org, now=APRIL).stdout
    bought = ok(cli(db, "purchase", "create", org, "standard", "--on-account", "--currency",
                    "EUR", "-f", "json", now=APRIL))  # fmt: skip
    assert bought["status"] == "on_account"
    (item,) = ok(cli(db, "invoice", "pending", org, "-f", "json", now=APRIL))[:1]
    assert item["kind"] in {"fee", "purchase"}
