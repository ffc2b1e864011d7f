"""Keys' caps in the charging decision, with no database: one group's commands made
with one capped key are decided in order against the key's counter as the group left
it, and each counts (or frees) what it took in the right window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from creditline.domain.api_keys import ApiKey, CapWindow, Role, window_bounds
from creditline.domain.charging import Account, Reserve, Settle, decide
from creditline.domain.errors import KeyCapExceeded, OperationNotAllowed
from creditline.domain.usage import EventStatus
from tests.unit.builders import T0, grant
from tests.unit.test_charging import HISTORY, NOW, ONE, books, metering, new_id, spend, translate

KEY = ApiKey("key_agent", "org_a", Role.ORG, "agent", "agent", T0, cap_micros=3 * ONE,
             cap_window=CapWindow.DAY)  # fmt: skip
TODAY = window_bounds(CapWindow.DAY, NOW)[0]


def _books(used: int = 0, **stored: object):  # type: ignore[no-untyped-def]
    account = Account(metering(), [grant(100 * ONE)], rate_cards=HISTORY)
    return books(account, key_limits={KEY.id: KEY}, key_used={(KEY.id, TODAY): used}, **stored)


def test_a_group_counts_each_charge_on_the_counter_the_previous_left() -> None:
    commands = [translate("a"), spend(ONE), translate("b"), spend(ONE)]
    out = decide(_books(), commands, NOW, new_id, [KEY.id] * 4)
    first, second, third, fourth = out.results
    assert first.status is EventStatus.ACCEPTED and second.accepted
    assert third.status is EventStatus.ACCEPTED
    assert isinstance(fourth.error, KeyCapExceeded) and fourth.error.used == 3 * ONE
    assert out.key_usage == {(KEY.id, TODAY): 3 * ONE}


def test_commands_without_the_key_are_not_counted() -> None:
    out = decide(_books(used=3 * ONE), [spend(ONE), spend(ONE)], NOW, new_id, [None, KEY.id])
    assert out.results[0].accepted and isinstance(out.results[1].error, KeyCapExceeded)
    assert out.key_usage == {}


def test_a_hold_counts_while_open_and_its_commit_frees_what_it_did_not_capture() -> None:
    out = decide(_books(), [Reserve("org_a", 2 * ONE)], NOW, new_id, [KEY.id])
    (hold,) = out.results
    assert hold.key_id == KEY.id and out.key_usage == {(KEY.id, TODAY): 2 * ONE}
    later = NOW + timedelta(days=1)  # committed the next day: counts in its own window
    stored = {("org_a", hold.id): (hold, None)}
    settled = decide(_books(used=2 * ONE, reservations=stored),
                     [Settle("org_a", hold.id, ONE // 2)], later, new_id)  # fmt: skip
    assert settled.results[0].released == ONE + ONE // 2
    assert settled.key_usage == {(KEY.id, TODAY): -(ONE + ONE // 2)}


def test_an_operation_outside_the_keys_list_is_rejected_and_stores_nothing() -> None:
    only = ApiKey("key_p", "org_a", Role.ORG, "p", "p", T0, operations=("predict",))
    b = books(Account(metering(), [grant(5 * ONE)], rate_cards=HISTORY), key_limits={only.id: only})
    out = decide(b, [translate("a")], NOW, new_id, [only.id])
    (result,) = out.results
    assert result.status is EventStatus.REJECTED and isinstance(result.error, OperationNotAllowed)
    assert not out.usage_rows and not out.entries


def test_windows_are_utc_days_and_months() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert window_bounds(CapWindow.DAY, at) == (
        datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )  # fmt: skip
    assert window_bounds(CapWindow.MONTH, at) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )  # fmt: skip
