"""A platform's story, told from its side over the HTTP API: it hands an agent a key
capped at 5 credits a day for ``ping`` only, the agent runs until its key hits the cap,
and the pool is safe.

1. The platform (operator key) opens Acme with 100 credits and makes its agent a key:
   5 credits a day, ``ping`` only. The key is shown once, with its cap, used 0, room 5.
2. The agent holds 2 credits for a job, pings 3 times, commits its job at 1 credit (the
   other is freed), and pings once more: it has used its 5.
3. Its next ping is refused, 402, with the cap, what it used and its room (0); its
   attempt at ``translate`` is refused 403 whatever its room. Nothing was charged.
4. Acme's own backend key is not held back: it pings on.
5. The platform lists Acme's keys: the agent's shows 5 used, room 0; Acme lost exactly
   what the agent was allowed plus the backend's ping, and the ledger verifies.
6. A day later (UTC) the agent's key has its 5 credits again.
"""

from __future__ import annotations

from datetime import timedelta

from creditline import credits
from tests.api.conftest import World


def test_an_agent_key_hits_its_daily_cap_and_the_pool_is_safe(world: World) -> None:
    # 1. the platform opens Acme and hands its agent a capped key
    acme = world.post("/v1/orgs", {"name": "Acme"}).json()["id"]
    assert world.post(f"/v1/orgs/{acme}/grants", {"amount": "100", "kind": "prepaid"}).is_success
    backend = world.post("/v1/api-keys", {"role": "org", "org_id": acme, "name": "backend"})
    made = world.post(
        "/v1/api-keys",
        {"role": "org", "org_id": acme, "name": "support agent", "cap": "5",
         "cap_window": "day", "operations": ["ping"]},
    ).json()  # fmt: skip
    assert (made["cap"], made["used"], made["room"], made["operations"]) == (
        "5", "0", "5", ["ping"]
    )  # fmt: skip
    agent, usage = made["key"], f"/v1/orgs/{acme}/usage"

    # 2. the agent works: a held job, pings, the job committed for less than it held
    job = world.post(
        f"/v1/orgs/{acme}/reservations", {"amount": "2", "operation": "ping"}, key=agent
    )
    assert job.status_code == 201, job.text
    for n in range(3):
        ping = world.post(usage, {"event_id": f"agent-{n}", "operation": "ping"}, key=agent)
        assert ping.status_code == 201, ping.text
    done = world.post(f"/v1/orgs/{acme}/reservations/{job.json()['id']}/commit",
                      {"amount": "1"}, key=agent)  # fmt: skip
    assert done.status_code == 200 and done.json()["released"] == "1"
    assert world.post(usage, {"event_id": "agent-3", "operation": "ping"}, key=agent).is_success

    # 3. the cap: 402 with cap, used and room; another operation: 403; nothing charged
    before = world.cl.balance(acme).total
    refused = world.post(usage, {"event_id": "agent-4", "operation": "ping"}, key=agent)
    assert refused.status_code == 402
    problem = refused.json()
    assert (problem["cap"], problem["used"], problem["room"]) == (credits(5), credits(5), 0)
    assert problem["window"] == "day" and problem["key_id"] == made["id"]
    body = {"event_id": "agent-5", "operation": "translate", "quantities": {"characters": 9}}
    assert world.post(usage, body, key=agent).status_code == 403
    assert world.cl.balance(acme).total == before

    # 4. Acme's own backend is not held back
    own = world.post(usage, {"event_id": "backend-1", "operation": "ping"},
                     key=backend.json()["key"])  # fmt: skip
    assert own.status_code == 201

    # 5. the platform's view: the agent's key at its cap, the pool safe
    keys = {k["name"]: k for k in world.get(f"/v1/orgs/{acme}/api-keys").json()}
    assert (keys["support agent"]["used"], keys["support agent"]["room"]) == ("5", "0")
    assert keys["backend"]["cap"] is None
    assert world.cl.balance(acme).total == credits(100 - 5 - 1)
    assert world.cl.verify().ok

    # 6. the next UTC day, the agent's key has its 5 credits again
    world.clock.advance(timedelta(days=1))
    again = world.post(usage, {"event_id": "agent-6", "operation": "ping"}, key=agent)
    assert again.status_code == 201, again.text
    keys = {k["name"]: k for k in world.get(f"/v1/orgs/{acme}/api-keys").json()}
    assert (keys["support agent"]["used"], keys["support agent"]["room"]) == ("1", "4")
