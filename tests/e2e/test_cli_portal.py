"""``creditline portal link``: a signed portal link for an organization, on a SQLite file,
checked back through the library (the check the web portal makes when it is visited)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline import Creditline, ManualClock
from creditline.domain.portal import PortalLinkExpired, PortalLinkInvalid
from creditline.entrypoints.cli import app

T0 = "2026-03-01T12:00:00+00:00"
runner = CliRunner()


def cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, "--now", T0, *args], catch_exceptions=False)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    made: str = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    return made


def opened(db: str, token: str, at: str = T0) -> Any:
    with Creditline.open(db, clock=ManualClock(datetime.fromisoformat(at))) as cl:
        return cl.open_portal_link(token)


def test_portal_link_is_a_signed_link_on_the_base_url_that_opens_for_an_hour(
    db: str, org: str
) -> None:
    link = ok(
        cli(db, "portal", "link", org, "--base-url", "http://portal.test:9000/", "-f", "json")
    )

    assert link["url"] == "http://portal.test:9000" + link["path"]
    assert link["path"].startswith("/portal/session/")
    assert (link["org_id"], link["member_id"], link["read_only"]) == (org, None, False)
    assert link["expires_at"] == "2026-03-01T13:00:00+00:00"
    session = opened(db, link["path"].removeprefix("/portal/session/"))
    assert (session.org_id, session.member_id, session.read_only) == (org, None, False)
    with pytest.raises(PortalLinkExpired):
        opened(db, link["path"].removeprefix("/portal/session/"), "2026-03-01T13:00:00+00:00")


def test_portal_link_for_a_member_read_only_with_a_short_ttl(db: str, org: str) -> None:
    member = ok(cli(db, "member", "add", org, "Ada", "--email", "ada@acme.example", "-f", "json"))

    link = ok(
        cli(db, "portal", "link", org, "--member", member["id"], "--read-only", "--ttl", "90s",
            "-f", "json")
    )  # fmt: skip

    assert link["url"].startswith("http://127.0.0.1:8000/portal/session/")
    assert link["expires_at"] == "2026-03-01T12:01:30+00:00"
    session = opened(db, link["path"].removeprefix("/portal/session/"))
    assert (session.org_id, session.member_id, session.read_only) == (org, member["id"], True)


def test_portal_link_prints_the_link_and_its_expiry_as_text(db: str, org: str) -> None:
    shown = cli(db, "portal", "link", org, "--ttl", "30m")

    assert shown.exit_code == 0, shown.output
    (link,) = [line for line in shown.stdout.splitlines() if "/portal/session/" in line]
    assert link.startswith("http://127.0.0.1:8000/portal/session/")
    assert "opens until 2026-03-01T12:30:00+00:00 (as the organization)" in shown.stdout


def test_a_tampered_portal_link_does_not_open(db: str, org: str) -> None:
    token = ok(cli(db, "portal", "link", org, "-f", "json"))["path"].split("/")[-1]
    body, signature = token.rsplit(".", 1)
    forged = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]

    with pytest.raises(PortalLinkInvalid):
        opened(db, forged)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--ttl", "2h"), 2, "between 30 and 3600"),
        (("--ttl", "10s"), 2, "between 30 and 3600"),
        (("--ttl", "soon"), 2, "--ttl"),
        (("--member", "mem_nobody"), 3, "mem_nobody"),
    ],
)
def test_portal_link_refuses_a_bad_ttl_or_an_unknown_member(
    db: str, org: str, args: tuple[str, ...], code: int, words: str
) -> None:
    refused = cli(db, "portal", "link", org, *args)

    assert refused.exit_code == code, refused.output
    assert refused.stderr.startswith("error: ") and words in refused.stderr


def test_portal_link_for_an_unknown_organization_exits_3(db: str) -> None:
    refused = cli(db, "portal", "link", "org_nothing")

    assert refused.exit_code == 3, refused.output
    assert "org_nothing" in refused.stderr


# -- links and keys are printed whole ------------------------------------------------------

CREDITLINE = str(Path(sys.executable).parent / "creditline")
LONG_BASE = "https://credits.platform.example.com:8443/customer-dashboard"
"""A base URL that makes a link longer than any terminal's width and the 160 columns
piped output gets."""
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_cli(db: str, *args: str, columns: int, tty: bool = False) -> str:
    """The ``creditline`` command's standard output, run as a user runs it: its output
    piped, or (``tty``) on a terminal (a pseudo-terminal) ``columns`` wide."""
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm"}
    command = [CREDITLINE, "--db", db, *args]
    if not tty:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout
    main, other = pty.openpty()
    with subprocess.Popen(command, stdout=other, stderr=subprocess.PIPE, env=env) as process:
        os.close(other)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end closed: the command is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0, process.stderr and process.stderr.read()
    os.close(main)
    return _ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("columns", [80, 200])
def test_a_portal_link_is_printed_on_one_line_at_any_width(
    db: str, org: str, columns: int, tty: bool
) -> None:
    member = ok(cli(db, "member", "add", org, "Ada", "--email", "ada@acme.example", "-f", "json"))
    args = ("portal", "link", org, "--member", member["id"], "--read-only")

    shown = run_cli(db, *args, "--base-url", LONG_BASE, columns=columns, tty=tty)

    (line,) = [line for line in shown.splitlines() if "/portal/session/" in line]
    assert len(line) > 200
    # a signed token: payload.signature, with a leading "." when the payload was compressed
    assert re.fullmatch(re.escape(LONG_BASE) + r"/portal/session/\.?[\w-]+\.[\w-]+", line)
    opened(db, line.rsplit("/", 1)[1], at=datetime.now().astimezone().isoformat())


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("columns", [80, 200])
def test_a_new_api_key_is_printed_on_one_line_at_any_width(
    db: str, org: str, columns: int, tty: bool
) -> None:
    shown = run_cli(db, "key", "create", "--org", org, "--name", "x" * 90, columns=columns, tty=tty)

    (line,) = [line for line in shown.splitlines() if line.startswith("cl_live_")]
    assert re.fullmatch(r"cl_live_\w+_[\w-]+", line), line
    with Creditline.open(db) as cl:
        assert cl.authenticate(line).org_id == org
