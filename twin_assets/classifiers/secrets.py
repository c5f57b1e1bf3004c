"""Credentials: passwords, API keys and tokens, private keys (Presidio has no recognizer for these).

Every finding here is HIGH and hard (it wins over a published item or a user
``set`` rule): a live credential is a leak whoever the audience was.

False positives matter as much as misses — "Forgot your password? Click here"
is in every newsletter, and code is full of variables called ``token``. So a
keyword alone never counts: a value must follow, and the value must look like
a secret (not a stop word, not a placeholder, not an identifier or a call).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

from twin_assets.classifiers import Finding, Lexicon, ScanText, terms
from twin_assets.stores import HIGH

# ---- tokens with a known shape: the prefix is the evidence ---------------------------
# Each pattern comes with literals one of which any match contains: on the usual clean
# text a few substring tests replace the regex scans.
KNOWN_TOKENS: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "aws_access_key": (("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    "aws_secret_key": (
        ("aws_secret", "AWS_SECRET", "awsSecret", "AwsSecret", "AWSSecret"),
        re.compile(r"(?i)\baws_?secret_?access_?key\b['\"]?\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
    ),
    "github_token": (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ),
    "slack_token": (("xox",), re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,250}")),
    "slack_webhook": (
        ("hooks.slack.com",),
        re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{16,}"),
    ),
    # Stripe's pk_ keys are publishable by design; sk_ and rk_ are the secret ones.
    "stripe_key": (("_live_", "_test_"), re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}\b")),
    "google_api_key": (("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")),
    "jwt": (("eyJ",), re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
}

_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d: ")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|Private-MAC: [0-9a-f]+")
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]{40,}")

_BEARER = re.compile(r"\b[Bb]earer\s+(?P<v>[A-Za-z0-9\-._~+/]{20,}=*)")

# "api_key = ...", "token: ...", "client_secret=...": a secret-ish key, then a value.
# Keys are found as literals (a "GITHUB_" or "aws_session_" prefix is allowed, so
# only a letter or digit may not precede them), then the value is read after them.
_ASSIGNED_KEYS = Lexicon(
    [
        phrase.replace(" ", sep)
        for phrase in terms("api key, api secret, secret key, client secret, access key, access token, auth token")
        + terms("refresh token, secret, token")
        for sep in ("_", "-", "")
    ],
    left="",
)
_ASSIGNED_TAIL = re.compile(r"['\"]?\s*(?::=|=>|:|=)\s*['\"]?(?P<v>[A-Za-z0-9_\-+/=.~]{16,256})")
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_-]*$")

# ---- passwords -----------------------------------------------------------------------
_PW_KEYWORDS = Lexicon(
    terms(
        """
        password, passwords, passwd, passphrase, pass phrase, pass-phrase, passcode, pwd, pw
        Passwort, Kennwort, Zugangscode, mot de passe, mdp, contraseña, senha, wachtwoord
        wifi key, wi-fi key, wlan-schlüssel, wlan schlüssel, wlan-key, wlan key
        """
    ),
    left="",  # compounds count: "WLAN-Passwort", "db_password"
)
# After the keyword: up to four words ("for the flat"), a separator, the value.
# The gap stays on the keyword's line: "PASSWORD -\n\nhttp://..." is a heading and a link.
_PW_SEPARATED = re.compile(
    r"(?i)(?P<gap>(?:[ \t]+[\w'’-]+){0,4}?)[ \t]*"
    r"(?P<sep>:|=|\bis\b|\bist\b|\best\b|\blautet\b|\bwas\b|\bwar\b|\bwould be\b)"
    r"(?!//)[ \t]*\n?[ \t]*(?P<q>[\"'“„‚«]?)(?P<v>[^\s\"'”“«»]{3,64})"
)
# Notes style with no separator at all: "user lbrandt91, password Xq7…".
_PW_BARE = re.compile(r"[ \t]+(?P<v>[^\s\"'”“]{6,64})")
_PIN_KEYWORDS = Lexicon(["PIN", "PIN-Code", "PIN code", "PIN-Nummer", "PIN number"])
_PIN = re.compile(r"(?i)\s*(?::|=|\bis\b|\bist\b|\blautet\b)\s*(?P<v>\d{4,8})\b")

# Words that follow "password is/:" in prose about passwords rather than in a shared one.
# (A word list reads better as text than as 200 quoted strings.)
_STOPWORDS = frozenset(
    """
    a an the your my our their his her its this that these those it is was be been being are were will would
    should must can could may might not no none null nil true false undefined empty blank unknown str string
    int bool bytes required optional mandatory needed incorrect invalid wrong correct valid expired expiring
    reset changed change changing updated update sent send set saved stored encrypted hashed hidden shown
    protected secure safe weak strong too very case sensitive case-sensitive same different only also still
    now here there below above attached enclosed included following same as used for of to in on at by with
    and or but if then so what why how when where which who you we they me him them i
    field fields value values input type length minimum maximum characters chars long short new old current
    temporary generated random manager managers policy policies please click link here: tbd todo n/a na
    required. ist war sind wird wurde werden ihr ihre dein deine mein meine unser unsere das der die den dem
    ein eine einen einem falsch ungültig abgelaufen geändert zurückgesetzt erforderlich vergessen hier unten
    oben sicher neu alt leer gleich nicht kein keine noch jetzt bitte siehe
    date birth format enter use see ask call contact login log sign account user username email e-mail
    est était votre vos mon ma mes le la les un une des incorrect invalide oublié requis obligatoire ici
    vide nouveau nouvelle changé modifié
    """.split()  # noqa: SIM905
)
_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|•{3,}|\.{3,}|your[_-]|my[_-]|example|placeholder|changeme|dummy|redacted|sample|"
    r"^<|>$|\$\{|\{\{|%\(|^\$[A-Za-z_]|^%[A-Za-z_]"
)
_CODE_LIKE = re.compile(r"[()\[\]{}<>;]|^(?:self|this|os|env|process|config|settings|request|req|args)\.")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def _case_switches(value: str) -> int:
    letters = [c.isupper() for c in value if c.isalpha()]
    return sum(1 for a, b in pairwise(letters) if a != b)


def looks_random(value: str) -> bool:
    """A generated token rather than a word, an identifier or a sentence fragment."""
    if len(value) < 16 or _PLACEHOLDER.search(value) or _CODE_LIKE.search(value):
        return False
    if re.fullmatch(r"[0-9a-fA-F]{32,}", value):
        return True  # hex keys (and hashes — which in a "secret=" assignment are secrets too)
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    if _IDENTIFIER.fullmatch(value) and ("_" in value or "." in value):
        # settings.API_TOKEN_V2, user_token_2: names, unless the parts themselves look random.
        parts = re.split(r"[._]", value)
        if all(re.fullmatch(r"[A-Za-z]+\d{0,2}|\d{1,2}", p) for p in parts if p):
            return False
    return entropy(value) >= 3.3 and _classes(value) >= 2


def _strip_value(value: str) -> str:
    return value.rstrip(".,;:!?)]}\u201d\u2019'\"»")


def plausible_password(value: str, separator: str, quoted: bool) -> bool:
    """Whether the word after "password:" / "password is" is the password itself."""
    v = _strip_value(value)
    low = v.lower()
    if len(v) < 4 or low in _STOPWORDS or low.rstrip("s") in _STOPWORDS:
        return False
    if value.endswith("?") or "://" in v or low.startswith("www."):
        return False
    if _PLACEHOLDER.search(v) or _CODE_LIKE.search(v) or len(set(v)) == 1:
        return False
    if re.fullmatch(r"[\W_]+", v):
        return False
    if quoted or separator in (":", "="):
        # "password = user_password": a variable, not a value.
        return not (separator == "=" and _IDENTIFIER.fullmatch(v) and ("_" in v or "." in v) and v.lower() == v)
    # "password is ...": prose unless the value looks made up, or is a word that is no stop word.
    return _classes(v) >= 2 or v.isalpha()


def _strong_bare(value: str) -> bool:
    v = _strip_value(value)
    if len(v) < 8 or v.lower() in _STOPWORDS or _PLACEHOLDER.search(v) or _CODE_LIKE.search(v) or "://" in v:
        return False
    has_alpha = any(c.isalpha() for c in v)
    has_digit = any(c.isdigit() for c in v)
    # Hyphens, apostrophes and dots join ordinary words ("look-up"); these do not.
    has_symbol = any(c in "!#$%&*+=?@^_~|/\\<>{}[]" for c in v)
    return (has_alpha and (has_digit or has_symbol)) or _case_switches(v) >= 4


def _private_keys(text: str) -> Iterator[Finding]:
    pos = 0
    while (m := _PRIVATE_KEY.search(text, pos)) is not None:
        end_m = _KEY_END.search(text, m.end(), m.end() + 20_000)
        body_end = end_m.start() if end_m else min(len(text), m.end() + 4_000)
        # A header with no key material ("paste your -----BEGIN ... here") is documentation.
        body = [b.end() for b in _KEY_BODY.finditer(text, m.end(), body_end)]
        if body:
            # Without an END line (a truncated paste) the span runs to the last line of key material.
            yield Finding("private_key", m.start(), end_m.end() if end_m else body[-1], HIGH)
        pos = end_m.end() if end_m else m.end()


def _passwords(scan: ScanText) -> Iterator[Finding]:
    text = scan.text
    for start, end in _PW_KEYWORDS.spans(scan):
        m = _PW_SEPARATED.match(text, end)
        if m and plausible_password(m.group("v"), m.group("sep").lower(), bool(m.group("q"))):
            # The span keeps trailing punctuation: "Tannenbaum42!" may end in it, and over-covering is safe.
            yield Finding("password", start, m.end("v"), HIGH)
            continue
        m = _PW_BARE.match(text, end)
        if m and _strong_bare(m.group("v")):
            yield Finding("password", start, m.end("v"), HIGH)


def find_secrets(scan: str | ScanText) -> list[Finding]:
    """Passwords, PINs, API keys and tokens, private keys — each a HIGH, hard finding."""
    scan = ScanText.of(scan)
    text = scan.text
    findings: list[Finding] = []
    for name, (literals, pattern) in KNOWN_TOKENS.items():
        if any(literal in text for literal in literals):
            findings.extend(Finding(name, m.start(), m.end(), HIGH) for m in pattern.finditer(text))
    if "PRIVATE KEY" in text or "PuTTY-User-Key-File" in text:
        findings.extend(_private_keys(text))
    if "earer" in text:
        for m in _BEARER.finditer(text):
            if looks_random(_strip_value(m.group("v"))):
                findings.append(Finding("bearer_token", m.start(), m.end(), HIGH))
    for start, end in _ASSIGNED_KEYS.spans(scan):
        tail = _ASSIGNED_TAIL.match(text, end)
        if tail and looks_random(value := _strip_value(tail.group("v"))):
            prefix = _KEY_PREFIX.search(text, max(0, start - 40), start)
            findings.append(Finding("api_key", prefix.start() if prefix else start, tail.start("v") + len(value), HIGH))
    findings.extend(_passwords(scan))
    for start, end in _PIN_KEYWORDS.spans(scan):
        if pin := _PIN.match(text, end):
            findings.append(Finding("pin", start, pin.end(), HIGH))
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop repeats: the same detector matching inside its own earlier span."""
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Finding] = []
    for f in findings:
        if any(k.name == f.name and k.start <= f.start and f.end <= k.end for k in out[-4:]):
            continue
        out.append(f)
    return out
