"""Calendars: iCalendar (.ics) files and folders of them, recurring events expanded.

Every occurrence of an event becomes its own record, so "what was I doing on
the 3rd" is a plain time-range query downstream. Recurring series are
expanded with :mod:`recurring_ical_events` inside a window (default: ten years
back to two years ahead) and capped per series; one-off events are kept
whatever their date.

Real calendar files break in predictable ways, which are repaired before
parsing: lone CR line endings, stray unfolded lines, missing END lines, and
time zone ids that are Windows names, Outlook display names or plain made up.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from twin_assets.connectors.base import CALENDAR, Connector, SourceTraits
from twin_assets.connectors.toolkit import Budget, BudgetExceeded, ExportWalk, decode, zone_named
from twin_assets.records import EVENT, ParseIssue, Party, Record
from twin_assets.settings import get_settings
from twin_assets.tiers import MEDIUM

DEFAULT_YEARS_BACK = 10
DEFAULT_YEARS_AHEAD = 2
MAX_OCCURRENCES_PER_SERIES = 5000
# dateutil walks a rule from DTSTART, so a per-minute rule from 1990 costs millions of
# steps before the window even starts; rules estimated above this are not expanded.
MAX_RULE_STEPS = 500_000
MAX_FILE_BYTES = 100 * 1024 * 1024
FILE_SNIFF_BYTES = 8 * 1024
# Real calendars nest three deep (VCALENDAR > VTIMEZONE > STANDARD); more is hostile.
MAX_NESTING = 16
# One-off events are kept whatever the window; this only bounds the arithmetic.
_ONE_OFF_SPAN = (datetime(1800, 1, 1), datetime(2300, 1, 1))

BOM = b"\xef\xbb\xbf"
_COMPONENT_NAME = re.compile(r"^[A-Z][A-Z0-9-]{0,63}$")
_CONTENT_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*[;:]")
_SNIFF = re.compile(rb"^BEGIN:(VCALENDAR|VEVENT|VTODO|VTIMEZONE)\s*$", re.IGNORECASE | re.MULTILINE)
# Components that cannot contain themselves: a second BEGIN means the first lost its END.
_NON_NESTING = frozenset({"VCALENDAR", "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "VALARM"})
_RECURRENCE_PROPS = ("RRULE", "RDATE", "EXDATE", "EXRULE")
_DROPPABLE_PROPS = ("DTEND", "DURATION", *_RECURRENCE_PROPS)
_OFFSET_IN_TZID = re.compile(r"(?:UTC|GMT)\s*([+-])\s*(\d{1,2})(?:[:.]?(\d{2}))?", re.IGNORECASE)


# ---------------------------------------------------------------------------
# Window


def _as_naive_utc(value: date | datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime(value.year, value.month, value.day)


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def default_window(today: date | None = None) -> tuple[datetime, datetime]:
    """The expansion window of the settings (TWIN_CALENDAR_WINDOW_*), else ten years back to two years ahead."""
    today = today or datetime.now(UTC).date()
    window = get_settings().calendar
    start = window.window_start or _shift_years(today, -DEFAULT_YEARS_BACK)
    end = window.window_end or _shift_years(today, DEFAULT_YEARS_AHEAD)
    return _as_naive_utc(start), _as_naive_utc(end)


# ---------------------------------------------------------------------------
# Repairing the text


def repair_ics(text: str) -> str:
    """Normalise line endings, re-attach stray lines and balance BEGIN/END.

    A lone CR becomes a line break; a line that is neither a property nor a
    fold continuation (typically the tail of a value broken by a lone CR) is
    folded back onto the property before it; END lines that close nothing are
    dropped, missing ones are added, and content outside VCALENDAR is wrapped.
    """
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    stack: list[str] = []
    in_alarm = False
    for line in text.split("\n"):
        if not line.strip():
            continue
        # Alarms say nothing about the event and are a common source of parse failures.
        upper = line.upper().rstrip()
        if in_alarm:
            in_alarm = upper != "END:VALARM" and not upper.startswith(("END:VEVENT", "END:VTODO", "BEGIN:VEVENT"))
            if in_alarm or upper == "END:VALARM":
                continue
        elif upper == "BEGIN:VALARM":
            in_alarm = True
            continue
        if line[0] in " \t":
            if out:
                out.append(line)
            continue
        if not _CONTENT_LINE.match(line):
            if out and not out[-1].upper().startswith(("BEGIN:", "END:")):
                out.append("  " + line)  # unfolding eats one space; the other separates the words
            continue
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            name = upper[6:].strip()
            if not _COMPONENT_NAME.match(name) or len(stack) >= MAX_NESTING:
                continue
            if name in _NON_NESTING and name in stack:
                while stack:
                    closed = stack.pop()
                    out.append(f"END:{closed}")
                    if closed == name:
                        break
            if not stack and name != "VCALENDAR":
                out.append("BEGIN:VCALENDAR")
                stack.append("VCALENDAR")
            stack.append(name)
            out.append(f"BEGIN:{name}")
        elif upper.startswith("END:"):
            name = upper[4:].strip()
            if name not in stack:
                continue
            while stack:
                closed = stack.pop()
                out.append(f"END:{closed}")
                if closed == name:
                    break
        elif stack:
            out.append(line)
    out.extend(f"END:{name}" for name in reversed(stack))
    return "\r\n".join(out) + "\r\n"


def _split_blocks(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(calendar header lines, top-level component blocks) per VCALENDAR of repaired text."""
    calendars: list[tuple[list[str], list[list[str]]]] = []
    header: list[str] = []
    blocks: list[list[str]] = []
    current: list[str] | None = None
    depth = 0
    for line in text.split("\r\n"):
        upper = line.upper()
        if upper == "BEGIN:VCALENDAR" and depth == 0:
            header, blocks, depth = [], [], 1
            continue
        if upper == "END:VCALENDAR" and depth == 1:
            calendars.append((header, blocks))
            depth = 0
            continue
        if upper.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                current = []
                blocks.append(current)
        if current is not None and depth >= 2:
            current.append(line)
        elif depth == 1 and line:
            header.append(line)
        if upper.startswith("END:"):
            depth -= 1
            if depth == 1:
                current = None
    return calendars


