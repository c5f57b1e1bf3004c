"""Per-input budgets: a small hostile calendar cannot expand without bound, and no input yields more records than
TWIN_PARSE_MAX_RECORDS; what is over is quarantined with a reason naming the budget and its setting."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from twin_assets.connectors.calendar import CalendarConnector
from twin_assets.connectors.toolkit import Budget
from twin_assets.db.models import Quarantine
from twin_assets.pipeline.inputs import register_input
from twin_assets.pipeline.sync import sync_source
from twin_assets.records import ParseIssue, Record


def minutely_series(count: int, occurrences: int = 5000) -> bytes:
    """``count`` series, each a minutely event repeating ``occurrences`` times: a few bytes per series."""
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:s{i}@x\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T{i % 24:02d}0000Z\r\n"
        f"DURATION:PT1M\r\nSUMMARY:e{i}\r\nRRULE:FREQ=MINUTELY;COUNT={occurrences}\r\nEND:VEVENT\r\n"
        for i in range(count)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\n{events}END:VCALENDAR\r\n".encode()


def _parse(data: bytes, budget: Budget | None) -> tuple[int, list[ParseIssue]]:
    connector = CalendarConnector(window_start="2020-01-01", window_end="2026-01-01")
    records = 0
    issues = []
    for item in connector.parse_bytes(data, budget=budget):
        if isinstance(item, Record):
            records += 1
        else:
            issues.append(item)
    return records, issues


@pytest.mark.parametrize("series", [20, 300])
def test_many_series_in_one_file_stop_at_the_occurrence_budget(series):
    data = minutely_series(series)
    assert len(data) < 60_000  # a small file…
    started = time.monotonic()
    records, issues = _parse(data, Budget(max_records=10**9, max_occurrences=2000, max_seconds=60))
    assert time.monotonic() - started < 30
    assert records == 2000  # …gets no more than its budget, across all its series
    budget_issues = [i for i in issues if "TWIN_PARSE_MAX_OCCURRENCES" in i.reason]
    assert len(budget_issues) == 1 and budget_issues[0].where == "file"
    assert "budget hit" in budget_issues[0].reason and "e1" not in budget_issues[0].reason


def test_the_time_budget_stops_a_slow_file():
    started = time.monotonic()
    records, issues = _parse(minutely_series(300), Budget(max_records=10**9, max_occurrences=10**9, max_seconds=0.5))
    assert time.monotonic() - started < 10
    assert records < 300 * 5000  # parsing the file itself may spend the half second
    assert any("TWIN_PARSE_MAX_SECONDS" in i.reason for i in issues)


def test_the_default_budget_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("TWIN_PARSE_MAX_OCCURRENCES", "123")
    monkeypatch.setenv("TWIN_PARSE_MAX_RECORDS", "45")
    monkeypatch.setenv("TWIN_PARSE_MAX_SECONDS", "6.5")
    budget = Budget.for_input()
    assert (budget.max_occurrences, budget.max_records, budget.max_seconds) == (123, 45, 6.5)
    records, _ = _parse(minutely_series(20), None)  # None: the configured budget
    assert records == 123


def test_sync_quarantines_the_rest_of_an_input_over_its_record_budget(twin, tmp_path, monkeypatch):
    """The sync checks every connector's records per input, whatever the connector bounds itself."""
    monkeypatch.setenv("TWIN_PARSE_MAX_RECORDS", "150")
    path = tmp_path / "busy.ics"
    path.write_bytes(minutely_series(2, occurrences=100))
    assert register_input(twin, path, "calendar", "cli").input_id
    result = sync_source(twin, "calendar")
    assert result.records_new == 150
    reasons = [p.reason for p in result.problems]
    assert len(reasons) == 1 and "budget hit" in reasons[0] and "TWIN_PARSE_MAX_RECORDS" in reasons[0], reasons
    with twin.session() as s:
        stored = [q.reason for q in s.scalars(select(Quarantine))]
    assert stored == reasons


def test_the_memory_budget_stops_an_input_that_grows_the_process(monkeypatch):
    """A connector that builds up memory (a decompression bomb, a giant structure) is stopped by the sync's budget."""
    from twin_assets.connectors.toolkit import budget as budget_mod

    grown = iter(range(0, 10**6, 8))  # each look at the process finds it 8 MiB larger
    monkeypatch.setattr(budget_mod, "resident_mib", lambda: float(next(grown)))
    budget = Budget(max_records=10**9, max_occurrences=10**9, max_seconds=600, max_memory_mib=64)
    reasons = [r for r in (budget.record() for _ in range(10 * budget_mod.MEMORY_EVERY)) if r]
    assert reasons, "the memory budget never stopped the input"
    assert "TWIN_PARSE_MAX_MEMORY_MIB" in reasons[0] and "64 MiB" in reasons[0]
    # Looked at only every MEMORY_EVERY items: reading the process's memory is not free.
    assert budget.records % budget_mod.MEMORY_EVERY == 0 or budget.records > budget_mod.MEMORY_EVERY


