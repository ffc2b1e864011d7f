"""The alert commands (``alert``, ``webhook``), driven through typer's CliRunner on a
SQLite file; ``tick`` delivers to a real local receiver that verifies the signatures
with the ``standardwebhooks`` library (the command line sends with httpx)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner, Result

from creditline import Creditline, ManualClock
from creditline.adapters.db import tables as t
from creditline.adapters.db.engine import make_engine
from creditline.entrypoints.cli import app
from tests.alerting import receiver
from tests.live import ALLOW_NETWORKS_ENV

runner = CliRunner()
NOW = "2026-03-10T12:00:00+00:00"
LATER = "2026-03-10T12:00:05+00:00"
NO_ENV = {"CREDITLINE_STRIPE_API_KEY": "", "CREDITLINE_SMTP_HOST": ""}


def cli(db: str, *args: str, now: str = NOW) -> Result:
    return runner.invoke(app, ["--db", db, "--now", now, *args], catch_exceptions=False,
                         env=NO_ENV)  # fmt: skip


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    return result.stderr.strip()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    org_id: str = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    ok(cli(db, "grant", org_id, "100", "-f", "json"))
    return org_id


def test_alert_add_list_and_remove(db: str, org: str) -> None:
    rule = ok(cli(db, "alert", "add", org, "remaining_below", "--threshold", "25.5",
                  "--rearm-above", "30", "-f", "json"))  # fmt: skip
    assert rule["id"].startswith("alr_")
    assert rule["params"] == {
        "threshold": "25.5", "threshold_micros": 25_500_000,
        "rearm_above": "30", "rearm_above_micros": 30_000_000,
    }  # fmt: skip
    assert (rule["state"], rule["event_type"], rule["channels"]) == (
        "armed", "credits.below_threshold", ["webhook"],
    )  # fmt: skip
    mailed = ok(cli(db, "alert", "add", org, "forecast_depletion", "--days", "3",
                    "--email", "ops@acme.example", "-f", "json"))  # fmt: skip
    assert (mailed["channels"], mailed["params"]) == (["webhook", "email"], {"days": 3})
    listed = ok(cli(db, "alert", "list", org, "-f", "json"))
    assert sorted(r["id"] for r in listed) == sorted([rule["id"], mailed["id"]])
    table = cli(db, "alert", "list", org).stdout
    assert "remaining below 25.5 credits" in table and "ops@acme.example" in table
    removed = ok(cli(db, "alert", "remove", rule["id"], "-f", "json"))
    assert removed["disabled_at"] == NOW
    assert [r["id"] for r in ok(cli(db, "alert", "list", org, "-f", "json"))] == [mailed["id"]]
    assert len(ok(cli(db, "alert", "list", org, "--all", "-f", "json"))) == 2


def test_alert_add_lists_every_problem_with_exit_2(db: str, org: str) -> None:
    message = refused(cli(db, "alert", "add", org, "remaining_below", "--percent", "200",
                          "--channel", "sms"), 2)  # fmt: skip
    assert "percent: must be a whole percent from 1 to 100, got 200" in message
    assert "threshold: required by a remaining_below rule" in message
    assert "channels: 'sms' is not one of" in message
    assert refused(cli(db, "alert", "remove", "alr_nope"), 3) == (
        "error: alert rule 'alr_nope' not found"
    )
    assert "organization 'org_nope' not found" in refused(
        cli(db, "alert", "add", "org_nope", "depleted"), 3
    )


def test_an_alert_is_delivered_by_tick_logged_and_resent(db: str, org: str) -> None:
    with receiver() as hooks:
        endpoint = ok(cli(db, "webhook", "add", f"{hooks.url}/credits", "--org", org,
                          "--event", "credits.depleted", "-f", "json"))  # fmt: skip
        assert endpoint["secret"].startswith("whsec_")
        hooks.verify_with("/credits", endpoint["secret"])
        listed = ok(cli(db, "webhook", "list", "-f", "json"))
        assert [e["id"] for e in listed] == [endpoint["id"]]
        assert "secret" not in listed[0]  # shown once, when added
        assert endpoint["secret"] not in cli(db, "webhook", "list").stdout
        ok(cli(db, "alert", "add", org, "depleted", "-f", "json"))
        ok(cli(db, "spend", org, "100", "-f", "json"))
        tick = ok(cli(db, "tick", "-f", "json"))
        jobs = {j["name"]: j["summary"] for j in tick["jobs"]}
        assert jobs["alerts"]["fired"] == ["credits.depleted"]
        assert jobs["webhooks"]["delivered"] == 1
        (delivery,) = ok(cli(db, "webhook", "deliveries", "--org", org, "-f", "json"))
        assert (delivery["status"], delivery["attempts"], delivery["event_type"]) == (
            "delivered", 1, "credits.depleted",
        )  # fmt: skip
        shown = ok(cli(db, "webhook", "show", delivery["id"], "-f", "json"))
        assert [(a["number"], a["ok"], a["status_code"]) for a in shown["attempt_log"]] == [
            (1, True, 200)
        ]
        queued = ok(cli(db, "webhook", "resend", delivery["id"], "-f", "json"))
        assert (queued["status"], queued["next_attempt_at"]) == ("pending", NOW)
        again = ok(cli(db, "tick", "-f", "json", now=LATER))
        assert {j["name"]: j["summary"] for j in again["jobs"]}["webhooks"]["delivered"] == 1
    assert [(r.msg_id, r.verified) for r in hooks.received] == [(delivery["id"], True)] * 2
    assert hooks.received[0].payload["data"]["org_id"] == org
    assert ok(cli(db, "webhook", "deliveries", "--status", "pending", "-f", "json")) == []
    table = cli(db, "webhook", "deliveries").stdout
    assert delivery["id"] in table and "delivered" in table
    removed = ok(cli(db, "webhook", "remove", endpoint["id"], "-f", "json"))
    assert removed["disabled_at"] == NOW
    assert ok(cli(db, "webhook", "list", "-f", "json")) == []
    assert refused(cli(db, "webhook", "resend", "msg_nope"), 3) == (
        "error: webhook delivery 'msg_nope' not found"
    )


def test_webhook_add_refuses_a_bad_url_or_event_type(db: str) -> None:
    message = refused(cli(db, "webhook", "add", "ftp://x", "--event", "credits.low"), 2)
    assert "only http and https URLs are called" in message
    assert "'credits.low' is not one of" in message
    assert refused(cli(db, "webhook", "add", "https://x.example", "--org", "org_nope"), 3)


def test_webhook_add_refuses_addresses_inside_unless_the_setting_allows_them(db: str) -> None:
    def strict(*args: str) -> Result:  # nothing allowed beyond public addresses
        return runner.invoke(
            app, ["--db", db, *args], env={**NO_ENV, ALLOW_NETWORKS_ENV: ""}
        )  # fmt: skip

    message = refused(strict("webhook", "add", "http://0x7f000001:8101/hooks"), 2)
    assert message.startswith("error: webhook URL 'http://0x7f000001:8101/hooks' refused: ")
    assert "host: 127.0.0.1 is a loopback address" in message
    assert "link-local" in refused(strict("webhook", "add", "http://169.254.169.254/x"), 2)
    # The suite's setting allows the loopback (its receivers listen there), nothing more.
    assert ok(cli(db, "webhook", "add", "http://0x7f000001:8101/hooks", "-f", "json"))["id"]
    assert "private" in refused(cli(db, "webhook", "add", "http://10.0.0.1/hooks"), 2)
    assert ok(cli(db, "webhook", "list", "-f", "json"))[0]["url"] == (
        "http://0x7f000001:8101/hooks"
    )


def test_tick_exits_0_when_only_receivers_failed(db: str, org: str) -> None:
    """A URL stored with CR/LF (written straight into the database) and a receiver that
    answers 500: both deliveries fail with their reasons and are retried; the other
    organization's delivery is made; ``tick`` exits 0."""
    other = ok(cli(db, "org", "create", "Globex", "-f", "json"))["id"]
    clock = ManualClock(datetime.fromisoformat(NOW))
    with (
        receiver(answers=[500]) as failing_hooks,
        receiver() as hooks,
        Creditline.open(db, clock=clock) as cl,
    ):
        poisoned = cl.add_webhook(f"{hooks.url}/poisoned", org_id=org)
        failing = cl.add_webhook(f"{failing_hooks.url}/failing", org_id=org)
        fine = cl.add_webhook(f"{hooks.url}/fine", org_id=other)
        engine = make_engine(db)
        with engine.begin() as conn:
            w = t.webhook_endpoints
            conn.execute(
                update(w).where(w.c.id == poisoned.id).values(url=f"{hooks.url}/p\r\nX-A: 1")
            )
        engine.dispose()
        for org_id, endpoint in ((org, poisoned), (org, failing), (other, fine)):
            cl.queue_test_webhook(org_id, endpoint.id)
        result = cli(db, "tick", "-f", "json")
        assert result.exit_code == 0, result.output
        tick = json.loads(result.stdout)
        assert tick["ok"] is True
        jobs = {j["name"]: j for j in tick["jobs"]}
        assert jobs["webhooks"]["summary"] == {
            "attempted": 3, "delivered": 1, "retrying": 2, "failed": 0,
        }  # fmt: skip
        assert jobs["webhooks"]["errors"] == []
        log = {d.endpoint_id: d for d in cl.webhook_deliveries()}
    assert [r.path for r in failing_hooks.received] == ["/failing"]
    assert [r.path for r in hooks.received] == ["/fine"]
    assert log[fine.id].status.value == "delivered"
    assert log[failing.id].last_error == "HTTP 500"
    assert (log[poisoned.id].last_error or "").startswith("refused: url: contains control")


def test_alert_add_offers_used_at_least_a_percent(db: str, org: str) -> None:
    rule = ok(cli(db, "alert", "add", org, "used_percent", "--percent", "80", "-f", "json"))
    assert rule["kind"] == "used_percent" and rule["params"] == {"percent": 80}
    assert rule["description"] == "used at least 80% of the cycle's grant"
    assert "used_percent" in cli(db, "alert", "add", "--help").stdout
    message = refused(cli(db, "alert", "add", org, "used_percent", "--percent", "80",
                          "--rearm-percent", "90"), 2)  # fmt: skip
    assert "rearm_percent: must be at most percent (90 > 80)" in message