def _parse_calendars(text: str) -> tuple[list[Any], list[ParseIssue]]:
    """Parse repaired text; if the whole fails, parse component by component."""
    from icalendar import Calendar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return list(Calendar.from_ical(text, multiple=True)), []
        except Exception:  # fall back to isolating the broken component below
            pass
        calendars: list[Any] = []
        issues: list[ParseIssue] = []
        event_no = 0
        for header, blocks in _split_blocks(text):
            good: list[list[str]] = []
            for block in blocks:
                kind = block[0][6:].upper() if block else ""
                if kind == "VEVENT":
                    event_no += 1
                candidate = ["BEGIN:VCALENDAR", *header, *block, "END:VCALENDAR"]
                try:
                    Calendar.from_ical("\r\n".join(candidate) + "\r\n")
                except Exception as exc:
                    if kind == "VEVENT":
                        issues.append(ParseIssue(f"VEVENT {event_no}", f"not valid iCalendar ({type(exc).__name__})"))
                    continue
                good.append(block)
            lines = ["BEGIN:VCALENDAR", *header, *(line for block in good for line in block), "END:VCALENDAR"]
            try:
                calendars.extend(Calendar.from_ical("\r\n".join(lines) + "\r\n", multiple=True))
            except Exception as exc:
                issues.append(ParseIssue("file", f"not valid iCalendar ({type(exc).__name__})"))
        return calendars, issues


# ---------------------------------------------------------------------------
# Time zones


@cache
def _iana_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@cache
def _iana_by_city() -> dict[str, str]:
    cities: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            cities.setdefault(name.rsplit("/", 1)[1].replace("_", " ").lower(), name)
    return cities


