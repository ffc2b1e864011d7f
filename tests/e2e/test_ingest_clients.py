"""Producers that meter with OpenMeter or the CloudEvents SDK point at a live
``creditline serve`` and change nothing else: the real ``openmeter`` client and the real
``cloudevents`` SDK, unchanged, in structured, binary and batch form, with ``subject``
the organization's ``external_ref``. No client raises, and the balance moves exactly.

The operation is priced per character (10 credits per 1,000,000), so an OpenMeter-style
event ``{"type": "translate", "data": {"characters": 100000}}`` costs exactly 1 credit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cloudevents.conversion import to_binary, to_dict, to_structured
from cloudevents.http import CloudEvent
from corehttp.exceptions import HttpResponseError
from openmeter import Client as OpenMeter

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

from creditline import Creditline, credits
from tests.alerting import free_port
from tests.conftest import BACKENDS
from tests.databases import database
from tests.live import wait_ready
from tests.metering import card_doc

CLI = [str(Path(sys.executable).parent / "creditline")]
REF = "acme-42"


@dataclass
class Live:
    url: str
    key: str
    org: str
    db: str

    def available(self) -> int:
        with Creditline.open(self.db, migrate=False) as cl:
            return cl.balance(self.org).available

    def event(self, event_id: str) -> Any:
        response = httpx.get(
            f"{self.url}/v1/orgs/{self.org}/usage/{quote(event_id, safe='')}",
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(params=BACKENDS, scope="module")
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("ingest")
    with database(request.param, folder) as db, (folder / "server.log").open("w") as log:
        with Creditline.open(db) as cl:
            cl.load_rate_card(card_doc())
            org = cl.create_org("Acme", external_ref=REF).id
            cl.grant(org, credits(1000), "prepaid")
            key = cl.create_api_key("org", org, name="producer").secret
        port = free_port()
        env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
        process = subprocess.Popen(
            [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(process, url, folder / "server.log")
            yield Live(url, key, org, db)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _now() -> datetime:
    return datetime.now(UTC)


def test_the_openmeter_client_ingests_unchanged(live: Live) -> None:
    client = OpenMeter(endpoint=live.url, token=live.key)
    before = live.available()
    single = {
        "specversion": "1.0", "id": "om-single", "source": "my-app", "type": "translate",
        "subject": REF, "time": _now().isoformat(), "data": {"characters": 100_000},
    }  # fmt: skip
    client.events.ingest_event(single)
    batch = [
        {**single, "id": f"om-batch-{i}", "data": {"characters": 100_000, "model": "gpt-4o"}}
        for i in range(3)
    ]
    client.events.ingest_events(batch)
    client.events.ingest_events_json([*batch, {**single, "id": "om-json"}])  # 3 duplicates
    client.events.ingest_event(single)  # a retry: a duplicate, not an error
    assert live.available() == before - credits(5)
    assert live.event("om-batch-0")["dimensions"] == {"model": "gpt-4o"}
    with pytest.raises(HttpResponseError) as refused:
        client.events.ingest_event({**single, "id": "om-bad", "specversion": "0.3"})
    assert refused.value.status_code == 400
    assert live.available() == before - credits(5)


def _sdk_event(event_id: str, data: Any, **attributes: str) -> CloudEvent:
    return CloudEvent(
        {"id": event_id, "source": "https://producer.example/meter", "type": "translate",
         "subject": REF, **attributes},
        data,
    )  # fmt: skip


def test_the_cloudevents_sdk_in_structured_binary_and_batch_form(live: Live) -> None:
    auth = {"Authorization": f"Bearer {live.key}"}
    before = live.available()
    sent = 0
    for path, ok in (("/v1/events", 200), ("/api/v1/events", 204)):
        tag = path.strip("/").replace("/", "-")
        headers, body = to_structured(_sdk_event(f"{tag}-structured", {"characters": 100_000}))
        answer = httpx.post(f"{live.url}{path}", content=body, headers={**headers, **auth})
        assert answer.status_code == ok, answer.text
        headers, body = to_binary(_sdk_event(f"{tag}-binary", {"characters": 200_000}))
        answer = httpx.post(f"{live.url}{path}", content=body, headers={**headers, **auth})
        assert answer.status_code == ok, answer.text
        raw = json.dumps({"characters": 300_000}).encode()  # bytes: sent as data_base64
        headers, body = to_structured(
            _sdk_event(f"{tag}-base64", raw, datacontenttype="application/json")
        )
        assert b"data_base64" in body
        answer = httpx.post(f"{live.url}{path}", content=body, headers={**headers, **auth})
        assert answer.status_code == ok, answer.text
        batch = [to_dict(_sdk_event(f"{tag}-batch-{i}", {"characters": 100_000})) for i in (1, 2)]
        answer = httpx.post(
            f"{live.url}{path}",
            content=json.dumps(batch, default=str).encode(),
            headers={"content-type": "application/cloudevents-batch+json", **auth},
        )
        assert answer.status_code == ok, answer.text
        sent += 1 + 2 + 3 + 2
    assert live.available() == before - credits(sent)
    stored = live.event("v1-events-binary")
    assert stored["quantities"] == {"characters": "200000"}
    assert stored["metadata"]["cloudevents"]["source"] == "https://producer.example/meter"


def test_an_event_id_with_escaped_characters_is_fetched_back_over_http(live: Live) -> None:
    auth = {"Authorization": f"Bearer {live.key}"}
    for event_id in ("a%2Fb", "a b?c#d", "ü€"):
        headers, body = to_structured(_sdk_event(event_id, {"characters": 1}))
        answer = httpx.post(f"{live.url}/v1/events", content=body, headers={**headers, **auth})
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
        assert live.event(event_id)["event_id"] == event_id
