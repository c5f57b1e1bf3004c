"""Sensitivity classification: every record gets HIGH, MEDIUM or LOW and the reasons why.

Rules are callables in a registry (``register_rule``, or the ``twin.classifiers``
entry-point group for other packages); ``classify`` runs them all and combines
their verdicts. Reasons name the rule and, for detectors, character offsets into
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
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from twin_assets.classifiers import MAX_SCAN_CHARS, Finding, forget_scan_text, scan_text
from twin_assets.classifiers import user_rules as _user_rules
from twin_assets.classifiers.pii import find_pii
from twin_assets.classifiers.secrets import find_secrets
from twin_assets.classifiers.topics import find_medical, find_salary
from twin_assets.connectors.base import MAIL, NOTES
from twin_assets.connectors.registry import traits_for
from twin_assets.errors import TwinError
from twin_assets.records import Record
from twin_assets.tiers import HIGH, LOW, MEDIUM, TIERS, Tier

__all__ = [
    "HIGH",
    "LOW",
    "MEDIUM",
    "Classification",
    "Rule",
    "Verdict",
    "broken_rules",
    "classify",
    "contact_details",
    "register_rule",
    "reload_plugins",
    "rules",
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


Rule = Callable[[Record], Iterable[Verdict]]
_RULES: dict[str, Rule] = {}
_PLUGINS: set[str] = set()
_broken: dict[str, str] = {}
_plugins_loaded = False
_plugin_lock = threading.Lock()


def register_rule(name: str) -> Callable[[Rule], Rule]:
    """Add a rule to the registry; storage code never changes when rules do."""

    def deco(fn: Rule) -> Rule:
        _RULES[name] = fn
        return fn

    return deco


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    with _plugin_lock:
        if _plugins_loaded:
            return
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in _RULES and ep.name not in _PLUGINS:
                _broken[ep.name] = "name taken by a built-in rule"
                continue
            try:
                fn = ep.load()
            except Exception as exc:  # one bad plugin must not stop classification
                _broken[ep.name] = f"failed to load: {type(exc).__name__}"
                continue
            if not callable(fn):
                _broken[ep.name] = "not callable"
                continue
            _RULES[ep.name] = fn
            _PLUGINS.add(ep.name)
        _plugins_loaded = True


def reload_plugins() -> None:
    """Forget loaded entry-point rules and load them again (after installing a package; in tests)."""
    global _plugins_loaded
    with _plugin_lock:
        for name in _PLUGINS:
            _RULES.pop(name, None)
        _PLUGINS.clear()
        _broken.clear()
        _plugins_loaded = False
    _load_plugins()


def broken_rules() -> dict[str, str]:
    """Entry points in ``twin.classifiers`` that could not be loaded, with the reason."""
    _load_plugins()
    return dict(_broken)


def rules() -> dict[str, Rule]:
    """Every rule: built-ins, ``register_rule`` additions and ``twin.classifiers`` entry points."""
    _load_plugins()
    return dict(_RULES)


# ---- source defaults -------------------------------------------------------------
# Each connector declares its default tier (private messages and money HIGH, calendars, contacts and
# notes MEDIUM); a source that declares none is HIGH: private until told. Published content is LOW.


@register_rule("source_default")
def source_default(record: Record) -> Iterable[Verdict]:
    yield Verdict(traits_for(record.source).default_tier, f"source:{record.source}", soft=True)


@register_rule("published")
def published(record: Record) -> Iterable[Verdict]:
    """Mailing-list and newsletter mail, and notes marked for publishing, are public content."""
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


def _scanned(record: Record) -> str:
    return scan_text(record)[:MAX_SCAN_CHARS]


@register_rule("unscanned")
def unscanned(record: Record) -> Iterable[Verdict]:
    """Text past the scan limit is unknown to every detector, so it counts as HIGH."""
    n = len(scan_text(record))
    if n > MAX_SCAN_CHARS:
        yield Verdict(HIGH, f"detector:unscanned@{MAX_SCAN_CHARS}-{n}", span=("unscanned", MAX_SCAN_CHARS, n))


@register_rule("pii")
def pii(record: Record) -> Iterable[Verdict]:
    """Presidio: cards, IBANs, US SSNs, crypto wallets."""
    return _verdicts(find_pii(_scanned(record)))


def contact_details(record: Record) -> Iterable[Verdict]:
    """E-mail addresses, phone numbers, IP addresses: spans only, the tier is untouched.

    Not registered by default — it cannot change a tier and costs more than every
    other rule together. Callers that redact add it:
    ``classify(record, {**rules(), "contact_details": contact_details})``.
    """
    findings = find_pii(_scanned(record), contact_details=True)
    return _verdicts(f for f in findings if f.tier is None)


@register_rule("secrets")
def secrets(record: Record) -> Iterable[Verdict]:
    """Passwords, API keys and tokens, private keys."""
    return _verdicts(find_secrets(_scanned(record)))


@register_rule("medical")
def medical(record: Record) -> Iterable[Verdict]:
    return _verdicts(find_medical(_scanned(record)))


@register_rule("salary")
def salary(record: Record) -> Iterable[Verdict]:
    return _verdicts(find_salary(_scanned(record)))


# ---- user rules ------------------------------------------------------------------
def user_rule_verdicts(record: Record, active: Iterable[_user_rules.UserRule]) -> Iterable[Verdict]:
    folded: list[str] = []

    def text() -> str:
        if not folded:
            folded.append(scan_text(record).casefold())
        return folded[0]

    for rule in active:
        if rule.matches(record, text):
            yield Verdict(rule.tier, f"user_rule:{rule.index}", force=rule.force)


@register_rule("user_rules")
def user_rules(record: Record) -> Iterable[Verdict]:
    """The rules in TWIN_HOME/classification.yaml (re-read when the file changes)."""
    return user_rule_verdicts(record, _user_rules.current_rules())


# ---- combining -------------------------------------------------------------------
def _run(name: str, rule: Rule, record: Record) -> list[Verdict]:
    try:
        verdicts = list(rule(record))
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


def classify(
    record: Record,
    rule_set: dict[str, Rule] | None = None,
    *,
    user_rules: Iterable[_user_rules.UserRule] | list[dict] | dict | None = None,
) -> Classification:
    """Run every rule and combine the verdicts (see the module docstring for the precedence).

    ``user_rules`` replaces the rules of ``classification.yaml`` — parsed rules, or the
    same data the YAML file would hold.
    """
    forget_scan_text()
    active = dict(rule_set if rule_set is not None else rules())
    if user_rules is not None:
        given = _given_user_rules(user_rules)
        active["user_rules"] = lambda r: user_rule_verdicts(r, given)
    verdicts = [v for name, rule in active.items() for v in _run(name, rule, record)]
    forget_scan_text()

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