@dataclass(frozen=True)
class ZoneGuess:
    tz: tzinfo | None
    name: str | None  # IANA name when known
    exact: bool  # False for a fixed-offset stand-in or nothing at all


@cache
def _windows_by_lower() -> dict[str, str]:
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    return {k.lower(): v for k, v in WINDOWS_TO_OLSON.items()}


@lru_cache(maxsize=2048)
def resolve_tzid(tzid: str) -> ZoneGuess:
    """Best zone for a TZID: IANA, Windows name, vendor-prefixed id, Outlook display name or offset."""
    clean = tzid.strip().strip("\"'").strip("/").strip()
    lower = clean.lower()
    iana = _iana_by_lower()
    name = iana.get(lower) or iana.get(lower.replace(" ", "_")) or _windows_by_lower().get(lower)
    if name is None:
        # Vendor prefixes and custom ids ("/freeassociation.sourceforge.net/Europe/Berlin",
        # "custom_America/New_York", "Europe_Berlin"): the longest IANA name at the end wins.
        matches = [
            real
            for low, real in iana.items()
            if "/" in low
            and any(
                lower == form or (lower.endswith(form) and lower[-len(form) - 1] in "/_ -")
                for form in (low, low.replace("/", "_"))
            )
        ]
        name = max(matches, key=len) if matches else None
    if name is None:
        # Outlook display names: "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna".
        cities = _iana_by_city()
        name = next(
            (cities[w.strip().lower()] for w in re.split(r"[,;()]", clean) if w.strip().lower() in cities), None
        )
    zone = zone_named(name)
    if zone is not None:
        return ZoneGuess(zone, name, True)
    match = _OFFSET_IN_TZID.search(clean)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        if hours < 24 and minutes < 60:
            return ZoneGuess(timezone(sign * timedelta(hours=hours, minutes=minutes)), None, False)
    return ZoneGuess(None, None, False)


def _zone_name(value: datetime, tzid: str | None) -> str:
    """The zone to report as original_tz: IANA name if known, else the TZID as given."""
    tz = value.tzinfo
    if tz is None:
        if tzid:
            return resolve_tzid(tzid).name or tzid
        return "floating"
    key = getattr(tz, "key", None)
    if key:
        return "UTC" if key in ("UTC", "Etc/UTC") else key
    if tzid:
        return resolve_tzid(tzid).name or tzid
    if value.utcoffset() == timedelta(0):
        return "UTC"
    return str(tz)


# ---------------------------------------------------------------------------
# Events


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).replace("\r\n", "\n").replace("\x00", "").strip()


def _prop_params(component: Any, name: str) -> dict[str, Any]:
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return dict(getattr(value, "params", {}) or {})


def _is_broken(value: Any) -> bool:
    from icalendar import vBroken

    items = value if isinstance(value, list) else [value]
    return any(isinstance(item, vBroken) for item in items)


def _dt(component: Any, name: str) -> date | datetime | None:
    value = component.get(name)
    if value is None:
        return None
    dt = value.dt
    return dt if isinstance(dt, date) else None


def _party(value: Any, role: str) -> Party | None:
    raw = str(value).strip()
    params = getattr(value, "params", {}) or {}
    name = str(params.get("CN", "") or "").strip().strip("\"'") or None
    email = handle = None
    if raw.lower().startswith("mailto:"):
        email = raw[7:].strip().lower() or None
    elif "@" in raw and ":" not in raw:
        email = raw.lower()
    elif raw:
        handle = raw
    if email and "@" not in email:
        email, handle = None, email
    if not (name or email or handle):
        return None
    return Party(role=role, name=name, email=email, handle=handle)


def event_parties(component: Any) -> list[Party]:
    parties: list[Party] = []
    organizer = component.get("ORGANIZER")
    for value in organizer if isinstance(organizer, list) else [organizer] if organizer else []:
        party = _party(value, "organizer")
        if party:
            parties.append(party)
    attendees = component.get("ATTENDEE")
    for value in attendees if isinstance(attendees, list) else [attendees] if attendees else []:
        party = _party(value, "attendee")
        if party and party not in parties:
            parties.append(party)
    return parties


