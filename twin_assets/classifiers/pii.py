"""Presidio's pattern recognizers, offline, behind a cheap regex prefilter.

Presidio (``presidio-analyzer``) runs without a language model through
``NoOpNlpEngine``; its pattern recognizers validate what a regex alone cannot
(Luhn for cards, the mod-97 checksum for IBANs, Base58/Bech32 checksums for
wallets, SSA rules for SSNs). Importing it costs seconds and one ``analyze``
call ~0.1 ms even on a short string (~1 ms for phone numbers, which run the
``phonenumbers`` matcher once per region), so:

- the engine is built once per :class:`PiiEngine`, lazily, on the first candidate; the classifier that owns it
  (one per Dagster run, or per benchmark) uses it for every record;
- a handful of cheap regexes find candidate windows first, and Presidio only
  sees those windows (most records have none and never touch Presidio).

What each entity does to the tier:

- ``CREDIT_CARD``, ``IBAN_CODE``, ``US_SSN``, ``CRYPTO`` → HIGH. Checksummed
  account numbers are what fraud needs, whatever the record's source.
- ``EMAIL_ADDRESS``, ``PHONE_NUMBER``, ``IP_ADDRESS`` → informational (span
  only, tier untouched). They are in every signature, quote header and
  newsletter footer: raising on them would make every mail HIGH or every
  newsletter MEDIUM, and the sources that carry them privately (mail, chat,
  contacts) already default to MEDIUM or HIGH. Since they cannot change a tier
  they are not looked for by default (``contact_details=True``, or the
  ``contact_details`` rule in :mod:`twin_assets.classify`, for callers that
  redact): the phone matcher alone would cost more than the whole classifier.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterable
from typing import Any

from twin_assets.classifiers import Finding, ScanText
from twin_assets.optional_imports import without_optional_ml
from twin_assets.stores import HIGH

# Presidio entity → (our detector name, tier; None = informational).
ENTITIES: dict[str, tuple[str, str | None]] = {
    "CREDIT_CARD": ("credit_card", HIGH),
    "IBAN_CODE": ("iban", HIGH),
    "US_SSN": ("us_ssn", HIGH),
    "CRYPTO": ("crypto_wallet", HIGH),
    "EMAIL_ADDRESS": ("email_address", None),
    "PHONE_NUMBER": ("phone", None),
    "IP_ADDRESS": ("ip_address", None),
}
HIGH_ENTITIES = ("CREDIT_CARD", "IBAN_CODE", "US_SSN", "CRYPTO")
CONTACT_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
# Regions the phone matcher tries for numbers without a country code; each one
# is a full pass of the phonenumbers matcher, so keep the list to where the user lives.
PHONE_REGIONS = ("DE", "US", "GB", "FR", "AT", "CH", "NL")
# Characters of context on each side of a candidate: Presidio's patterns anchor
# on word boundaries, so the window must include the neighbours.
PAD = 24
# Past this many windows one whole-text pass is cheaper than many small calls.
MAX_WINDOWS = 40

# ---- prefilters: cheap, generous regexes; Presidio decides -------------------------
# Each pattern starts with a character class, not a look-behind: the regex engine
# then skips ahead by first character, 3-4x faster on long mail. Boundaries are
# checked in Python on the (few) matches.
_CARD = re.compile(r"[1-6]\d{3}(?:[ -]?\d){9,15}(?!\d)")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")
_SSN = re.compile(r"\d{3}([- .])\d{2}\1\d{4}(?![\d-])")
_SSN_WORDS = frozenset({"ssn", "ssns", "social", "soc", "ss"})
_SSN_CONTEXT = re.compile(
    r"(?i)\b(?:ssn|ss#|social[- ]security(?:[- ](?:number|no\.?|#))?|soc\.? sec\.?)\W{0,5}(?:\w+\W{1,3}){0,3}?"
    r"(\d{3}[- .]?\d{2}[- .]?\d{4})(?!\d)"
)
_CRYPTO = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])")
_BECH32 = re.compile(r"bc1[a-z0-9]{11,71}(?![A-Za-z0-9])")
_EMAIL_LOCAL = re.compile(r"[\w.+-]+$")
_EMAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d|\.\d)")
_IPV6 = re.compile(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{1,35}(?![\w:])")
_PHONE = re.compile(
    r"(?:\+|00)[1-9][\d ()./-]{6,18}\d"
    r"|(?i:\b(?:tel|phone|fon|telefon|mobile?|mobil|handy|cell|fax|call|ruf|anruf)\b\.?:?)\s*\(?\+?\d[\d ()./-]{5,18}\d"
    r"|\(\d{3}\)\s?\d{3}[- ]\d{4}|\d{3}-\d{3}-\d{4}(?![\d-])"
)


def _luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def _iban_ok(compact: str) -> bool:
    """Any prefix of 15-34 characters passes mod-97 (the regex may have run into the next word)."""
    for n in range(min(34, len(compact)), 14, -1):
        s = compact[:n]
        if int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1:
            return True
    return False


def _after(text: str, i: int, bad: str) -> bool:
    """The character before index ``i`` is not alphanumeric and not in ``bad``."""
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] in bad)


def _card_candidates(text: str) -> Iterable[tuple[int, int]]:
    for m in _CARD.finditer(text):
        if not _after(text, m.start(), "-"):
            continue
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            yield m.span()


def _iban_candidates(text: str) -> Iterable[tuple[int, int]]:
    for m in _IBAN.finditer(text):
        if _after(text, m.start(), "") and _iban_ok(m.group(0).replace(" ", "")):
            yield m.span()


def _ssn_candidates(text: str, words: frozenset[str]) -> Iterable[tuple[int, int]]:
    for m in _SSN.finditer(text):
        if _after(text, m.start(), "-"):
            yield m.span()
    if not _SSN_WORDS.isdisjoint(words):
        for m in _SSN_CONTEXT.finditer(text):
            yield m.span(1)


def _crypto_candidates(text: str) -> Iterable[tuple[int, int]]:
    for m in _CRYPTO.finditer(text):
        if _after(text, m.start(), ""):
            yield m.span()
    if "bc1" in text:
        for m in _BECH32.finditer(text):
            if _after(text, m.start(), ""):
                yield m.span()


def _email_candidates(text: str) -> Iterable[tuple[int, int]]:
    at = text.find("@")
    while at != -1:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local and domain:
            yield local.start(), domain.end()
        at = text.find("@", at + 1)


def _contact_candidates(text: str) -> dict[str, list[tuple[int, int]]]:
    return {
        "EMAIL_ADDRESS": list(_email_candidates(text)),
        "PHONE_NUMBER": [m.span() for m in _PHONE.finditer(text)],
        "IP_ADDRESS": [m.span() for m in _IPV4.finditer(text) if _after(text, m.start(), ".")]
        + ([m.span() for m in _IPV6.finditer(text) if _after(text, m.start(), ":")] if "::" in text else []),
    }


def candidates(scan: str | ScanText, contact_details: bool = False) -> dict[str, list[tuple[int, int]]]:
    """Entity type → candidate spans, from the prefilters alone (no Presidio)."""
    scan = ScanText.of(scan)
    text = scan.text
    found = {
        "CREDIT_CARD": list(_card_candidates(text)),
        "IBAN_CODE": list(_iban_candidates(text)),
        "US_SSN": list(_ssn_candidates(text, scan.words)),
        "CRYPTO": list(_crypto_candidates(text)),
    }
    if contact_details:
        found.update(_contact_candidates(text))
    return {k: v for k, v in found.items() if v}


# ---- the engine ----------------------------------------------------------------------
def _offline_email_recognizer(email_cls: type) -> Any:
    """Presidio's e-mail recognizer validates domains with ``tldextract``, whose default
    instance downloads the public-suffix list (a network call at run time, and a cache
    file in ~/.cache). The bundled snapshot is enough to tell a domain from a typo."""
    import tldextract

    extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(email_cls):
        def validate_result(self, pattern_text: str) -> bool:
            return extract(pattern_text).fqdn != ""

    return OfflineEmailRecognizer()


def build_analyzer() -> Any:
    """A new ``AnalyzerEngine``: pattern recognizers only, no NLP model (~0.1 s after the import's seconds)."""
    with warnings.catch_warnings():
        # NoOpNlpEngine warns that context words in the text cannot boost scores; we
        # apply our own context rule for the one entity that needs it (US_SSN).
        warnings.simplefilter("ignore")
        with without_optional_ml():
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer.nlp_engine import NoOpNlpEngine
            from presidio_analyzer.predefined_recognizers import (
                CreditCardRecognizer,
                CryptoRecognizer,
                EmailRecognizer,
                IbanRecognizer,
                IpRecognizer,
                PhoneRecognizer,
                UsSsnRecognizer,
            )

        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in (
            CreditCardRecognizer(),
            IbanRecognizer(),
            UsSsnRecognizer(),
            CryptoRecognizer(),
            IpRecognizer(),
            PhoneRecognizer(supported_regions=PHONE_REGIONS),
            _offline_email_recognizer(EmailRecognizer),
        ):
            registry.add_recognizer(recognizer)
        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


class PiiEngine:
    """One Presidio ``AnalyzerEngine``, built on the first candidate and kept for every later record.

    Its owner is whoever classifies (a :class:`~twin_assets.classify.Classifier`): records without a candidate,
    most of them, never build it; the first one builds it (under a lock, so two threads never build two).
    """

    def __init__(self) -> None:
        self._analyzer: Any = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._analyzer is not None

    def analyzer(self) -> Any:
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    self._analyzer = build_analyzer()
        return self._analyzer

    def find(self, scan: str | ScanText, contact_details: bool = False) -> list[Finding]:
        """Checksummed account numbers (HIGH) in the text; with ``contact_details`` also e-mail
        addresses, phone numbers and IP addresses (informational, and ~1 ms a phone number)."""
        scan = ScanText.of(scan)
        found = candidates(scan, contact_details)
        if not found:
            return []
        return _confirmed(self.analyzer(), scan.text, found)


def _windows(text: str, found: dict[str, list[tuple[int, int]]]) -> list[tuple[int, int, set[str]]]:
    """Merge candidate spans (padded) into windows, each with the entity types to check in it."""
    items = sorted(
        (max(0, s - PAD), min(len(text), e + PAD), entity) for entity, spans in found.items() for s, e in spans
    )
    merged: list[tuple[int, int, set[str]]] = []
    for start, end, entity in items:
        if merged and start <= merged[-1][1]:
            s0, e0, ents = merged[-1]
            ents.add(entity)
            merged[-1] = (s0, max(e0, end), ents)
        else:
            merged.append((start, end, {entity}))
    return merged


def _accept(entity: str, score: float, text: str, start: int, end: int) -> bool:
    if entity != "US_SSN":
        return True
    # Presidio scores a dash-separated 3-2-4 group 0.5 and bare or space-separated
    # digits 0.05, expecting an NLP context boost that NoOpNlpEngine cannot give; German
    # phone numbers ("040 22 1234") look the same, so those need "SSN" nearby.
    if score >= 0.5 and text[start + 3 : start + 4] == "-":
        return True
    return _SSN_CONTEXT.search(text, max(0, start - 60), end + 1) is not None


def _confirmed(analyzer: Any, text: str, found: dict[str, list[tuple[int, int]]]) -> list[Finding]:
    """What Presidio confirms of the candidates, checked in windows around them."""
    windows = _windows(text, found)
    if len(windows) > MAX_WINDOWS:
        windows = [(0, len(text), set(found))]
    results: dict[tuple[str, int, int], float] = {}
    for w_start, w_end, entities in windows:
        chunk = text[w_start:w_end]
        for r in analyzer.analyze(text=chunk, language="en", entities=sorted(entities)):
            key = (r.entity_type, w_start + r.start, w_start + r.end)
            results[key] = max(results.get(key, 0.0), r.score)
    findings = []
    for (entity, start, end), score in sorted(results.items(), key=lambda kv: kv[0][1]):
        if entity not in ENTITIES or not _accept(entity, score, text, start, end):
            continue
        name, tier = ENTITIES[entity]
        findings.append(Finding(name, start, end, tier))
    return findings
