"""Normalising the things people are known by: e-mail addresses, phone numbers and personal names.

Kept apart from extraction and resolution because both need the same answers: two spellings of an
address or a number must give the same key everywhere, and "Smith, Bob", "bob smith" and "Robert
Smith" must parse to comparable parts.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Providers documented to ignore "+tags" (and, for Gmail, dots) in the local part. Elsewhere a "+"
# may be a real part of the address, so it is kept.
_PLUS_TAG_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "posteo.de",
        "mailbox.org",
    }
)
_DOT_BLIND_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Addresses at these domains say nothing about an employer, so sharing one is no corroboration.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.de",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.de",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "posteo.de",
        "mailbox.org",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "fastmail.com",
        "fastmail.fm",
        "mail.com",
        "freenet.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "ziggo.nl",
        "comcast.net",
        "att.net",
        "verizon.net",
        "earthlink.net",
        "juno.com",
        "prodigy.net",
        "netscape.net",
        "excite.com",
        "compuserve.com",
    }
)

_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


def normalise_email(raw: str | None) -> str | None:
    """A comparable form of an address: lower case, no "mailto:", no quotes; Gmail dots and "+tags"
    removed only where the provider ignores them. None when it is not an address (X.400 paths, names)."""
    if not raw:
        return None
    value = raw.strip().strip("<>\"'").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    value = value.strip("<>\"' ").lower()
    if not _EMAIL.match(value):
        return None
    local, domain = value.rsplit("@", 1)
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _PLUS_TAG_DOMAINS and "+" in local:
        local = local.split("+", 1)[0]
    if domain in _DOT_BLIND_DOMAINS:
        local = local.replace(".", "")
    if not local:
        return None
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def is_public_domain(domain: str) -> bool:
    return domain in PUBLIC_MAIL_DOMAINS


def normalise_phone(raw: str | None, default_country: str | None = None) -> str | None:
    """E.164-ish: "+4917655501842". National numbers ("030 1234567") get ``default_country`` (digits,
    e.g. "49") when given, otherwise stay national ("0301234567"). Extensions are dropped; None when
    fewer than 6 digits remain."""
    if not raw:
        return None
    value = raw.strip()
    if value.lower().startswith("tel:"):
        value = value[4:]
    value = re.split(r"(?i)\s*(?:ext\.?|x|;ext=|#)\s*\d+\s*$", value)[0]
    value = value.replace("(0)", "")
    plus = value.lstrip().startswith("+")
    digits = re.sub(r"\D", "", value)
    if len(digits) < 6 or len(digits) > 17:
        return None
    if plus:
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0") and default_country:
        return f"+{default_country}{digits[1:]}"
    return digits


# ---- names ---------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces: "Łukasz  O'Brien" -> "lukasz obrien"."""
    # Names and addresses come back a million times at scale; long texts are not kept.
    return _fold_short(text) if len(text) <= 64 else _fold(text)