def event_categories(component: Any) -> list[str]:
    found: list[str] = []
    value = component.get("CATEGORIES")
    for item in value if isinstance(value, list) else [value] if value is not None else []:
        cats = getattr(item, "cats", None)
        for cat in cats if cats is not None else str(item).split(","):
            text = str(cat).strip()
            if text and text not in found:
                found.append(text)
    return found


def _rrule_text(component: Any) -> str | None:
    value = component.get("RRULE")
    if value is None:
        return None
    rules = value if isinstance(value, list) else [value]
    texts = []
    for rule in rules:
        try:
            texts.append(rule.to_ical().decode())
        except Exception:  # a rule that cannot be serialised is simply not reported
            continue
    return "\n".join(texts) or None


def _sequence(component: Any) -> int:
    try:
        return int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _utc(value: date | datetime, fallback: tzinfo | None) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=fallback or UTC)
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _occurrence_key(value: date | datetime, fallback: tzinfo | None) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return _utc(value, fallback).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_event(component: Any, where: str) -> tuple[bool, list[ParseIssue]]:
    """Whether a VEVENT is usable, dropping broken optional properties (reported) on the way."""
    issues: list[ParseIssue] = []
    if component.get("DTSTART") is None:
        return False, [ParseIssue(where, "VEVENT without DTSTART")]
    for name in ("DTSTART", "RECURRENCE-ID"):
        value = component.get(name)
        if value is not None and (_is_broken(value) or _safe_dt(component, name) is None):
            return False, [ParseIssue(where, f"{name} unparseable")]
    for name in _DROPPABLE_PROPS:
        value = component.get(name)
        if value is None:
            continue
        if _is_broken(value) or (name in ("DTEND", "DURATION") and not _end_usable(component, name)):
            del component[name]
            issues.append(ParseIssue(where, f"{name} unparseable, ignored"))
    return True, issues


def _safe_dt(component: Any, name: str) -> date | datetime | None:
    try:
        return _dt(component, name)
    except Exception:  # broken value objects raise on .dt
        return None


def _end_usable(component: Any, name: str) -> bool:
    try:
        start = component["DTSTART"].dt
        value = component[name].dt
        if name == "DURATION":
            return isinstance(value, timedelta) and value >= timedelta(0)
        if isinstance(start, datetime) != isinstance(value, datetime):
            return True  # date/datetime mixes are reconciled by recurring_ical_events
        if isinstance(start, datetime) and (start.tzinfo is None) != (value.tzinfo is None):
            return True
        return bool(value >= start)
    except Exception:  # values that cannot even be compared are unusable
        return False


def _uid(component: Any) -> str:
    uid = _text(component, "UID")
    if uid:
        return uid
    # No UID: a hash of the event itself is stable across re-imports of the same file.
    try:
        content = component.to_ical()
    except Exception:  # a component that cannot be serialised still needs an id
        content = repr(sorted((k, str(v)) for k, v in component.items())).encode()
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _zone_hint(component: Any, tzid: str | None, x_wr_tz: str) -> tuple[tzinfo | None, str | None, bool]:
    """Zone for naive start times the parser could not place: (zone, name to report, UTC assumed)."""
    start = _safe_dt(component, "DTSTART")
    if not isinstance(start, datetime) or start.tzinfo is not None:
        return None, None, False
    if tzid:
        guess = resolve_tzid(tzid)
        if guess.tz is None:
            return UTC, tzid, True
        return guess.tz, guess.name or tzid, False
    if x_wr_tz:  # a calendar-wide zone for floating times (Google exports)
        guess = resolve_tzid(x_wr_tz)
        if guess.tz is not None:
            return guess.tz, guess.name or x_wr_tz, False
    return None, "floating", False  # truly floating: read as UTC, reported as floating


