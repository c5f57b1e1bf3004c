"""CalendarConnector: iCalendar parsing, recurrence expansion and the usual breakage."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from twin_assets.connectors.base import read_head
from twin_assets.connectors.calendar import CalendarConnector, default_window, repair_ics, resolve_tzid
from twin_assets.records import ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
CALENDAR_SAMPLES = SAMPLES.resolve() / "calendar"

WINDOW = {"window_start": "2023-01-01", "window_end": "2026-01-01"}

BERLIN_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def ics(*components: str) -> bytes:
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + "".join(components) + "END:VCALENDAR\n"
    return body.replace("\n", "\r\n").encode()


def event(uid: str, *lines: str) -> str:
    return (
        "BEGIN:VEVENT\nUID:"
        + uid
        + "\nDTSTAMP:20240101T000000Z\n"
        + "".join(f"{line}\n" for line in lines)
        + ("END:VEVENT\n")
    )


def parse(tmp_path: Path, data: bytes, name: str = "cal.ics", **kwargs: object) -> list[Record | ParseIssue]:
    path = tmp_path / name
    path.write_bytes(data)
    connector = CalendarConnector(**{**WINDOW, **kwargs})  # type: ignore[arg-type]
    return list(connector.parse(path))


def records(items: list[Record | ParseIssue]) -> list[Record]:
    return [i for i in items if isinstance(i, Record)]


def issues(items: list[Record | ParseIssue]) -> list[ParseIssue]:
    return [i for i in items if isinstance(i, ParseIssue)]


def test_weekly_rrule_with_exdate_and_moved_occurrence(tmp_path: Path) -> None:
    master = event(
        "weekly-1",
        "SUMMARY:Team sync",
        "DESCRIPTION:Weekly planning",
        "LOCATION:Room 4",
        "STATUS:CONFIRMED",
        "CATEGORIES:Work,Meetings",
        "DTSTART;TZID=Europe/Berlin:20240603T090000",
        "DTEND;TZID=Europe/Berlin:20240603T100000",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        "EXDATE;TZID=Europe/Berlin:20240610T090000",
        "ORGANIZER;CN=Olga Organiser:mailto:Olga@Example.com",
        "ATTENDEE;CN=Ann Attendee;PARTSTAT=ACCEPTED:mailto:ann@example.com",
        "ATTENDEE:mailto:BOB@example.com",
    )
    moved = event(
        "weekly-1",
        "RECURRENCE-ID;TZID=Europe/Berlin:20240617T090000",
        "SUMMARY:Team sync (moved)",
        "DTSTART;TZID=Europe/Berlin:20240618T140000",
        "DTEND;TZID=Europe/Berlin:20240618T150000",
    )
    items = parse(tmp_path, ics(BERLIN_VTIMEZONE, master, moved))
    assert issues(items) == []
    recs = sorted(records(items), key=lambda r: r.event_time or datetime.min.replace(tzinfo=UTC))
    starts = [r.event_time for r in recs]
    assert starts == [
        datetime(2024, 6, 3, 7, 0, tzinfo=UTC),
        datetime(2024, 6, 18, 12, 0, tzinfo=UTC),  # moved: new time, CEST = UTC+2
        datetime(2024, 6, 24, 7, 0, tzinfo=UTC),
        datetime(2024, 7, 1, 7, 0, tzinfo=UTC),
    ]
    assert datetime(2024, 6, 10, 7, 0, tzinfo=UTC) not in starts  # the EXDATE
    moved_rec = recs[1]
    assert moved_rec.title == "Team sync (moved)"
    assert moved_rec.attributes["is_exception"] is True
    assert moved_rec.end_time == datetime(2024, 6, 18, 13, 0, tzinfo=UTC)
    # the moved occurrence keeps the identity of the slot it replaces
    assert moved_rec.external_id == "weekly-1/2024-06-17T07:00:00Z"
    first = recs[0]
    assert first.external_id == "weekly-1/2024-06-03T07:00:00Z"
    assert first.title == "Team sync" and first.body == "Weekly planning"
    assert first.original_tz == "Europe/Berlin"
    assert first.thread_id == "weekly-1"
    assert first.attributes == {
        "location": "Room 4",
        "all_day": False,
        "series_uid": "weekly-1",
        "is_recurring": True,
        "is_exception": False,
        "status": "CONFIRMED",
        "categories": ["Work", "Meetings"],
        "rrule": "FREQ=WEEKLY;COUNT=5",
        "tzid": "Europe/Berlin",
        "tz_assumed_utc": False,
    }
    assert first.parties == [
        Party("organizer", "Olga Organiser", "olga@example.com"),
        Party("attendee", "Ann Attendee", "ann@example.com"),
        Party("attendee", None, "bob@example.com"),
    ]
    assert len({r.external_id for r in recs}) == 4
    json.dumps([r.to_json() for r in recs])


def test_custom_tzid_defined_by_vtimezone(tmp_path: Path) -> None:
    vtimezone = (
        "BEGIN:VTIMEZONE\nTZID:My Office Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "TZOFFSETFROM:+0530\nTZOFFSETTO:+0530\nEND:STANDARD\nEND:VTIMEZONE\n"
    )
    ev = event("tz-1", "SUMMARY:Call", "DTSTART;TZID=My Office Zone:20240301T100000")
    (rec,) = records(parse(tmp_path, ics(vtimezone, ev)))
    assert rec.event_time == datetime(2024, 3, 1, 4, 30, tzinfo=UTC)
    assert rec.original_tz == "My Office Zone"
    assert rec.attributes["tz_assumed_utc"] is False


@pytest.mark.parametrize(
    ("tzid", "expected_utc", "expected_tz", "assumed"),
    [
        ("W. Europe Standard Time", datetime(2024, 1, 15, 8, 0, tzinfo=UTC), "Europe/Berlin", False),
        ("Pacific Standard Time", datetime(2024, 1, 15, 17, 0, tzinfo=UTC), "America/Los_Angeles", False),
        (
            '"(UTC+01:00) Amsterdam, Berlin, Bern, Rome"',  # Outlook display name, quoted as it must be
            datetime(2024, 1, 15, 8, 0, tzinfo=UTC),
            "Europe/Amsterdam",
            False,
        ),
        ("/example.org/tzdb/Europe/Paris", datetime(2024, 1, 15, 8, 0, tzinfo=UTC), "Europe/Paris", False),
        ("Nowhere Special Zone", datetime(2024, 1, 15, 9, 0, tzinfo=UTC), "Nowhere Special Zone", True),
    ],
)
def test_odd_tzids_without_vtimezone(
    tmp_path: Path, tzid: str, expected_utc: datetime, expected_tz: str, assumed: bool
) -> None:
    ev = event("win-1", "SUMMARY:Standup", f"DTSTART;TZID={tzid}:20240115T090000")
    (rec,) = records(parse(tmp_path, ics(ev)))
    assert rec.event_time == expected_utc
    assert rec.original_tz == expected_tz
    assert rec.attributes["tz_assumed_utc"] is assumed


def test_resolve_tzid_offsets() -> None:
    guess = resolve_tzid("GMT +0100 (Standard) / GMT +0200 (Daylight)")
    assert guess.tz is not None and guess.name is None and not guess.exact
    assert datetime(2024, 1, 1, tzinfo=guess.tz).utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    assert resolve_tzid("definitely not a zone").tz is None


def test_all_day_event(tmp_path: Path) -> None:
    ev = event("day-1", "SUMMARY:Holiday", "DTSTART;VALUE=DATE:20240501", "DTEND;VALUE=DATE:20240502")
    (rec,) = records(parse(tmp_path, ics(ev)))
    assert rec.attributes["all_day"] is True
    assert rec.external_id == "day-1/2024-05-01"
    assert rec.event_time == datetime(2024, 5, 1, tzinfo=UTC)
    assert rec.end_time == datetime(2024, 5, 2, tzinfo=UTC)
    assert rec.original_tz == "floating"
    assert rec.attributes["is_recurring"] is False and rec.attributes["rrule"] is None


def test_floating_time_is_read_as_utc(tmp_path: Path) -> None:
    (rec,) = records(parse(tmp_path, ics(event("f-1", "SUMMARY:Local", "DTSTART:20240301T100000"))))
    assert rec.event_time == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert rec.original_tz == "floating"


def test_lone_cr_line_endings(tmp_path: Path) -> None:
    data = ics(event("cr-1", "SUMMARY:Old Mac export", "DTSTART:20240301T100000Z")).replace(b"\r\n", b"\r")
    (rec,) = records(parse(tmp_path, data))
    assert rec.title == "Old Mac export"
    assert rec.event_time == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_lone_cr_inside_value_and_missing_end_lines(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a-1\r\nDTSTART:20240301T100000Z\r\n"
        b"DESCRIPTION:first part\rsecond part\r\nSUMMARY:A\r\n"
        b"BEGIN:VEVENT\r\nUID:b-1\r\nDTSTART:20240302T100000Z\r\nSUMMARY:B\r\n"  # no END lines at all
    )
    recs = records(parse(tmp_path, data))
    assert sorted(r.title for r in recs) == ["A", "B"]
    assert next(r for r in recs if r.title == "A").body == "first part second part"


def test_repair_balances_components() -> None:
    repaired = repair_ics("BEGIN:VEVENT\nUID:x\nDTSTART:20240101T000000Z\nEND:VTODO\n")
    assert repaired.split("\r\n")[:2] == ["BEGIN:VCALENDAR", "BEGIN:VEVENT"]
    assert repaired.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert "END:VTODO" not in repaired


def test_missing_dtstart_is_an_issue_and_others_survive(tmp_path: Path) -> None:
    items = parse(
        tmp_path,
        ics(
            event("ok-1", "SUMMARY:Fine", "DTSTART:20240301T100000Z"),
            event("bad-1", "SUMMARY:Secret meeting name"),
            event("ok-2", "SUMMARY:Also fine", "DTSTART:20240302T100000Z"),
        ),
    )
    assert sorted(r.title for r in records(items)) == ["Also fine", "Fine"]
    assert issues(items) == [ParseIssue("VEVENT 2", "VEVENT without DTSTART")]


def test_broken_optional_property_is_dropped_and_reported(tmp_path: Path) -> None:
    ev = event("b-1", "SUMMARY:Broken end", "DTSTART:20240301T100000Z", "DTEND:NOT-A-DATE")
    items = parse(tmp_path, ics(ev))
    assert [r.title for r in records(items)] == ["Broken end"]
    assert issues(items) == [ParseIssue("VEVENT 1", "DTEND unparseable, ignored")]


def test_occurrence_cap(tmp_path: Path) -> None:
    ev = event("daily-1", "SUMMARY:Daily", "DTSTART:20230101T080000Z", "RRULE:FREQ=DAILY")
    items = parse(tmp_path, ics(ev), max_occurrences=10)
    assert len(records(items)) == 10
    assert issues(items) == [ParseIssue("VEVENT 1", "more than 10 occurrences in the window, truncated")]


def test_too_dense_rule_is_skipped(tmp_path: Path) -> None:
    ev = event("sec-1", "SUMMARY:Every second", "DTSTART:19900101T000000Z", "RRULE:FREQ=SECONDLY")
    items = parse(tmp_path, ics(ev))
    assert records(items) == []
    assert issues(items) == [ParseIssue("VEVENT 1", "recurrence rule too dense to expand, skipped")]


def test_window_bounds_recurrences_but_not_one_off_events(tmp_path: Path) -> None:
    yearly = event("y-1", "SUMMARY:Birthday", "DTSTART;VALUE=DATE:20000315", "RRULE:FREQ=YEARLY")
    old = event("old-1", "SUMMARY:Long ago", "DTSTART:19990101T100000Z")
    recs = records(parse(tmp_path, ics(yearly, old)))
    birthdays = sorted(r.external_id for r in recs if r.title == "Birthday")
    assert birthdays == ["y-1/2023-03-15", "y-1/2024-03-15", "y-1/2025-03-15"]
    assert [r.title for r in recs if r.title == "Long ago"] == ["Long ago"]


def test_default_window_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_CALENDAR_WINDOW_START", "2020-02-01")
    monkeypatch.setenv("TWIN_CALENDAR_WINDOW_END", "2021-03-04")
    assert default_window() == (datetime(2020, 2, 1), datetime(2021, 3, 4))
    connector = CalendarConnector()
    assert (connector.window_start, connector.window_end) == (datetime(2020, 2, 1), datetime(2021, 3, 4))
    monkeypatch.delenv("TWIN_CALENDAR_WINDOW_START")
    monkeypatch.delenv("TWIN_CALENDAR_WINDOW_END")
    assert default_window(date(2024, 2, 29)) == (datetime(2014, 2, 28), datetime(2026, 2, 28))


def test_missing_uid_gets_stable_id(tmp_path: Path) -> None:
    data = ics("BEGIN:VEVENT\nSUMMARY:No uid\nDTSTART:20240301T100000Z\nEND:VEVENT\n")
    (first,) = records(parse(tmp_path, data, name="a.ics"))
    (second,) = records(parse(tmp_path, data, name="b.ics"))
    assert first.external_id.startswith("sha256:")
    assert first.external_id == second.external_id


def test_folder_of_ics_files(tmp_path: Path) -> None:
    folder = tmp_path / "collection"
    folder.mkdir()
    (folder / "one.ics").write_bytes(ics(event("f-1", "SUMMARY:One", "DTSTART:20240301T100000Z")))
    (folder / "two.ics").write_bytes(ics(event("f-2", "SUMMARY:Two", "DTSTART:20240302T100000Z")))
    connector = CalendarConnector(**WINDOW)  # type: ignore[arg-type]
    assert connector.recognizes(folder, b"")
    assert sorted(r.title for r in records(list(connector.parse(folder)))) == ["One", "Two"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbf\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\n", True),
        (b"BEGIN:VEVENT\nUID:x\n", True),
        (b"BEGIN:VCARD\nVERSION:3.0\nFN:Someone\nEND:VCARD\n", False),
        (b"From: a@b.c\nSubject: BEGIN:VCALENDAR\n\n", False),
        (b"", False),
    ],
)
def test_recognizes(tmp_path: Path, content: bytes, expected: bool) -> None:
    path = tmp_path / "input.dat"
    path.write_bytes(content)
    assert CalendarConnector(**WINDOW).recognizes(path, read_head(path)) is expected  # type: ignore[arg-type]


def test_issues_never_quote_content(tmp_path: Path) -> None:
    secret = "ConfidentialProjectName"
    data = ics(
        event(secret, f"SUMMARY:{secret}", f"DTEND:{secret}"),
        event(f"{secret}-2", f"SUMMARY:{secret}", "DTSTART:20240101T000000Z", f"DTEND:{secret}"),
        event(f"{secret}-3", "DTSTART:20240101T000000Z", "RRULE:FREQ=SECONDLY"),
    )
    found = issues(parse(tmp_path, data, name=f"{secret}.ics", window_start="1900-01-01"))
    assert len(found) == 3
    for issue in found:
        assert secret.lower() not in (issue.where + issue.reason).lower()


def test_unreadable_input(tmp_path: Path) -> None:
    connector = CalendarConnector(**WINDOW)  # type: ignore[arg-type]
    assert list(connector.parse(tmp_path / "missing.ics")) == [ParseIssue("file", "not a file or folder")]
    (tmp_path / "junk.ics").write_bytes(b"\x00\x01 not a calendar")
    assert list(connector.parse(tmp_path / "junk.ics")) == [ParseIssue("file", "no iCalendar content")]


@pytest.mark.skipif(not CALENDAR_SAMPLES.exists(), reason="shared samples not available")
def test_samples_never_raise() -> None:
    connector = CalendarConnector(window_start="2010-01-01", window_end="2027-01-01")
    files = [p for p in sorted(CALENDAR_SAMPLES.rglob("*")) if p.is_file()]
    n_records = n_issues = with_records = 0
    for path in files:
        got = list(connector.parse(path))
        for item in got:
            assert isinstance(item, Record | ParseIssue)
            if isinstance(item, Record):
                assert item.event_time is not None and item.event_time.tzinfo is not None
                assert "/" in item.external_id
                json.dumps(item.attributes)
        n_records += len(records(got))
        n_issues += len(issues(got))
        with_records += bool(records(got))
    print(f"calendar samples: {len(files)} files, {with_records} with records, {n_records} records, {n_issues} issues")
    assert with_records > len(files) // 2
