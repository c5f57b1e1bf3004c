"""The sensitivity classifier: detectors, precedence, user rules, plugins, and reasons that leak nothing."""

from __future__ import annotations

import importlib.metadata
import os
import random
import re
import sys
from pathlib import Path

import pytest

from twin_assets import classify as classify_mod
from twin_assets.classifiers import pii as pii_mod
from twin_assets.classifiers import scan_text
from twin_assets.classifiers import user_rules as user_rules_mod
from twin_assets.classifiers.pii import PiiEngine
from twin_assets.classify import (
    HIGH,
    LOW,
    MEDIUM,
    Classification,
    Classifier,
    RuleRegistry,
    Verdict,
    contact_details,
)
from twin_assets.errors import ConfigError
from twin_assets.records import CONTACT, EVENT, MESSAGE, NOTE, Party, Record

SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "samples"

# Reasons the built-in rules may produce: names, numbers and offsets only.
SAFE_REASON = re.compile(
    r"^(source:[a-z_]+|published:(mailing-list|note)|detector:[a-z_]+(@\d+-\d+|\+\d+)|user_rule:\d+(\+\d+)?)$"
)

CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi2Z8fd6jYQ8b8Tn5sKx1A8vXq3\n"
    "q0HjM2Rk9LwG6c2ZyR1Wc8s7Yt0kd0QJbq8a1bC2dE3fG4hI5jK6lM7nO8pQ9rS0\n"
    "-----END RSA PRIVATE KEY-----"
)


# One Presidio engine and one registry for the module's tests, as a run has one classifier for all its records.
PII = PiiEngine()
INSTALLED = RuleRegistry.installed()


def classify(record: Record, registry: RuleRegistry | None = None, **kw) -> Classification:
    """A classifier for this home (each test has its own), sharing the module's Presidio engine."""
    return Classifier(registry or INSTALLED, pii=PII).classify(record, **kw)


def rec(body: str, source: str = "notes", title: str = "", kind: str = NOTE, parties=None, **attrs) -> Record:
    return Record(
        source=source, external_id="t-1", kind=kind, title=title, body=body, parties=parties or [], attributes=attrs
    )


def detectors_of(c) -> set[str]:
    return {r.split(":", 1)[1].split("@", 1)[0] for r in c.reasons if r.startswith("detector:")}


# ---- source defaults and published content ------------------------------------------------


@pytest.mark.parametrize(
    ("source", "tier"),
    [
        ("email", HIGH),
        ("slack", HIGH),
        ("whatsapp", HIGH),
        ("telegram", HIGH),
        ("ofx", HIGH),
        ("bank_csv", HIGH),
        ("calendar", MEDIUM),
        ("contacts", MEDIUM),
        ("notes", MEDIUM),
        ("fax_archive", HIGH),
    ],
)
def test_source_defaults(source: str, tier: str) -> None:
    c = classify(rec("Lunch at noon?", source=source))
    assert c.tier == tier
    assert c.reasons == [f"source:{source}"]


@pytest.mark.parametrize(
    ("source", "attrs", "reason"),
    [
        ("email", {"list_id": "garden.lists.example.org"}, "published:mailing-list"),
        ("email", {"precedence": "bulk"}, "published:mailing-list"),
        ("email", {"precedence": "list"}, "published:mailing-list"),
        ("notes", {"published": True}, "published:note"),
    ],
)
def test_published_content_is_low(source: str, attrs: dict, reason: str) -> None:
    c = classify(rec("Spray copper fungicide every ten days.", source=source, **attrs))
    assert (c.tier, c.reasons) == (LOW, [reason])


def test_precedence_other_than_bulk_or_list_is_not_published() -> None:
    assert classify(rec("hello", source="email", precedence="junk")).tier == HIGH


# ---- detectors: positives ----------------------------------------------------------------