def _estimated_steps(rule: Any, window_end: datetime) -> float:
    """Rough number of candidate instants dateutil generates to reach the window end."""
    seconds_per = {0: 366 * 86400, 1: 31 * 86400, 2: 7 * 86400, 3: 86400, 4: 3600, 5: 60, 6: 1}
    candidates_per = {0: 366, 1: 31, 2: 7}
    freq = getattr(rule, "_freq", 3)
    interval = max(int(getattr(rule, "_interval", 1) or 1), 1)
    start = getattr(rule, "_dtstart", None)
    if not isinstance(start, datetime):
        return 0.0
    start = start.replace(tzinfo=None)
    end = window_end
    until = getattr(rule, "_until", None)
    if isinstance(until, datetime):
        end = min(end, until.replace(tzinfo=None))
    span = max((end - start).total_seconds(), 0.0)
    periods = span / (seconds_per.get(freq, 86400) * interval) + 1
    count = getattr(rule, "_count", None)
    if count:
        periods = min(periods, float(count))
    per_period = float(candidates_per.get(freq, 1))
    for attr in ("_byhour", "_byminute", "_bysecond"):
        values = getattr(rule, attr, None)
        per_period *= max(len(values), 1) if values else 1
    return periods * per_period


class _TooDense(Exception):
    """A recurrence rule that would take too long to walk."""


def _occurrences(components: list[Any], span: tuple[datetime, datetime], check_density: bool) -> Iterator[Any]:
    """Occurrences of one series (all components share a UID) within ``span``."""
    import recurring_ical_events
    from icalendar import Calendar

    mini = Calendar()
    for component in components:
        mini.add_component(component)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        query = recurring_ical_events.of(mini)
    for rule_series in query.series:
        if check_density:
            rules = getattr(rule_series.recurrence, "rrules", [])[1:]
            if any(_estimated_steps(rule, span[1]) > MAX_RULE_STEPS for rule in rules):
                raise _TooDense
        yield from rule_series.between(*span)


@dataclass
class _Series:
    uid: str
    first_index: int
    members: list[Any]
    zone_hint: tzinfo | None  # for naive times the parser could not place
    zone_hint_name: str | None
    tzid: str | None
    tz_assumed_utc: bool