def test_a_steady_process_stays_within_the_memory_budget(monkeypatch):
    from twin_assets.connectors.toolkit import budget as budget_mod

    monkeypatch.setattr(budget_mod, "resident_mib", lambda: 500.0)
    budget = Budget(max_records=10**9, max_occurrences=10**9, max_seconds=600, max_memory_mib=64)
    assert not any(budget.record() for _ in range(5 * budget_mod.MEMORY_EVERY))


def test_sync_quarantines_the_rest_of_an_input_over_its_memory_budget(twin, tmp_path, monkeypatch):
    from twin_assets.connectors.toolkit import budget as budget_mod

    monkeypatch.setenv("TWIN_PARSE_MAX_MEMORY_MIB", "64")
    grown = iter(range(0, 10**7, 1))  # 1 MiB more at every look: over 64 MiB after 64 looks
    monkeypatch.setattr(budget_mod, "resident_mib", lambda: float(next(grown)))
    monkeypatch.setattr(budget_mod, "MEMORY_EVERY", 1)
    path = tmp_path / "busy.ics"
    path.write_bytes(minutely_series(2, occurrences=100))
    assert register_input(twin, path, "calendar", "cli").input_id
    result = sync_source(twin, "calendar")
    assert 0 < result.records_new < 200
    reasons = [p.reason for p in result.problems]
    assert any("TWIN_PARSE_MAX_MEMORY_MIB" in r for r in reasons), reasons


def test_the_process_memory_reading_is_plausible():
    from twin_assets.connectors.toolkit.budget import resident_mib

    assert 10 < resident_mib() < 64 * 1024


def one_giant_event(mib: int) -> bytes:
    """One event whose summary is ``mib`` MiB on one line: a single record, parsed in ~0.7 s per MiB (linear, but a
    1 GiB line would take ~11 minutes, past the 600 s default, with no second record to check the clock at)."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\nUID:giant@x\r\n"
        f"DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T000000Z\r\nSUMMARY:{'x' * (mib * 2**20)}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_the_time_budget_interrupts_a_single_slow_record(twin, tmp_path, monkeypatch):
    """Checked between records only, one slow record escaped the budget; the watchdog stops it inside the record."""
    monkeypatch.setenv("TWIN_PARSE_MAX_SECONDS", "0.5")
    path = tmp_path / "giant.ics"
    path.write_bytes(one_giant_event(8))  # ~5 s to parse
    assert register_input(twin, path, "calendar", "cli").input_id
    started = time.monotonic()
    result = sync_source(twin, "calendar")
    assert time.monotonic() - started < 3
    assert result.records_new == 0
    reasons = [p.reason for p in result.problems]
    assert len(reasons) == 1 and "TWIN_PARSE_MAX_SECONDS" in reasons[0] and "x" * 10 not in reasons[0], reasons


def test_the_watchdog_interrupts_c_level_matching_and_spares_the_callers_own_work():
    import re

    from twin_assets.connectors.toolkit import BudgetInterrupt

    budget = Budget(max_records=10**9, max_occurrences=10**9, max_seconds=0.3)
    started = time.monotonic()
    with budget.watchdog() as watch:
        time.sleep(0.5)  # the caller's own work (writing records): never interrupted
        with pytest.raises(BudgetInterrupt) as stopped, watch.parsing():
            re.match(r"(a+)+$", "a" * 40 + "b")  # 2**40 steps inside the regex engine
    assert time.monotonic() - started < 2 and "TWIN_PARSE_MAX_SECONDS" in stopped.value.reason
    budget = Budget(max_records=10**9, max_occurrences=10**9, max_seconds=0.3)
    with budget.watchdog() as watch, pytest.raises(BudgetInterrupt), watch.parsing():
        re.match(r"(a+)+$", "a" * 40 + "b")
    assert time.monotonic() - started < 3


def test_an_outer_timer_still_fires_inside_the_watchdog():
    """pytest-timeout (and anyone else) may have SIGALRM set; the watchdog hands it its signal on time."""
    import signal

    class OuterTimeout(Exception):
        pass

    def outer(signum, frame):
        raise OuterTimeout

    previous = signal.signal(signal.SIGALRM, outer)
    old = signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        started = time.monotonic()
        budget = Budget(max_records=10**9, max_occurrences=10**9, max_seconds=60)
        with pytest.raises(OuterTimeout), budget.watchdog() as watch, watch.parsing():
            time.sleep(5)
        assert time.monotonic() - started < 2
        signal.setitimer(signal.ITIMER_REAL, 0.2)  # and it is the outer handler again afterwards
        with pytest.raises(OuterTimeout):
            time.sleep(5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old)
        signal.signal(signal.SIGALRM, previous)
