"""What the pages say, decided in :mod:`creditline.entrypoints.web.views` (no I/O): a
usage report filtered and regrouped, its chart and CSV; the burn-down's forecast; the
banner of an organization without credits; a cause and the page that explains it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from creditline import Cause, CauseType, credits
from creditline.domain.balances import Balance
from creditline.domain.overview import BurnDay, CycleProgress, Overview, chart_days
from creditline.domain.plans import DepletionPolicy
from creditline.domain.reports import UsageReport, UsageRow
from creditline.entrypoints.web import views

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _report() -> UsageReport:
    rows = (
        UsageRow(("ping", "p1", "2026-03-01"), 2, credits(2)),
        UsageRow(("train", "p1", "2026-03-01"), 1, credits("0.5")),
        UsageRow(("ping", "p2", "2026-03-01"), 4, credits(4)),
        UsageRow(("ping", None, "2026-03-02"), 1, credits(1)),
        UsageRow(("ping", "p1", "2026-03-02"), 3, credits(3)),
    )
    return UsageReport("org", ("operation", "project", "period"), NOW, NOW, rows)


def test_a_usage_report_is_filtered_on_a_dimension_and_summed_per_group_and_period() -> None:
    names = {"p1": "Bot"}
    everything = views.usage_table(_report(), "operation", {}, names)
    assert [(line.name, line.period, line.events, line.cost) for line in everything.lines] == [
        ("ping", "2026-03-01", 6, credits(6)),
        ("train", "2026-03-01", 1, credits("0.5")),
        ("ping", "2026-03-02", 4, credits(4)),
    ]
    assert everything.cost == _report().cost and everything.events == _report().events
    assert everything.groups == (("ping", "ping", credits(10)), ("train", "train", credits("0.5")))
    bot = views.usage_table(_report(), "operation", {"project": "p1"}, names)
    assert bot.cost == credits("5.5") and bot.periods == ("2026-03-01", "2026-03-02")
    nobody = views.usage_table(_report(), "project", {}, names)
    assert [(k, n) for k, n, _ in nobody.groups] == [("p1", "Bot"), ("p2", "p2"), (None, "(none)")]
    unassigned = views.usage_table(_report(), "operation", {"project": views.NONE_KEY}, names)
    assert unassigned.cost == credits(1)


def test_the_usage_chart_draws_the_costliest_groups_and_sums_the_rest_as_other() -> None:
    rows = tuple(UsageRow((f"op{i:02d}", "2026-03-01"), 1, credits(i + 1)) for i in range(10))
    report = UsageReport("org", ("operation", "period"), NOW, NOW, rows)
    chart = views.usage_chart(views.usage_table(report, "operation", {}, {}))
    series = chart["series"]
    assert isinstance(series, list) and len(series) == views.CHART_SERIES + 1
    assert series[0] == {"label": "op09", "data": ["10"]}
    assert series[-1] == {"label": "other", "data": ["3"]}  # op00 and op01: 1 + 2


def test_the_csv_has_the_groups_id_and_name_and_exact_amounts() -> None:
    table = views.usage_table(_report(), "project", {}, {"p1": "Bot, the first"})
    lines = views.usage_csv(table).splitlines()
    assert lines[0] == "project_id,project_name,period,events,cost,cost_micros"
    assert lines[1] == 'p1,"Bot, the first",2026-03-01,3,2.5,2500000'
    assert lines[-1] == 'p1,"Bot, the first",2026-03-02,3,3,3000000'
    assert ",,2026-03-02,1,1,1000000" in lines  # no project: no id, no name


def _overview(available: int, rate: int, cycle: CycleProgress | None) -> Overview:
    balance = Balance("org", NOW, available, available, 0, 0)
    days = tuple(BurnDay(NOW.date() - timedelta(days=k), available, rate) for k in (2, 1, 0))
    return Overview(
        "org", NOW, balance, (), (), DepletionPolicy.PAUSE, False, False, False, 0, None,
        cycle, days, rate, None,
    )  # fmt: skip


def test_the_burn_down_forecasts_the_available_credits_at_the_burn_rate() -> None:
    cycle = CycleProgress("pro", 2, NOW - timedelta(days=9), datetime(2026, 3, 15, tzinfo=UTC),
                          None, 0, 1)  # fmt: skip
    burn = views.burn_down(_overview(credits(10), credits(3), cycle))
    assert [p.day for p in burn.points][-1] == date(2026, 3, 15)
    assert [p.forecast for p in burn.points[2:]] == [
        credits(10), credits(7), credits(4), credits(1), 0, 0,
    ]  # fmt: skip
    assert burn.chart["closing"] == ["10", "10", "10", None, None, None, None, None]
    without_cycle = views.burn_down(_overview(credits(10), credits(3), None))
    assert [p.forecast for p in without_cycle.points[3:]] == [credits(7), credits(4), credits(1), 0]
    idle = views.burn_down(_overview(credits(10), 0, None))
    assert len(idle.points) == 3
    far = views.burn_down(_overview(credits(10**6), 1, None))
    assert len(far.points) == 3 + views.FORECAST_DAYS


def test_an_organization_without_credits_is_told_why_and_the_way_out() -> None:
    renewing = CycleProgress("pro", 2, NOW, NOW + timedelta(days=20), NOW + timedelta(days=20),
                             0, 1)  # fmt: skip
    base = _overview(0, 0, renewing)
    assert views.banner(_overview(credits(1), 0, None), can_buy=True) is None
    read_only = views.banner(replace(base, read_only=True), can_buy=True)
    assert read_only is not None and read_only.kind == "read_only" and read_only.buy
    assert "Buy credits or wait for the renewal on 2026-03-30" in read_only.text
    paused = views.banner(replace(base, paused=True, cycle=None), can_buy=False)
    assert paused is not None and not paused.buy
    assert "Contact sales to get credits to resume" in paused.text
    flex = views.banner(replace(base, on_flex=True, flex_used=credits(12), flex_limit=credits(100)),
                        can_buy=True)  # fmt: skip
    assert flex is not None and "12.00 of a limit of 100.00 used this month" in flex.text


def test_a_cause_names_what_made_an_entry_and_links_to_what_explains_it() -> None:
    event = views.cause_view(Cause(CauseType.USAGE_EVENT, "run/42 #1"))
    assert event.label == "usage event: run/42 #1"
    assert event.href == "/portal/events/run%2F42%20%231"
    assert views.cause_view(Cause(CauseType.REFUND, "pur_1")).href == "/portal/purchases/pur_1"
    assert views.cause_view(Cause(CauseType.USAGE_BATCH, "ub_1")).href == "/portal/batches/ub_1"
    operator = views.cause_view(Cause(CauseType.OPERATOR, "goodwill"))
    assert (operator.label, operator.href) == ("operator: goodwill", None)
    assert views.cause_view(Cause(CauseType.USAGE_EVENT, "e"), prefix=None).href is None


def test_a_cause_told_in_words_keeps_its_id_on_hover() -> None:
    batch = views.cause_view(Cause(CauseType.USAGE_BATCH, "ub_1"), detail="generate_text, 7 events")
    assert batch.label == "generate_text, 7 events"
    assert (batch.href, batch.title) == ("/portal/batches/ub_1", "usage batch ub_1")


def test_the_forecast_reaches_the_run_out_date_beyond_the_cycle_end() -> None:
    cycle = CycleProgress("pro", 2, NOW - timedelta(days=9), NOW + timedelta(days=2), None, 0, 1)
    runs_out = NOW.date() + timedelta(days=10)
    ov = replace(_overview(credits(10), credits(1), cycle), depletes_on=runs_out)
    burn = views.burn_down(ov)
    assert (burn.points[-1].day, burn.points[-1].forecast) == (runs_out, 0)
    assert burn.chart["runs_out"] == runs_out.isoformat()


def test_the_portals_burn_down_shows_the_cycle_and_at_least_the_last_30_days() -> None:
    short = CycleProgress("pro", 2, NOW - timedelta(days=5), NOW + timedelta(days=25), None, 0, 1)
    days = views.HISTORY_DAYS
    assert chart_days(NOW, short, days) == (NOW.date() - timedelta(days=29), NOW.date())
    assert chart_days(NOW, short) == (NOW.date() - timedelta(days=5), NOW.date())  # the API's
    long = CycleProgress("pro", 2, NOW - timedelta(days=80), NOW + timedelta(days=5), None, 0, 1)
    assert chart_days(NOW, long, days) == (NOW.date() - timedelta(days=80), NOW.date())
    assert chart_days(NOW, None, days) == (NOW.date() - timedelta(days=29), NOW.date())
