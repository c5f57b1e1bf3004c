"""Sensitivity classification: every record gets HIGH, MEDIUM or LOW and the reasons why.

Rules are small objects in a registry; the classifier runs them all and keeps
the highest tier any of them raises (a user rule may also lower a tier, see
``Verdict.force``). Reasons name the rule and, for detectors, character
offsets — never the matched text, since reasons are stored in the clear.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from twin_assets.records import Record
from twin_assets.stores import HIGH, LOW, MEDIUM, TIER_RANK


@dataclass(frozen=True)
class Verdict:
    tier: str
    reason: str  # "source:email", "detector:credit_card@120-139"
    force: bool = False  # a user rule that sets the tier outright (may lower it)


@dataclass
class Classification:
    tier: str
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)


Rule = Callable[[Record], Iterable[Verdict]]
_RULES: dict[str, Rule] = {}


def register_rule(name: str) -> Callable[[Rule], Rule]:
    """Add a rule to the registry; storage code never changes when rules do."""

    def deco(fn: Rule) -> Rule:
        _RULES[name] = fn
        return fn

    return deco


def rules() -> dict[str, Rule]:
    return dict(_RULES)


# ---- source defaults -------------------------------------------------------------
# Private messages, money and credentials are HIGH; calendars, contacts and
# internal notes MEDIUM; published content LOW.
SOURCE_DEFAULTS = {
    "email": HIGH,
    "slack": HIGH,
    "whatsapp": HIGH,
    "telegram": HIGH,
    "ofx": HIGH,
    "bank_csv": HIGH,
    "calendar": MEDIUM,
    "contacts": MEDIUM,
    "notes": MEDIUM,
}


@register_rule("source_default")
def source_default(record: Record) -> Iterable[Verdict]:
    tier = SOURCE_DEFAULTS.get(record.source, HIGH)  # unknown sources: assume private until told
    yield Verdict(tier, f"source:{record.source}")


@register_rule("published")
def published(record: Record) -> Iterable[Verdict]:
    """Mailing-list and newsletter mail, and notes marked for publishing, are public content."""
    attrs = record.attributes
    if record.source == "email" and (attrs.get("list_id") or attrs.get("precedence") in ("bulk", "list")):
        yield Verdict(LOW, "published:mailing-list", force=True)
    if record.source == "notes" and attrs.get("published"):
        yield Verdict(LOW, "published:note", force=True)


# ---- detectors -------------------------------------------------------------------
_DETECTORS: dict[str, re.Pattern[str]] = {
    "password": re.compile(r"(?i)\b(pass(word|wd|phrase)?|pwd|pin)\b\s*(is|:|=)\s*\S{4,}"),
    "api_key": re.compile(
        r"\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{16,}\b|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b"
        r"|\bxox[abpr]-[A-Za-z0-9-]{10,}\b|(?i:\b(api[_ -]?key|secret|token)\b\s*(is|:|=)\s*[A-Za-z0-9_\-]{16,})"
    ),
    "private_key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY( BLOCK)?-----"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "credit_card": re.compile(r"\b(?:\d[ -]?){13,19}\b"),
    "medical": re.compile(
        r"(?i)\b(diagnos(is|ed)|prescription|therapist|therapy session|blood test|biopsy|medication|"
        r"psychiatrist|oncolog\w*|HIV|mental health)\b"
    ),
    "salary": re.compile(r"(?i)\b(salary|payslip|pay slip|gross pay|net pay|compensation package)\b"),
}


def _luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


@register_rule("detectors")
def detectors(record: Record) -> Iterable[Verdict]:
    text = record.text()
    for name, pattern in _DETECTORS.items():
        for m in pattern.finditer(text):
            span = m.group(0)
            if name == "credit_card":
                digits = re.sub(r"\D", "", span)
                if not (13 <= len(digits) <= 19 and _luhn_ok(digits)):
                    continue
            if name == "iban" and not _iban_ok(span):
                continue
            yield Verdict(HIGH, f"detector:{name}@{m.start()}-{m.end()}")
            break


def classify(record: Record, rule_set: dict[str, Rule] | None = None) -> Classification:
    """Run every rule; forced verdicts set the floor, detectors can only raise it."""
    verdicts = [v for rule in (rule_set or _RULES).values() for v in rule(record)]
    forced = [v for v in verdicts if v.force]
    base = [v for v in verdicts if not v.force and v.reason.startswith("source:")]
    raised = [v for v in verdicts if not v.force and not v.reason.startswith("source:")]
    if forced:
        tier = max((v.tier for v in forced), key=TIER_RANK.__getitem__)
        reasons = [v.reason for v in forced]
    else:
        tier = max((v.tier for v in base), key=TIER_RANK.__getitem__, default=MEDIUM)
        reasons = [v.reason for v in base]
    for v in raised:
        if TIER_RANK[v.tier] >= TIER_RANK[tier]:
            tier = v.tier if TIER_RANK[v.tier] > TIER_RANK[tier] else tier
            reasons.append(v.reason)
    return Classification(tier, reasons)
