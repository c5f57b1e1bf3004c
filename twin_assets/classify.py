"""Sensitivity classification: every record gets HIGH, MEDIUM or LOW and the reasons why.

A :class:`Classifier` holds what classification needs — a :class:`RuleRegistry`
(the built-in rules, ``twin.classifiers`` entry points from other packages, and
rules added with ``registry.register_rule``), one Presidio engine and the home's
``classification.yaml`` — and is made once by whoever classifies (a Dagster run's
``TwinResource``, a benchmark), like Presidio's own ``RecognizerRegistry`` handed to
an ``AnalyzerEngine``. ``Classifier.classify`` runs every rule on a record and
combines their verdicts. Reasons name the rule and, for detectors, character offsets into
:func:`twin_assets.classifiers.scan_text` — never the matched text, since reasons
are stored in the clear ("detector:credit_card@120-139", "source:email",
"user_rule:3").

Precedence, lowest to highest:

1. **Source default** (soft): private messages, money and credentials HIGH;
   calendars, contacts and notes MEDIUM; unknown sources HIGH.
2. **Topical detectors** (soft): medical and salary content raise the default.
3. **Forced verdicts**: published content (mailing lists, notes marked
   ``publish``) and the user's ``set`` rules replace 1 and 2 outright — they may
   lower the tier; among several, the highest wins.
4. **Hard verdicts**: credential, private-key, card, IBAN, SSN and wallet
   detectors, the user's ``raise`` rules and plugin rules raise whatever 1-3
   decided and can never be overridden. So a forced-LOW newsletter carrying an
   API key is HIGH, and a user's "set LOW" cannot hide a card number.

A rule that fails makes the record HIGH (privacy-first: unknown means private).
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from twin_assets.classifiers import MAX_SCAN_CHARS, Finding, ScanText, scan_text
from twin_assets.classifiers import user_rules as _user_rules
from twin_assets.classifiers.pii import PiiEngine
from twin_assets.classifiers.secrets import find_secrets
from twin_assets.classifiers.topics import find_medical, find_salary
from twin_assets.connectors.base import MAIL, NOTES
from twin_assets.connectors.registry import traits_for
from twin_assets.errors import TwinError
from twin_assets.records import Record
from twin_assets.tiers import HIGH, LOW, MEDIUM, TIERS, Tier

__all__ = [
    "BUILTIN_RULES",
    "HIGH",
    "LOW",
    "MEDIUM",
    "Classification",
    "Classifier",
    "Rule",
    "RuleRegistry",
    "Scan",
    "ScanRule",
    "Verdict",
    "contact_details",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "twin.classifiers"
# Reasons are stored in the clear, so anything else a rule says is replaced.
_SAFE_REASON = re.compile(r"[A-Za-z0-9_.:@+\-]{1,100}")
_SPAN_REASON = re.compile(r"^detector:([A-Za-z0-9_.\-]+)@(\d+)-(\d+)$")
# Per rule name, how many occurrences are spelled out in the reasons (the rest are counted).
MAX_REASONS_PER_NAME = 3
MAX_SPANS = 1000


@dataclass(frozen=True)
class Verdict:
    tier: str
    reason: str  # "source:email", "detector:credit_card@120-139"
    force: bool = False  # sets the tier outright, may lower it (published content, user "set" rules)
    soft: bool = False  # yields to forced verdicts (source defaults, topical detectors)
    span: tuple[str, int, int] | None = None  # (detector, start, end) into scan_text(record)


@dataclass
class Classification:
    tier: str
    reasons: list[str] = field(default_factory=list)
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # offsets into scan_text(record)

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)


class Scan:
    """One record under classification, and what every rule of that one ``classify`` call shares: the scan text
    (built once, the classifier's largest fixed cost), its lowercase form and word set, the classifier's Presidio
    engine and the user rules in force. Made by :meth:`Classifier.classify`, handed to each rule, then dropped."""

    __slots__ = ("_folded", "_full", "_text", "_user_rules", "pii", "record")

    def __init__(
        self, record: Record, pii: PiiEngine, user_rules: Callable[[], Sequence[_user_rules.UserRule]]
    ) -> None:
        self.record = record
        self.pii = pii
        self._user_rules = user_rules
        self._full: str | None = None
        self._text: ScanText | None = None
        self._folded: str | None = None

    @property
    def full(self) -> str:
        """:func:`~twin_assets.classifiers.scan_text` of the record: span offsets index into it."""
        if self._full is None:
            self._full = scan_text(self.record)
        return self._full

    @property
    def text(self) -> ScanText:
        """The part the detectors read (the first ``MAX_SCAN_CHARS`` characters)."""
        if self._text is None:
            self._text = ScanText(self.full[:MAX_SCAN_CHARS])
        return self._text

    @property
    def folded(self) -> str:
        """The whole scan text, case-folded (what user rules' keywords are matched against)."""
        if self._folded is None:
            self._folded = self.full.casefold()
        return self._folded

    def user_rules(self) -> Sequence[_user_rules.UserRule]:
        return self._user_rules()


#: A plugin's rule: a record in, verdicts out (``twin.classifiers`` entry points, ``RuleRegistry.register_rule``).
Rule = Callable[[Record], Iterable[Verdict]]
#: A rule that reads the shared :class:`Scan` (the built-ins; ``RuleRegistry.add``).
ScanRule = Callable[[Scan], Iterable[Verdict]]


def _record_rule(fn: Rule) -> ScanRule:
    def rule(scan: Scan) -> Iterable[Verdict]:
        return fn(scan.record)

    rule.__wrapped__ = fn  # type: ignore[attr-defined]
    return rule


class RuleRegistry:
    """The rules a :class:`Classifier` runs, by name: the built-ins, then what is added.

    :meth:`installed` adds the ``twin.classifiers`` entry points of the installed packages (the plugin API; a
    package that fails to load is listed in :attr:`broken`, never fatal). A program adds its own with the
    :meth:`register_rule` decorator:

    .. code-block:: python

        registry = RuleRegistry.installed()

        @registry.register_rule("vip")
        def vip(record: Record) -> Iterable[Verdict]:
            if "project nightjar" in record.text().lower():
                yield Verdict(HIGH, "plugin:vip")

        classifier = Classifier(registry)
    """

    def __init__(self, rules: Mapping[str, ScanRule] | None = None) -> None:
        self._rules: dict[str, ScanRule] = dict(BUILTIN_RULES if rules is None else rules)
        self.plugins: list[str] = []
        self.broken: dict[str, str] = {}  # entry point -> why it is not loaded

    @classmethod
    def installed(cls) -> RuleRegistry:
        """The built-in rules and every ``twin.classifiers`` entry point of the installed packages."""
        registry = cls()
        registry.load_entry_points(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
        return registry

    def load_entry_points(self, entry_points: Iterable[importlib.metadata.EntryPoint]) -> None:
        for ep in sorted(entry_points, key=lambda e: e.name):
            if ep.name in self._rules:
                self.broken[ep.name] = "name taken by a built-in rule"
                continue
            try:
                fn = ep.load()
            except Exception as exc:  # one bad plugin must not stop classification
                self.broken[ep.name] = f"failed to load: {type(exc).__name__}"
                continue
            if not callable(fn):
                self.broken[ep.name] = "not callable"
                continue
            self._rules[ep.name] = _record_rule(fn)
            self.plugins.append(ep.name)

    def register_rule(self, name: str) -> Callable[[Rule], Rule]:
        """Decorator: add a record rule under ``name`` (storage code never changes when rules do)."""

        def deco(fn: Rule) -> Rule:
            self._rules[name] = _record_rule(fn)
            return fn

        return deco

    def add(self, name: str, rule: ScanRule) -> RuleRegistry:
        """Add a rule that reads the shared :class:`Scan` (e.g. :func:`contact_details`); returns the registry."""
        self._rules[name] = rule
        return self

    def remove(self, name: str) -> None:
        self._rules.pop(name, None)

    def rules(self) -> dict[str, ScanRule]:
        return dict(self._rules)

    def items(self) -> Iterable[tuple[str, ScanRule]]:
        """The rules in the order they run (a live view: no copy per record)."""
        return self._rules.items()

    def __contains__(self, name: object) -> bool:
        return name in self._rules


# ---- source defaults -------------------------------------------------------------
# Each connector declares its default tier (private messages and money HIGH, calendars, contacts and
# notes MEDIUM); a source that declares none is HIGH: private until told. Published content is LOW.


def source_default(scan: Scan) -> Iterable[Verdict]:
    record = scan.record
    yield Verdict(traits_for(record.source).default_tier, f"source:{record.source}", soft=True)


def published(scan: Scan) -> Iterable[Verdict]:
    """Mailing-list and newsletter mail, and notes marked for publishing, are public content."""
    record = scan.record
    attrs = record.attributes
    medium = traits_for(record.source).medium
    if medium == MAIL and (attrs.get("list_id") or attrs.get("precedence") in ("bulk", "list")):
        yield Verdict(LOW, "published:mailing-list", force=True)
    if medium == NOTES and attrs.get("published"):
        yield Verdict(LOW, "published:note", force=True)


# ---- detectors -------------------------------------------------------------------
def _verdicts(findings: Iterable[Finding]) -> Iterable[Verdict]:
    for f in findings:
        # An informational finding (tier None) is a non-forced LOW verdict: it cannot
        # change any tier, it only reports its span.
        yield Verdict(f.tier or LOW, f"detector:{f.name}@{f.start}-{f.end}", soft=f.soft, span=(f.name, f.start, f.end))


def unscanned(scan: Scan) -> Iterable[Verdict]:
    """Text past the scan limit is unknown to every detector, so it counts as HIGH."""
    n = len(scan.full)
    if n > MAX_SCAN_CHARS:
        yield Verdict(HIGH, f"detector:unscanned@{MAX_SCAN_CHARS}-{n}", span=("unscanned", MAX_SCAN_CHARS, n))


def pii(scan: Scan) -> Iterable[Verdict]:
    """Presidio: cards, IBANs, US SSNs, crypto wallets."""
    return _verdicts(scan.pii.find(scan.text))


def contact_details(scan: Scan) -> Iterable[Verdict]:
    """E-mail addresses, phone numbers, IP addresses: spans only, the tier is untouched.

    Not a built-in rule — it cannot change a tier and costs more than every other
    rule together. Callers that redact add it:
    ``Classifier(RuleRegistry.installed().add("contact_details", contact_details))``.
    """
    findings = scan.pii.find(scan.text, contact_details=True)
    return _verdicts(f for f in findings if f.tier is None)


def secrets(scan: Scan) -> Iterable[Verdict]:
    """Passwords, API keys and tokens, private keys."""
    return _verdicts(find_secrets(scan.text))


def medical(scan: Scan) -> Iterable[Verdict]:
    return _verdicts(find_medical(scan.text))


def salary(scan: Scan) -> Iterable[Verdict]:
    return _verdicts(find_salary(scan.text))


# ---- user rules ------------------------------------------------------------------
def user_rules(scan: Scan) -> Iterable[Verdict]:
    """The user's rules: those of TWIN_HOME/classification.yaml (re-read when the file changes), or those the
    classifier was given."""
    for rule in scan.user_rules():
        if rule.matches(scan.record, lambda: scan.folded):
            yield Verdict(rule.tier, f"user_rule:{rule.index}", force=rule.force)


#: The rules every registry starts with, in the order they run.
BUILTIN_RULES: Mapping[str, ScanRule] = MappingProxyType(
    {
        "source_default": source_default,
        "published": published,
        "unscanned": unscanned,
        "pii": pii,
        "secrets": secrets,
        "medical": medical,
        "salary": salary,
        "user_rules": user_rules,
    }
)


# ---- combining -------------------------------------------------------------------
def _run(name: str, rule: ScanRule, scan: Scan) -> list[Verdict]:
    try:
        verdicts = list(rule(scan))
    except TwinError:
        raise  # the user's configuration is wrong: say so rather than classify around it
    except Exception as exc:
        log.warning("classifier rule %s failed: %s", name, type(exc).__name__)
        return [Verdict(HIGH, f"rule_error:{_safe_name(name)}")]
    out = []
    for v in verdicts:
        if not isinstance(v, Verdict) or v.tier not in TIERS:
            return [Verdict(HIGH, f"rule_error:{_safe_name(name)}")]
        if not _SAFE_REASON.fullmatch(v.reason):
            v = Verdict(v.tier, f"{_safe_name(name)}:reason-withheld", v.force, v.soft, v.span)
        out.append(v)
    return out


def _safe_name(name: str) -> str:
    return name if _SAFE_REASON.fullmatch(name) else "unnamed"


def _span(v: Verdict) -> tuple[str, int, int] | None:
    if v.span is not None:
        return v.span
    m = _SPAN_REASON.match(v.reason)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def _capped(reasons: list[str]) -> list[str]:
    """At most a few reasons per detector, then a count: a log file of 400 phone numbers is one line."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for r in reasons:
        key = r.split("@", 1)[0]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= MAX_REASONS_PER_NAME:
            out.append(r)
    out.extend(f"{key}+{n - MAX_REASONS_PER_NAME}" for key, n in seen.items() if n > MAX_REASONS_PER_NAME)
    return out


def _top(verdicts: list[Verdict]) -> str:
    return Tier.max_of(*(v.tier for v in verdicts))


class Classifier:
    """Classifies records; made once by whoever classifies and used for every record.

    It holds a :class:`RuleRegistry` (default: the built-ins and the installed plugins), one Presidio engine
    (built on the first record that needs it, never per record) and the user rules: those given, else the home's
    ``classification.yaml`` (``home``: default the twin home of the settings), re-read when the file changes.
    A Dagster run's ``TwinResource`` makes one per run and hands it to its twin handles (``Twin.classifier``).
    """

    def __init__(
        self,
        registry: RuleRegistry | None = None,
        *,
        home: Path | None = None,
        user_rules: Iterable[_user_rules.UserRule] | list[dict] | dict | None = None,
        pii: PiiEngine | None = None,
    ) -> None:
        self.registry = registry if registry is not None else RuleRegistry.installed()
        self.pii = pii if pii is not None else PiiEngine()
        self._given = _given_user_rules(user_rules) if user_rules is not None else None
        self._home = home
        self._file: _user_rules.RulesFile | None = None

    def user_rules(self) -> tuple[_user_rules.UserRule, ...]:
        if self._given is not None:
            return self._given
        if self._file is None:
            self._file = _user_rules.RulesFile(_user_rules.config_path(self._home))
        return self._file.rules()

    def classify(
        self, record: Record, *, user_rules: Iterable[_user_rules.UserRule] | list[dict] | dict | None = None
    ) -> Classification:
        """Run every rule and combine the verdicts (see the module docstring for the precedence).

        ``user_rules`` replaces the classifier's user rules for this record — parsed rules, or the same data
        the YAML file would hold.
        """
        given = _given_user_rules(user_rules) if user_rules is not None else None
        scan = Scan(record, self.pii, self.user_rules if given is None else lambda: given)
        verdicts = [v for name, rule in self.registry.items() for v in _run(name, rule, scan)]
        return _combined(verdicts)


def _combined(verdicts: list[Verdict]) -> Classification:
    forced = [v for v in verdicts if v.force]
    soft = [v for v in verdicts if not v.force and (v.soft or v.reason.startswith("source:"))]
    hard = [v for v in verdicts if not v.force and not (v.soft or v.reason.startswith("source:"))]
    if forced:
        base, head, support = _top(forced), [v.reason for v in forced], hard
    elif soft:
        base = _top(soft)
        head = [v.reason for v in soft if v.reason.startswith("source:")]
        support = [v for v in soft if not v.reason.startswith("source:")] + hard
    else:
        base, head, support = HIGH, ["default:no-rule"], hard  # nothing spoke for the record: private
    tier = Tier.max_of(base, *(v.tier for v in hard))
    # A LOW verdict that is not forced cannot have decided anything: it only reports a span.
    reasons = head + [v.reason for v in support if v.tier == tier and v.tier != LOW]
    spans = sorted({s for v in verdicts if (s := _span(v)) is not None}, key=lambda s: (s[1], s[2], s[0]))
    return Classification(tier, _capped(list(dict.fromkeys(reasons))), spans[:MAX_SPANS])


def _given_user_rules(data: Iterable[_user_rules.UserRule] | list[dict] | dict) -> tuple[_user_rules.UserRule, ...]:
    if isinstance(data, dict):
        return _user_rules.parse_rules(data)
    items = list(data)
    if all(isinstance(r, _user_rules.UserRule) for r in items):
        return tuple(items)
    return _user_rules.parse_rules(items)
