"""Country gating and contact sales through the client (D8): a ``creditline serve``
process whose self-serve countries come from ``CREDITLINE_SELF_SERVE_COUNTRIES`` answers
as the embedded engine with the same setting, errors included."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creditline import Creditline, credits
from creditline.client import Client
from tests.client.compare import Canon, outcome
from tests.client.conftest import CLI, _cli, _free_port
from tests.live import server_env, wait_ready

COUNTRIES = "US,CA"


@pytest.fixture
def gated_client(tmp_path: Path) -> Iterator[Client]:
    db = f"sqlite:///{tmp_path / 'served.db'}"
    made = _cli(db, "key", "create", "--operator", "--name", "sales-tests", "-f", "json")
    assert made.returncode == 0, made.stderr
    port = _free_port()
    env = server_env(CREDITLINE_API_RATE_PER_SECOND="0", CREDITLINE_SELF_SERVE_COUNTRIES=COUNTRIES)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
        stdout=log, stderr=log, text=True, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url, tmp_path / "server.log")
        with Client(url, json.loads(made.stdout)["key"]) as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def script(cl: Any) -> list[Any]:
    org = cl.create_org("Acme GmbH", country="de")
    ada = cl.add_member(org.id, "Ada", "ada@acme.example")
    asked = cl.contact_sales(
        org.id, credits=credits(750), message="Invoice us.", member_id=ada.id, source="portal"
    )
    return [
        org,
        outcome(lambda: cl.create_purchase(org.id, credits=credits(10), currency="USD")),
        outcome(lambda: cl.self_serve(org.id)),
        asked,
        outcome(lambda: cl.sales_requests(org.id)),
        outcome(cl.sales_requests),
        outcome(lambda: cl.sales_request(asked.id, org.id)),
        outcome(lambda: cl.sales_request("csr_aaaaaaaaaaaaaaaaaaaaaaaa")),
        outcome(lambda: cl.contact_sales(org.id, "nope")),
        outcome(lambda: cl.update_org(org.id, country="us")),
        outcome(lambda: cl.self_serve(org.id)),
        outcome(lambda: cl.update_org(org.id, clear_country=True, name="Acme")),
        outcome(lambda: cl.create_purchase(org.id, credits=credits(10), currency="USD")),
        outcome(lambda: cl.update_org("org_aaaaaaaaaaaaaaaaaaaaaaaa", country="FR")),
        outcome(lambda: cl.create_org("Bad", country="Germany")),
    ]


def test_the_client_answers_as_the_library_does(gated_client: Client, tmp_path: Path) -> None:
    with Creditline.open(
        f"sqlite:///{tmp_path / 'embedded.db'}", self_serve_countries=COUNTRIES
    ) as embedded:
        here = script(embedded)
    there = script(gated_client)
    assert Canon()(there) == Canon()(here)
    errors = [type(r).__name__ for r in here if isinstance(r, Exception)]
    assert errors == [
        "SelfServeUnavailable", "SalesRequestNotFound", "PackNotFound",
        "SelfServeUnavailable", "OrganizationNotFound", "InvalidSetting",
    ]  # fmt: skip
