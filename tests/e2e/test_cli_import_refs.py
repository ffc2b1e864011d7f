"""``creditline usage import`` names an organization the way the HTTP ingest does: by
its id or by its ``external_ref`` (a CloudEvent's ``subject`` as producers send it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from creditline import Creditline, credits
from creditline.entrypoints.cli import app
from tests.metering import card_doc

WHEN = "2026-01-01T10:00:00+00:00"


def test_an_import_resolves_subjects_by_external_ref(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'refs.db'}"
    with Creditline.open(db) as cl:
        cl.load_rate_card(card_doc())
        org = cl.create_org("Acme", external_ref="acme-42").id
        cl.grant(org, credits(10), "prepaid", effective_at=datetime(2025, 12, 1, tzinfo=UTC))
    rows = [
        {"specversion": "1.0", "id": "by-ref", "source": "/s", "type": "ping",
         "subject": "acme-42", "time": WHEN},
        {"specversion": "1.0", "id": "by-id", "source": "/s", "type": "ping",
         "subject": org, "time": WHEN},
        {"id": "own", "org": "acme-42", "operation": "ping", "timestamp": WHEN},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["--db", db, "--now", "2026-01-02T00:00:00+00:00", "usage", "import", str(path),
         "-f", "json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 3
    with Creditline.open(db) as cl:
        assert {e.event_id for e in cl.usage_events(org)} == {"by-ref", "by-id", "own"}
        assert cl.balance(org).available == credits(7)