POSITIVES = [
    ("credit_card", f"my card is {CARD}, expiry 04/29"),
    ("credit_card", "Mastercard 5555555555554444"),
    ("iban", f"Bitte überweise an {IBAN} bis Freitag"),
    ("iban", "pay to GB82 WEST 1234 5698 7654 32 please"),
    ("us_ssn", "SSN 536-22-1234 for the form"),
    ("us_ssn", "my social security number is 536 22 1234"),
    ("crypto_wallet", "send it to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("crypto_wallet", "wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("password", "The wifi password for the flat is Xq7kLm29 and the key box code is 4411."),
    ("password", "password: hunter22"),
    ("password", "Passwort: sonnenblume"),
    ("password", "Das WLAN-Passwort lautet Tannenbaum42!"),
    ("password", "mot de passe : tournesol"),
    ("password", "pw is hunter22"),
    ("password", "- Spreebank online banking: user lbrandt91, password gJX6VycanarydDXZ"),
    ("password", 'db_password = "s3cr3t-Pa55"'),
    ("pin", "PIN: 4821"),
    ("aws_access_key", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("github_token", "GITHUB_TOKEN=ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    ("github_token", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("slack_token", "bot token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("stripe_key", "STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe_key", "use sk_test_51H8xYzAbCdEfGhIjKlMnOp for staging"),
    ("google_api_key", "key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("jwt", f"session {JWT}"),
    ("bearer_token", "curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706fedcba987654'"),
    ("api_key", "api_key = 'a8F3kLq9ZxT2vB7nM4pQ'"),
    ("api_key", "OPENWEATHER_TOKEN: 3f2b9c8d7e6a5f4b3c2d1e0f9a8b7c6d"),
    ("private_key", f"Deploy key:\n\n{PEM}\n"),
    ("medical", "Diagnose: Eisenmangelanämie, Verdacht auf Hashimoto."),
    ("medical", "Picked up the prescription at the pharmacy"),
    ("medical", "session with my therapist on Thursday"),
    ("medical", "Your lab results are ready"),
    ("medical", "started Sertraline 50 mg today"),
    ("salary", "payslip for March attached"),
    ("salary", "The offer is a gross annual salary of EUR 78,500 plus bonus."),
    ("salary", "Gehalt: 5.200 € brutto ab Juli"),
]


@pytest.mark.parametrize(("detector", "text"), POSITIVES)
def test_detector_positive_raises_note_to_high(detector: str, text: str) -> None:
    c = classify(rec(text))
    assert c.tier == HIGH, c.reasons
    assert detector in detectors_of(c)
    assert c.reasons[0] == "source:notes"
    assert any(name == detector for name, _, _ in c.spans)


# ---- detectors: negatives ----------------------------------------------------------------

NEGATIVES = [
    "card 4111 1111 1111 1112 (fails Luhn)",
    "order number 1234 5678 9012 3456",
    "IBAN DE89 3704 0044 0532 0130 01 has a bad checksum",
    "Forgot your password? Click here to reset it.",
    "FORGOT YOUR PASSWORD? \nPassword look-up--follow this link and we'll help you",
    "Reset your password: https://accounts.example.com/reset?id=123",
    "To retrieve your password -\n\nhttp://example.com:80/lognpwdform.ctl?x=1",
    "Your password has been changed. The password is case-sensitive.",
    "password is incorrect, try again",
    "password: ********",
    "Use a password manager.",
    "token = get_token(user)",
    'access_token = response.json()["access_token"]',
    "if token is None:\n    raise AuthError()",
    'headers = {"Authorization": f"Bearer {token}"}',
    'password = os.environ["DB_PASSWORD"]',
    "def check_password(password: str) -> bool:",
    "token_type: bearer, expires_in: 3600",
    "csrf_token = '{{ csrf_token }}'",
    "API_KEY=YOUR_API_KEY_HERE_12345",
    "publishable key pk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "paste your -----BEGIN RSA PRIVATE KEY----- block here",
    "SSN 123-45-6789 is the usual placeholder",
    "call 040 22 1234 tomorrow",
    "Dentist appointment, bring the form",
    "salary negotiation tips for engineers",
    "letters of credit in such form as may be prescribed by the Exchange",
    "a recipe: Rezept für Apfelkuchen",
    "mail me at anna@example.org or +49 30 1234567, server 10.0.0.1",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_detector_negative_keeps_source_default(text: str) -> None:
    c = classify(rec(text))
    assert c.tier == MEDIUM, c.reasons
    assert c.reasons == ["source:notes"]


def test_newsletter_with_password_reset_stays_low() -> None:
    body = "This week's deals!\n\nForgot your password? Click here. Manage your password settings in your account."
    c = classify(rec(body, source="email", kind=MESSAGE, list_id="deals.shop.example"))
    assert c.tier == LOW


def test_contact_details_are_informational_and_opt_in() -> None:
    text = "Call me on +49 30 12345678 or write to anna@example.org; the NAS is at 192.168.1.20."
    assert classify(rec(text)).spans == []
    with_contacts = RuleRegistry.installed().add("contact_details", contact_details)
    c = classify(rec(text), with_contacts)
    assert c.tier == MEDIUM and c.reasons == ["source:notes"]
    names = {name for name, _, _ in c.spans}
    assert {"phone", "email_address", "ip_address"} <= names
    low = classify(rec(text, source="email", list_id="x"), with_contacts)
    assert low.tier == LOW


def test_front_matter_is_scanned_and_offsets_point_past_the_body() -> None:
    r = rec("# Router\n\nsee below", front_matter={"password": "Xy7kq9Lm!"})
    c = classify(r)
    assert c.tier == HIGH and "password" in detectors_of(c)
    ((_, start, end),) = c.spans
    assert start > len(r.text()) and "Xy7kq9Lm!" in scan_text(r)[start:end]


def test_text_past_the_scan_limit_counts_as_high(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classify_mod, "MAX_SCAN_CHARS", 100)
    c = classify(rec("harmless words " * 20))
    assert c.tier == HIGH and any(r.startswith("detector:unscanned@100-") for r in c.reasons)


# ---- precedence ---------------------------------------------------------------------------


def test_forced_low_mailing_list_with_card_number_is_high() -> None:
    c = classify(rec(f"Reader offer! Pay with {CARD}", source="email", kind=MESSAGE, list_id="news.example"))
    assert c.tier == HIGH
    assert c.reasons[0] == "published:mailing-list" and "credit_card" in detectors_of(c)


def test_published_note_with_private_key_is_high() -> None:
    assert classify(rec(PEM, published=True)).tier == HIGH


def test_medical_words_do_not_override_published_content() -> None:
    body = "This month: how a diagnosis of diabetes changes your prescription routine."
    c = classify(rec(body, source="email", kind=MESSAGE, list_id="health-news.example"))
    assert c.tier == LOW and c.reasons == ["published:mailing-list"]
    assert any(name == "medical" for name, _, _ in c.spans)  # still reported for callers


def test_user_set_low_with_api_key_is_high() -> None:
    rules_ = [{"match": {"sender": "*@shop.example"}, "tier": "LOW", "mode": "set"}]
    sender = [Party(role="from", email="news@shop.example")]
    plain = classify(rec("New arrivals!", source="email", kind=MESSAGE, parties=sender), user_rules=rules_)
    assert (plain.tier, plain.reasons) == (LOW, ["user_rule:1"])
    leaky = classify(
        rec("ops: sk_live_4eC39HqLyjWDarjtT1zdp7dc", source="email", kind=MESSAGE, parties=sender), user_rules=rules_
    )
    assert leaky.tier == HIGH and leaky.reasons[0] == "user_rule:1" and "stripe_key" in detectors_of(leaky)


def test_user_set_low_overrides_topical_detectors() -> None:
    rules_ = [{"match": {"folder": "Reading"}, "tier": "LOW", "mode": "set"}]
    c = classify(rec("Book notes: the therapist in chapter 3", path="Reading/Book.md"), user_rules=rules_)
    assert c.tier == LOW


def test_user_raise_only_raises() -> None:
    up = [{"match": {"source": "calendar", "keyword": "board meeting"}, "tier": "HIGH"}]
    c = classify(rec("Quarterly Board Meeting", source="calendar", kind=EVENT), user_rules=up)
    assert (c.tier, c.reasons) == (HIGH, ["source:calendar", "user_rule:1"])
    down = [{"match": {"source": "email"}, "tier": "LOW", "mode": "raise"}]
    assert classify(rec("hi", source="email", kind=MESSAGE), user_rules=down).tier == HIGH


def test_user_raise_beats_published() -> None:
    up = [{"match": {"list_id": "*.internal.example"}, "tier": "MEDIUM"}]
    c = classify(rec("team news", source="email", kind=MESSAGE, list_id="team.internal.example"), user_rules=up)
    assert c.tier == MEDIUM


def test_several_set_rules_highest_wins() -> None:
    both = [
        {"match": {"source": "notes"}, "tier": "LOW", "mode": "set"},
        {"match": {"label": "work"}, "tier": "MEDIUM", "mode": "set"},
    ]
    assert classify(rec("x", tags=["Work"]), user_rules=both).tier == MEDIUM
    assert classify(rec("x", tags=["home"]), user_rules=both).tier == LOW


# ---- user rules: matching --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "record", "hit"),
    [
        ({"sender": "*@bank.example"}, rec("x", "email", parties=[Party("from", email="Alerts@Bank.example")]), True),
        ({"sender": "*@bank.example"}, rec("x", "email", parties=[Party("to", email="me@bank.example")]), False),
        ({"sender": "Anna*"}, rec("x", "slack", parties=[Party("author", name="Anna Mendes")]), True),
        ({"folder": "Finance"}, rec("x", "email", folder="Finance"), True),
        ({"folder": "Finance"}, rec("x", "email", folder="INBOX"), False),
        ({"folder": "Health*"}, rec("x", path="Health/2025 Befund.md"), True),
        ({"label": "private"}, rec("x", tags=["health", "private"]), True),
        ({"label": "Family"}, rec("x", "calendar", categories=["FAMILY"]), True),
        ({"keyword": "Quarterly Numbers"}, rec("the quarterly numbers are in"), True),
        ({"keyword": ["alpha", "beta"]}, rec("only beta here"), True),
        ({"kind": "contact"}, rec("x", "contacts", kind=CONTACT), True),
        ({"source": "email", "keyword": "invoice"}, rec("invoice", "notes"), False),
        ({"list_id": "*.lists.example.org"}, rec("x", "email", list_id="garden.lists.example.org"), True),
    ],
)
def test_user_rule_matching(match: dict, record: Record, hit: bool) -> None:
    c = classify(record, user_rules=[{"match": match, "tier": "HIGH"}])
    assert ("user_rule:1" in c.reasons) is hit


# ---- user rules: the file --------------------------------------------------------------------


def _rules_file(settings) -> Path:
    path = user_rules_mod.config_path(settings.home_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_rules_file_is_read_and_cached_by_mtime(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _rules_file(settings)
    path.write_text("rules:\n  - match: {source: notes}\n    tier: HIGH\n")
    loads = []
    real = user_rules_mod.yaml.safe_load
    monkeypatch.setattr(user_rules_mod.yaml, "safe_load", lambda s: loads.append(1) or real(s))
    classifier = Classifier(INSTALLED, pii=PII)
    assert classifier.classify(rec("x")).reasons == ["source:notes", "user_rule:1"]
    assert classifier.classify(rec("y")).tier == HIGH
    assert len(loads) == 1
    path.write_text("- match: {source: notes}\n  tier: LOW\n  mode: set\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert classifier.classify(rec("x")).tier == LOW
    assert len(loads) == 2
    # The rules given to a classifier replace the file's.
    assert Classifier(INSTALLED, pii=PII, user_rules=[]).classify(rec("x")).tier == MEDIUM


def test_no_rules_file_means_no_user_rules(settings) -> None:
    assert not user_rules_mod.config_path(settings.home_path).exists()
    assert classify(rec("x")).reasons == ["source:notes"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("rules:\n  - match: {source: notes\n    tier: HIGH\n", ["not valid YAML at line"]),
        (
            "- match: {source: notes}\n  tier: HIGH\n- match: {source: email}\n  tier: LOW\n  scope: all\n",
            ["rule 2", "unknown field 'scope'"],
        ),
        ("- match: {sendr: '*@x.example'}\n  tier: HIGH\n", ["rule 1", "'match.sendr'"]),
        ("- match: {source: notes}\n  tier: SECRET\n", ["rule 1", "'tier'"]),
        ("- match: {source: notes}\n  tier: LOW\n  mode: lower\n", ["rule 1", "'mode'"]),
        ("- match: {}\n  tier: LOW\n", ["rule 1", "'match'"]),
        ("- match: {keyword: [HIVsecretword, 3]}\n  tier: HIGH\n", ["rule 1", "'match.keyword'"]),
        ("rules: {source: notes}\n", ["expected a list of rules"]),
        ("version: 2\nrules: []\n", ["unknown top-level field 'version'"]),
    ],
)
def test_rules_file_errors_name_file_rule_and_field(settings, content: str, expected: list[str]) -> None:
    path = _rules_file(settings)
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        classify(rec("x"))
    message = str(err.value)
    assert str(path) in message
    for part in expected:
        assert part in message
    assert "HIVsecretword" not in message  # values (a keyword can be sensitive) are never echoed


def test_user_rules_given_directly_replace_the_file(settings) -> None:
    _rules_file(settings).write_text("- match: {source: notes}\n  tier: HIGH\n")
    assert classify(rec("x"), user_rules=[]).tier == MEDIUM
    parsed = user_rules_mod.parse_rules({"rules": [{"match": {"source": "notes"}, "tier": "low", "mode": "SET"}]})
    assert classify(rec("x"), user_rules=parsed).tier == LOW


# ---- registry and entry points ---------------------------------------------------------------


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "twin_vip_plugin.py").write_text(
        "from twin_assets.classify import Verdict\n\n"
        "def vip_rule(record):\n"
        "    if 'project nightjar' in record.text().lower():\n"
        "        yield Verdict('HIGH', 'plugin:vip')\n\n"
        "NOT_CALLABLE = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "twin_vip_plugin"
    sys.modules.pop("twin_vip_plugin", None)


def test_entry_point_rules_are_loaded(plugin_module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [
        importlib.metadata.EntryPoint("vip", f"{plugin_module}:vip_rule", "twin.classifiers"),
        importlib.metadata.EntryPoint("broken", "twin_no_such_module:rule", "twin.classifiers"),
        importlib.metadata.EntryPoint("number", f"{plugin_module}:NOT_CALLABLE", "twin.classifiers"),
        importlib.metadata.EntryPoint("source_default", f"{plugin_module}:vip_rule", "twin.classifiers"),
    ]
    real = importlib.metadata.entry_points

    def fake(**kw):
        return [ep for ep in eps if ep.group == kw.get("group")] if "group" in kw else real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    registry = RuleRegistry.installed()
    monkeypatch.undo()
    assert "vip" in registry.rules() and registry.plugins == ["vip"]
    assert registry.broken == {
        "broken": "failed to load: ModuleNotFoundError",
        "number": "not callable",
        "source_default": "name taken by a built-in rule",
    }
    c = classify(rec("Notes on Project Nightjar"), registry)
    assert (c.tier, c.reasons) == (HIGH, ["source:notes", "plugin:vip"])
    assert classify(rec("nothing special"), registry).tier == MEDIUM
    # Each registry is its own: one made from what is really installed has no "vip".
    assert "vip" not in RuleRegistry.installed() and "vip" not in INSTALLED


@pytest.fixture
def temp_rule():
    """A registry of the installed rules, for a test to register its own rules on."""
    registry = RuleRegistry.installed()

    def add(name: str, fn) -> RuleRegistry:
        registry.register_rule(name)(fn)
        return registry

    return add


def test_register_rule_plugs_in(temp_rule) -> None:
    registry = temp_rule("always_medium", lambda r: [Verdict(MEDIUM, "custom:medium")])
    assert "always_medium" in registry.rules() and "always_medium" not in INSTALLED
    assert classify(rec("x", source="email", list_id="l"), registry).tier == MEDIUM
    assert classify(rec("x", source="email", list_id="l")).tier == LOW


@pytest.mark.parametrize(
    "fn",
    [lambda r: 1 / 0, lambda r: [Verdict("SECRET", "custom:x")], lambda r: ["not a verdict"]],
)
def test_a_failing_rule_makes_the_record_high(temp_rule, fn) -> None:
    c = classify(rec("x", published=True), temp_rule("flaky", fn))
    assert c.tier == HIGH and "rule_error:flaky" in c.reasons


def test_a_rule_reason_with_content_is_withheld(temp_rule) -> None:
    registry = temp_rule("chatty", lambda r: [Verdict(HIGH, f"chatty: {r.body}")])
    c = classify(rec("Ottoline Quibblesworth"), registry)
    assert c.reasons == ["source:notes", "chatty:reason-withheld"]


def test_a_classifier_builds_presidio_once_and_only_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    class Analyzer:
        def analyze(self, **kw):
            return []

    builds: list[int] = []
    monkeypatch.setattr(pii_mod, "build_analyzer", lambda: builds.append(1) or Analyzer())
    classifier = Classifier(INSTALLED)
    classifier.classify(rec("nothing to check"))
    assert builds == [] and not classifier.pii.built  # no candidate: Presidio is never built
    for i in range(3):
        classifier.classify(rec(f"card {i}: {CARD}"))
    assert builds == [1]  # built by the first candidate, kept for every later record


def test_many_hits_are_summarised_in_reasons() -> None:
    c = classify(rec("\n".join(f"card {CARD}" for _ in range(10))))
    assert c.reason_text.count("detector:credit_card@") == 3 and "detector:credit_card+7" in c.reasons
    assert len(c.spans) == 10


# ---- reasons never contain what was matched ------------------------------------------------

PLANTED = [
    CARD,
    IBAN,
    "536-22-1234",
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "AKIAIOSFODNN7EXAMPLE",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    JWT,
    "Xq7kLm29",
    "Eisenmangelanämie",
]
CONTEXTS = [
    "{s}",
    "password: {s}",
    "Hi,\n\nhere it is: {s}\n\nThanks",
    "token = '{s}'",
    "Diagnose: {s}",
    "{filler} {s} {filler}",
]


@pytest.mark.parametrize("secret", PLANTED)
def test_reasons_and_spans_never_contain_the_secret(secret: str) -> None:
    rng = random.Random(secret)
    for template in CONTEXTS:
        filler = " ".join(
            rng.choice(["lorem", "ipsum", "dolor", "the", "und", "42"]) for _ in range(rng.randint(0, 30))
        )
        body = template.format(s=secret, filler=filler)
        for source, attrs in (("notes", {}), ("email", {"list_id": "x.example"}), ("calendar", {"location": secret})):
            r = rec(body, source=source, **attrs)
            c = classify(r)
            assert secret not in c.reason_text
            for piece in re.split(r"\W+", secret):
                if len(piece) >= 6:
                    assert piece not in c.reason_text
            assert all(SAFE_REASON.match(reason) for reason in c.reasons), c.reasons
            assert all(isinstance(n, str) and isinstance(s, int) and isinstance(e, int) for n, s, e in c.spans)
            assert all(secret not in n for n, _, _ in c.spans)


def test_spans_point_at_the_secret() -> None:
    r = rec(f"Hi!\nThe new card: {CARD}\nand the key AKIAIOSFODNN7EXAMPLE ok")
    c = classify(r)
    text = scan_text(r)
    found = {name: text[s:e] for name, s, e in c.spans}
    assert CARD in found["credit_card"] and "AKIAIOSFODNN7EXAMPLE" in found["aws_access_key"]


def test_offsets_survive_text_whose_lowercase_is_longer() -> None:
    r = rec("İİİ İzmir trip. Diagnose: Grippe. Passwort: Xq7kLm29")  # "İ".lower() is two characters
    c = classify(r)
    found = {name: scan_text(r)[s:e] for name, s, e in c.spans}
    assert found["medical"] == "Diagnose" and found["password"].endswith("Xq7kLm29")


def test_an_edited_record_is_classified_afresh() -> None:
    r = rec("nothing")
    assert classify(r).tier == MEDIUM
    r.body = f"card {CARD}"
    assert classify(r).tier == HIGH


# ---- real exports --------------------------------------------------------------------------


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not present")
def test_classifier_never_raises_on_real_mail() -> None:
    from twin_assets.connectors.registry import get_connector

    counts: dict[str, int] = {}
    seen = 0
    for folder in ("eml", "maildir", "mbox"):
        for path in sorted((SAMPLES / "email" / folder).rglob("*")):
            if not path.is_file() or seen >= 300:
                continue
            for item in get_connector("email").parse(path):
                if isinstance(item, Record):
                    c = classify(item)
                    assert c.tier in (HIGH, MEDIUM, LOW)
                    assert all(SAFE_REASON.match(reason) for reason in c.reasons), c.reasons
                    counts[c.tier] = counts.get(c.tier, 0) + 1
                    seen += 1
    print(f"classified {seen} sample mails: {counts}")
    assert seen > 0