@functools.lru_cache(maxsize=1 << 16)
def _fold_short(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("Ø", "O").replace("ß", "ss")
    text = text.replace("æ", "ae").replace("Æ", "Ae").replace("đ", "d").replace("ı", "i")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = re.sub(r"['’`]", "", stripped.lower())
    return re.sub(r"[^a-z0-9]+", " ", stripped).strip()


_TITLES = frozenset(
    [
        "dr",
        "prof",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "sir",
        "herr",
        "frau",
        "fr",
        "hr",
        "mme",
        "mlle",
        "sr",
        "sra",
        "srta",
        "dott",
        "ing",
        "dipl",
        "mag",
    ]
)
_SUFFIXES = frozenset(["jr", "sr", "ii", "iii", "iv", "phd", "md", "msc", "mba", "esq"])
_PARTICLES = frozenset(
    [
        "de",
        "da",
        "di",
        "del",
        "della",
        "der",
        "den",
        "van",
        "von",
        "ten",
        "ter",
        "le",
        "la",
        "du",
        "dos",
        "das",
        "mac",
        "st",
    ]
)
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
_NOT_NAME_CHARS = re.compile(r"[^\w\s,.'’\-]", re.UNICODE)


@dataclass(frozen=True)
class NameParts:
    """A personal name in folded parts; ``last`` may be an initial ("p") when ``last_is_initial``."""

    first: str
    last: str | None
    tokens: tuple[str, ...]
    last_is_initial: bool = False

    @property
    def full(self) -> str:
        return " ".join(self.tokens)

    @property
    def is_full(self) -> bool:
        return self.last is not None and not self.last_is_initial


def strip_decoration(raw: str) -> str:
    """Emoji, parentheticals and stray symbols removed: "Will (Cousin)" -> "Will", "Katja ❤️" -> "Katja"."""
    text = _PAREN.sub(" ", raw)
    text = _NOT_NAME_CHARS.sub(" ", text)
    text = re.sub(r"[\d_]+", " ", text)
    return re.sub(r"\s+", " ", text).strip(" ,.-'")


def parse_name(raw: str | None) -> NameParts | None:
    """Parse "Smith, Bob", "Dr. Robert J. Smith", "Ági P.", "brandt, jules"; None for non-names."""
    if not raw:
        return None
    # Resolution parses the same few thousand names millions of times; the parts are immutable.
    return _parse_short(raw) if len(raw) <= 80 else _parse_name(raw)


@functools.lru_cache(maxsize=1 << 16)
def _parse_short(raw: str) -> NameParts | None:
    return _parse_name(raw)


def _parse_name(raw: str) -> NameParts | None:
    text = strip_decoration(raw)
    if not text or "@" in raw:
        return None
    last, _, first = text.partition(",")
    # "Smith, Bob" is surname first; anything else with commas is just punctuation.
    reordered = text.count(",") == 1 and first.strip() and last.strip() and len(last.split()) <= 3
    text = f"{first.strip()} {last.strip()}" if reordered else text.replace(",", " ")
    raw_tokens = [t for t in re.split(r"\s+", text) if t]
    initial_flags = [bool(re.fullmatch(r"[^\W\d_]\.?", t)) for t in raw_tokens]
    tokens = [fold(t) for t in raw_tokens]
    pairs = [(t, f) for t, f in zip(tokens, initial_flags, strict=True) if t]
    while pairs and pairs[0][0] in _TITLES:
        pairs.pop(0)
    while len(pairs) > 1 and pairs[-1][0] in _SUFFIXES:
        pairs.pop()
    if not pairs:
        return None
    words = [t for t, _ in pairs]
    if len(words) == 1:
        return NameParts(words[0], None, tuple(words))
    last_initial = pairs[-1][1] and len(words[-1]) == 1
    # Middle initials ("Robert J. Smith") carry no identity; particles belong to the surname.
    core = [w for (w, flag), i in zip(pairs, range(len(pairs)), strict=True) if not (flag and 0 < i < len(pairs) - 1)]
    last_start = len(core) - 1
    while last_start > 1 and core[last_start - 1] in _PARTICLES:
        last_start -= 1
    first = core[0]
    last = " ".join(core[last_start:])
    return NameParts(first, last, tuple(core), last_is_initial=last_initial)


# Common given-name variants: formal name -> familiar forms. English first, then the German,
# Romance and Slavic short forms an address book in Europe meets every day.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "lisa", "elise", "betsy"),
    "richard": ("rick", "dick", "rich", "ricky"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny", "jon"),
    "michael": ("mike", "mikey", "mick"),
    "thomas": ("tom", "tommy"),
    "christopher": ("chris", "kit"),
    "christian": ("chris",),
    "christine": ("chris", "tina"),
    "christina": ("chris", "tina"),
    "joseph": ("joe", "joey"),
    "daniel": ("dan", "danny", "dani"),
    "david": ("dave", "davy"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "charles": ("charlie", "chuck"),
    "anthony": ("tony",),
    "andrew": ("andy", "drew"),
    "matthew": ("matt",),
    "nicholas": ("nick", "nicky"),
    "benjamin": ("ben", "benny"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam",),
    "alexander": ("alex", "sasha"),
    "alexandra": ("alex", "sasha", "sandra"),
    "jonathan": ("jon",),
    "timothy": ("tim",),
    "stephen": ("steve",),
    "steven": ("steve",),
    "gregory": ("greg",),
    "peter": ("pete",),
    "patrick": ("pat", "paddy"),
    "patricia": ("pat", "patty", "trish"),
    "kenneth": ("ken", "kenny"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don",),
    "douglas": ("doug",),
    "jeffrey": ("jeff",),
    "geoffrey": ("geoff", "jeff"),
    "lawrence": ("larry",),
    "gerald": ("gerry", "jerry"),
    "jennifer": ("jen", "jenny"),
    "margaret": ("maggie", "peggy", "meg", "marge"),
    "katherine": ("kate", "kathy", "katie", "kat"),
    "catherine": ("cathy", "kate", "cat"),
    "rebecca": ("becky", "becca"),
    "victoria": ("vicky", "tori"),
    "susan": ("sue", "susie"),
    "deborah": ("deb", "debbie"),
    "barbara": ("barb",),
    "jessica": ("jess",),
    "isabella": ("bella", "izzy"),
    "isabel": ("bella", "izzy"),
    "frederick": ("fred", "freddie"),
    "kimberly": ("kim",),
    "judith": ("judy",),
    "theodore": ("theo", "ted"),
    "vincent": ("vince",),
    "raymond": ("ray",),
    "leonard": ("leo", "len"),
    "phillip": ("phil",),
    "philip": ("phil",),
    "eugene": ("gene",),
    "walter": ("walt",),
    "harold": ("harry",),
    "henry": ("harry", "hank"),
    "jacob": ("jake",),
    "joshua": ("josh",),
    "zachary": ("zach",),
    "nathaniel": ("nate", "nat"),
    "abigail": ("abby",),
    "allison": ("ally",),
    "amanda": ("mandy",),
    "melissa": ("mel",),
    "pamela": ("pam",),
    "cynthia": ("cindy",),
    "sandra": ("sandy",),
    "dorothy": ("dot",),
    "frances": ("fran",),
    "francesca": ("fran",),
    "francis": ("frank",),
    "franklin": ("frank",),
    "julian": ("jules",),
    "juliana": ("julie",),
    "johannes": ("hannes", "jo"),
    "katharina": ("kathi", "katja", "kati"),
    "margarete": ("grete", "gretel"),
    "susanne": ("susi", "sanne"),
    "matthias": ("matze", "matti"),
    "friedrich": ("fritz",),
    "wolfgang": ("wolf",),
    "dorothea": ("thea", "doro"),
    "maximilian": ("max",),
    "tobias": ("tobi",),
    "nikolaus": ("niko", "klaus"),
    "jekaterina": ("katja",),
    "yekaterina": ("katya", "katja"),
    "ekaterina": ("katya", "katja"),
    "aleksandra": ("ola", "sasha"),
    "aleksander": ("olek", "sasha"),
    "dmitri": ("dima",),
    "dmitry": ("dima",),
    "anastasia": ("nastya", "stacy"),
    "ivan": ("vanya",),
    "tomasz": ("tomek",),
    "agnieszka": ("aga",),
    "lukasz": ("lukas",),
    "giuseppe": ("beppe", "peppe"),
    "francisco": ("paco", "pancho", "fran"),
    "jose": ("pepe",),
    "joaquin": ("quino",),
    "rafael": ("rafa",),
    "agnes": ("agi",),
    "miriam": ("miri",),
    "olumide": ("olu",),
    "guillermo": ("memo",),
    "manuel": ("manu", "manolo"),
    "antonio": ("toni", "tono"),
    "federico": ("fede",),
}


def _build_nick_index() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for formal, nicks in _NICKNAMES.items():
        group = {formal, *nicks}
        for name in group:
            index.setdefault(name, set()).add(formal)
    return {k: frozenset(v) for k, v in index.items()}


_NICK_INDEX = _build_nick_index()


class NameEquivalence:
    """Which given names may stand for each other: the built-in table plus pairs learned from the data
    (a contact card's NICKNAME, a note's aliases, two names on one address)."""

    def __init__(self) -> None:
        self._learned: dict[str, set[str]] = {}

    def learn(self, a: str, b: str) -> None:
        a, b = fold(a), fold(b)
        if a and b and a != b and " " not in a and " " not in b:
            self._learned.setdefault(a, set()).add(b)
            self._learned.setdefault(b, set()).add(a)

    def forms(self, given: str) -> set[str]:
        """``given`` and every formal name it may be short for (folded)."""
        out = {given}
        out |= _NICK_INDEX.get(given, frozenset())
        out |= self._learned.get(given, set())
        return out

    def compatible(self, a: str, b: str) -> bool:
        if a == b:
            return True
        if b in self._learned.get(a, ()) or a in self._learned.get(b, ()):
            return True
        return bool(_NICK_INDEX.get(a, frozenset()) & ({b} | _NICK_INDEX.get(b, frozenset())))


def local_part_matches(email: str, name: NameParts) -> bool:
    """Whether an address's local part spells the name: first.last, firstlast, flast, f.last, last.first,
    lastf, first_last, last (digits ignored). Says the name really belongs to the address."""
    if not name.is_full:
        return False
    local = re.sub(r"\d+", "", email.split("@", 1)[0].lower())
    plain = re.sub(r"[._\-]", "", local)
    first = name.first.replace(" ", "")
    last = name.last.replace(" ", "") if name.last else ""
    if not first or not last:
        return False
    candidates = {first + last, first[0] + last, last + first, last + first[0], last}
    return plain in candidates


def name_from_local_part(email: str) -> NameParts | None:
    """ "peter.keavey@..." -> Peter Keavey; only for the unambiguous first.last / first_last shapes."""
    local = email.split("@", 1)[0].lower()
    if re.search(r"[^a-z._\-]", local):
        return None  # digits and symbols: a generated or role address, not a name
    parts = [p for p in re.split(r"[._]", local) if p]
    if len(parts) != 2 or min(len(p) for p in parts) < 2:
        return None
    return NameParts(parts[0], parts[1], (parts[0], parts[1]))