class CalendarConnector(Connector):
    """iCalendar files (and folders of them); one record per event occurrence."""

    kind: ClassVar[str] = "calendar"
    description: ClassVar[str] = "Calendars: iCalendar .ics files (recurring events expanded into occurrences)"
    record_kinds: ClassVar[tuple[str, ...]] = (EVENT,)
    traits: ClassVar[SourceTraits] = SourceTraits(
        default_tier=MEDIUM, medium=CALENDAR, correspondence=True, party_context="calendar invitation"
    )

    def __init__(
        self,
        window_start: date | datetime | str | None = None,
        window_end: date | datetime | str | None = None,
        max_occurrences: int = MAX_OCCURRENCES_PER_SERIES,
    ) -> None:
        default_start, default_end = default_window()
        self.window_start = _as_naive_utc(window_start) if window_start is not None else default_start
        self.window_end = _as_naive_utc(window_end) if window_end is not None else default_end
        self.max_occurrences = max_occurrences

    # -- detection -----------------------------------------------------------

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if path.is_dir():
                return self._folder_has_calendars(path)
            return looks_like_ics(head)
        except Exception:  # detection must never raise
            return False

    def _folder_has_calendars(self, path: Path) -> bool:
        """A folder claimed whole holds calendars and nothing else (its first 400 entries are checked): with
        anything else in it (a vCard, a sub-folder) the folder is walked and each entry detected on its
        own, so a calendar folder never swallows another kind of export."""
        found = False
        with os.scandir(path) as entries:
            for count, entry in enumerate(sorted(entries, key=lambda e: e.name)):
                if count >= 400:
                    break
                if entry.name.startswith(".") or entry.is_symlink():
                    continue  # hidden entries are skipped and links refused or followed by the parser's walk
                if not entry.is_file(follow_symlinks=False) or not looks_like_ics(_sniff(Path(entry.path))):
                    return False
                found = True
        return found

    # -- parsing -------------------------------------------------------------

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            if path.is_dir():
                yield from self._parse_folder(path)
            elif path.is_file():
                yield from self._parse_file(path, "")
            else:
                yield ParseIssue("file", "not a file or folder")
        except OSError as exc:
            yield ParseIssue("file", f"unreadable ({type(exc).__name__})")

    def _parse_folder(self, root: Path) -> Iterator[Record | ParseIssue]:
        index = 0
        walk = ExportWalk(root)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = walk.subfolders(Path(dirpath), dirnames)
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                if filename.startswith(".") or not walk.allows(path) or not path.is_file():
                    continue
                index += 1
                if filename.lower().endswith(".ics") or looks_like_ics(_sniff(path)):
                    yield from self._parse_file(path, f"file {index} ")
                else:
                    yield ParseIssue(f"file {index}", "not a calendar file, skipped")
        yield from walk.issues()

    def _parse_file(self, path: Path, prefix: str) -> Iterator[Record | ParseIssue]:
        file_where = prefix.strip() or "file"
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                yield ParseIssue(file_where, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, skipped")
                return
            data = path.read_bytes()
        except OSError as exc:
            yield ParseIssue(file_where, f"unreadable ({type(exc).__name__})")
            return
        try:
            yield from self.parse_bytes(data, prefix)
        except RecursionError:
            yield ParseIssue(file_where, "components nested too deeply")
        except Exception as exc:  # a bug or an input we did not foresee must not stop an import
            yield ParseIssue(file_where, f"unexpected error while parsing ({type(exc).__name__})")

    def parse_bytes(self, data: bytes, prefix: str = "", budget: Budget | None = None) -> Iterator[Record | ParseIssue]:
        """Records for every event occurrence in iCalendar bytes, within ``budget`` (a fresh one by default).

        The budget counts occurrences across all series of the file, so many small series cannot add up to an
        unbounded expansion; past it the rest of the file is one ParseIssue naming the budget.
        """
        budget = budget if budget is not None else Budget.for_input()
        raw_text = decode(data).text
        text = repair_ics(raw_text)
        if "BEGIN:VEVENT" not in text.upper():
            if "BEGIN:" not in raw_text.upper():
                yield ParseIssue(prefix.strip() or "file", "no iCalendar content")
            return  # a calendar of to-dos or time zones only has no events to report
        calendars, issues = _parse_calendars(text)
        for issue in issues:
            yield ParseIssue(f"{prefix}{issue.where}", issue.reason)
        groups: dict[str, _Series] = {}
        index = 0
        for calendar in calendars:
            x_wr_tz = _text(calendar, "X-WR-TIMEZONE")
            for component in calendar.walk("VEVENT"):
                index += 1
                where = f"{prefix}VEVENT {index}"
                usable, event_issues = _check_event(component, where)
                yield from event_issues
                if not usable:
                    continue
                uid = _uid(component)
                series = groups.get(uid)
                if series is None:
                    tzid = _prop_params(component, "DTSTART").get("TZID")
                    tzid = str(tzid) if tzid else None
                    hint, hint_name, assumed = _zone_hint(component, tzid, x_wr_tz)
                    series = groups[uid] = _Series(uid, index, [], hint, hint_name, tzid, assumed)
                series.members.append(component)
        try:
            for series in groups.values():
                yield from self._expand(series, prefix, budget)
        except BudgetExceeded as exc:
            yield ParseIssue(prefix.strip() or "file", exc.reason)

    def _expand(self, series: _Series, prefix: str, budget: Budget) -> Iterator[Record | ParseIssue]:
        where = f"{prefix}VEVENT {series.first_index}"
        cores = [c for c in series.members if c.get("RECURRENCE-ID") is None]
        core = max(cores, key=_sequence) if cores else None
        recurring = core is not None and any(core.get(name) is not None for name in ("RRULE", "RDATE"))
        info = {
            "rrule": _rrule_text(core) if core is not None else None,
            "is_recurring": recurring or len(series.members) > 1,
        }
        span = (self.window_start, self.window_end) if recurring else _ONE_OFF_SPAN
        count = 0
        try:
            for occurrence in _occurrences(series.members, span, check_density=recurring):
                count += 1
                if count > self.max_occurrences:
                    yield ParseIssue(where, f"more than {self.max_occurrences} occurrences in the window, truncated")
                    return
                budget.occurrence()
                yield self._record(series, occurrence, info, where)
        except _TooDense:
            yield ParseIssue(where, "recurrence rule too dense to expand, skipped")
            return
        except BudgetExceeded:
            raise
        except Exception as exc:
            yield ParseIssue(where, f"recurrence could not be computed ({type(exc).__name__})")
            if count or core is None:
                return
            # Keep the event itself rather than lose it with its unusable rule.
            single = core.copy()
            for name in _RECURRENCE_PROPS:
                single.pop(name, None)
            try:
                for occurrence in islice(_occurrences([single], _ONE_OFF_SPAN, check_density=False), 1):
                    budget.occurrence()
                    yield self._record(series, occurrence, info, where)
            except BudgetExceeded:
                raise
            except Exception as retry_exc:
                yield ParseIssue(where, f"event could not be read ({type(retry_exc).__name__})")

    def _record(self, series: _Series, occurrence: Any, info: dict[str, Any], where: str) -> Record | ParseIssue:
        component = occurrence.as_component(False)
        start = occurrence.start
        end = occurrence.end
        all_day = not isinstance(start, datetime)
        hint = series.zone_hint
        recurrence_id = _safe_dt(component, "RECURRENCE-ID") or start
        is_exception = bool(occurrence.recurrence_ids)
        try:
            event_time = _utc(start, hint)
            end_time = _utc(end, hint) if isinstance(end, date) else None
        except (OverflowError, ValueError):
            return ParseIssue(where, "occurrence time out of range")
        if end_time is not None and end_time < event_time:
            end_time = None
        if all_day:
            original_tz = "floating"
        elif start.tzinfo is None:
            original_tz = series.zone_hint_name or "floating"
        else:
            original_tz = _zone_name(start, series.tzid)
        url = _text(component, "URL")
        attributes: dict[str, Any] = {
            "location": _text(component, "LOCATION") or None,
            "all_day": all_day,
            "series_uid": series.uid,
            "is_recurring": info["is_recurring"],
            "is_exception": is_exception,
            "status": _text(component, "STATUS").upper() or None,
            "categories": event_categories(component),
            "rrule": info["rrule"],
            "tzid": series.tzid,
            "tz_assumed_utc": series.tz_assumed_utc,
        }
        return Record(
            source="calendar",
            external_id=f"{series.uid}/{_occurrence_key(recurrence_id, hint)}",
            kind=EVENT,
            title=_text(component, "SUMMARY"),
            body=_text(component, "DESCRIPTION"),
            event_time=event_time,
            end_time=end_time,
            original_tz=original_tz,
            parties=event_parties(component),
            attributes=attributes,
            links=[url] if url else [],
            thread_id=series.uid,
        )


def _sniff(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(FILE_SNIFF_BYTES)
    except OSError:
        return b""


def looks_like_ics(head: bytes) -> bool:
    """True if ``head`` starts (after a BOM and blank lines) with an iCalendar BEGIN line."""
    if head.startswith(BOM):
        head = head[len(BOM) :]
    head = head.lstrip(b"\r\n\t ")
    first = head.split(b"\n", 1)[0].split(b"\r", 1)[0].strip().upper()
    return first in (b"BEGIN:VCALENDAR", b"BEGIN:VEVENT", b"BEGIN:VTODO", b"BEGIN:VTIMEZONE")
