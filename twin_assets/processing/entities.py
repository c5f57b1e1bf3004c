"""Entity mentions: who and what each document names, before anything is merged.

Structured fields come first because they are reliable: e-mail From/To/Cc, calendar organizers and
attendees, contact cards (name, addresses, numbers, nicknames, UID, organisation), chat authors and
Slack mentions, bank payees (organisations), calendar locations (places), notes about people,
projects and organisations, and wikilinks/tags that name one of those. Names in free text are found
afterwards by :func:`text_mentions`, with a spaCy ``entity_ruler`` seeded from the entities the
structured fields produced (plus a statistical model's PERSON/ORG/GPE if one is installed; none is
required). Every mention keeps the document id, its tier and, for text, the offsets into the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from twin_assets.connectors.base import MAIL, NOTES
from twin_assets.connectors.registry import traits_for
from twin_assets.processing.names import fold, normalise_email, normalise_phone, parse_name
from twin_assets.processing.text import CleanText
from twin_assets.records import Document
from twin_assets.stores import LOW

PERSON = "person"
ORG = "organisation"
PLACE = "place"
PROJECT = "project"
NAMED = "named"  # a name that may be any kind (wikilink, tag, payee): linked only to a known entity

_PERSON_ROLES = frozenset(
    {"from", "to", "cc", "bcc", "reply_to", "sender", "attendee", "organizer", "author", "member", "mention", "contact"}
)
_ROLE_LOCAL = re.compile(
    r"(?:^|[._\-+])(?:no-?reply|do-?not-?reply|newsletter|news|info|bookings?|confirmations?|rechnung|invoices?|"
    r"billing|support|service|team|hello|hallo|admin|notifications?|alerts?|mailer-daemon|postmaster|bounces?|"
    r"praxis|office|contact|kontakt|sales|marketing|announcements?|announce|updates|digest|receipts?|orders?|"
    r"help|webmaster|list|lists|owner-[\w-]+)(?:$|[._\-+])",
    re.IGNORECASE,
)
_ORG_WORDS = frozenset(
    [
        "gmbh",
        "ag",
        "kg",
        "ug",
        "inc",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "srl",
        "spa",
        "vvag",
        "ev",
        "team",
        "group",
        "bank",
        "sparkasse",
        "air",
        "airlines",
        "airways",
        "hotel",
        "hotels",
        "praxis",
        "newsletter",
        "weekly",
        "monthly",
        "daily",
        "news",
        "university",
        "universitat",
        "school",
        "clinic",
        "hospital",
        "services",
        "solutions",
        "labs",
        "systems",
        "store",
        "shop",
        "market",
        "markt",
        "stadtwerke",
        "versicherung",
        "insurance",
    ]
)
_PERSON_PATH = re.compile(r"^(?:.*/)?(?:people|persons|person|contacts|personen|kontakte)/", re.IGNORECASE)
_PROJECT_PATH = re.compile(r"^(?:.*/)?(?:projects|project|projekte)/", re.IGNORECASE)
_ORG_PATH = re.compile(r"^(?:.*/)?(?:orgs|organisations|organizations|companies|firmen|clients)/", re.IGNORECASE)
_URLISH = re.compile(r"(?i)^(?:https?://|www\.)|\b(?:zoom\.us|meet\.google|teams\.microsoft|webex)\b")
_MEETING_PLACEHOLDER = re.compile(
    r"(?i)^(?:microsoft teams(?: meeting)?|zoom(?: meeting)?|google meet|skype|webex|online|virtual|remote|tbd|tba|"
    r"n/?a|-|(?:video|phone|conference|telephone) ?call|call|telefon|telefonat|videocall|videokonferenz)$"
)
# "From: Name [mailto:addr]" / "From: "Name" <addr>" lines inside quoted or forwarded blocks.
_QUOTED_FROM = re.compile(
    r"(?im)^[ \t>]*\*?(?:from|von|de|van)\s*:\*?[ \t]+\"?(?P<name>[^\"<\[\n@]{2,80}?)\"?[ \t]*"
    r"(?:\[mailto:(?P<a1>[^\]\s]+)\]|<(?P<a2>[^>\s]+@[^>\s]+)>)"
)


@dataclass
class Mention:
    """One appearance of someone or something in one document."""

    doc_id: str
    kind: str  # person, organisation, place, project, named
    role: str  # from, to, cc, attendee, organizer, contact, author, mention, merchant, location, wikilink, tag,
    #            text, signature, quoted_from, note
    name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()  # namespaced: "slack:U0123", "telegram:42"
    uids: tuple[str, ...] = ()  # contact-card UIDs
    nicknames: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # further names (note aliases, an org's long name)
    org: str | None = None  # the organisation a contact card names
    signs_for: str | None = None  # signature: the sender address whose message this name signs
    start: int | None = None  # offsets into Document.body when found in text
    end: int | None = None
    entity_hint: str | None = None  # text mentions: the entity id the matching pattern came from
    context: str = ""  # where it was seen, in our words: "contact card", "From header", "Slack profile"
    source: str = ""
    tier: str = LOW
    time: datetime | None = None
    thread_id: str | None = None

    @property
    def strong_keys(self) -> list[str]:
        keys = [f"email:{e}" for e in self.emails] + [f"phone:{p}" for p in self.phones]
        keys += [f"handle:{h}" for h in self.handles] + [f"uid:{u}" for u in self.uids]
        return keys


class _Seen(TypedDict):
    """Where every mention from one document was seen: the keyword arguments they all share."""

    doc_id: str
    source: str
    tier: str
    time: datetime | None
    thread_id: str | None


@dataclass
class ExtractOptions:
    default_country: str | None = None  # for national phone numbers, e.g. "49"


# ---- structured fields ---------------------------------------------------------------------------


def is_role_address(email: str) -> bool:
    """A mailbox of a function, not of a person (no-reply, newsletter, billing, support, perfmgmt ...)."""
    return bool(_ROLE_LOCAL.search(email.split("@", 1)[0]))


def _looks_like_org(name: str | None, email: str | None) -> bool:
    if email and is_role_address(email):
        return True
    if name:
        words = set(fold(name).split())
        if words & _ORG_WORDS:
            return True
    return False


def _list_address(attrs: dict[str, Any]) -> str | None:
    """The posting address a List-Id names ("<data-meetup.lists.example>" -> data-meetup@lists.example)."""
    list_id = attrs.get("list_id")
    if not isinstance(list_id, str):
        return None
    m = re.search(r"<([^>]+)>", list_id)
    if m:
        return m.group(1).strip().lower()
    value = list_id.strip().lower()
    return value if value and " " not in value else None


def _strs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def extract(doc: Document, norm: CleanText | None = None, options: ExtractOptions | None = None) -> list[Mention]:
    """Mentions from the structured fields of one document (and the sign-off name, when ``norm`` has one)."""
    opts = options or ExtractOptions()
    traits = traits_for(doc.source)
    meta = doc.meta or {}
    attrs = meta.get("attributes") or {}
    if attrs.get("system"):
        return []  # "You created group": nobody speaks
    base: _Seen = {
        "doc_id": doc.id,
        "source": doc.source,
        "tier": doc.tier,
        "time": doc.event_time,
        "thread_id": meta.get("thread_id"),
    }
    out: list[Mention] = []
    list_addr = _list_address(attrs)
    bulk = attrs.get("precedence") == "bulk" or bool(attrs.get("list_unsubscribe") and not list_addr)
    sender: str | None = None
    for party in meta.get("parties") or []:
        role = party.get("role") or ""
        name = (party.get("name") or "").strip() or None
        email = normalise_email(party.get("email"))
        phone = normalise_phone(party.get("phone"), opts.default_country)
        handle = party.get("handle")
        if role == "from" and email:
            sender = email
        if role == "merchant":
            if name:
                out.append(Mention(kind=NAMED, role="merchant", name=name, context="bank payee", **base))
            continue
        if role == "contact":
            out.extend(_contact(doc, party, attrs, opts, base))
            continue
        if email and list_addr and email.replace("@", ".") == list_addr:
            out.append(Mention(kind=ORG, role=role, name=name, emails=(email,), context="mailing list", **base))
            continue
        if not (name or email or phone or handle):
            continue
        handle_key = traits.handle_key(handle, has_address=bool(email))
        handles = (handle_key,) if handle_key else ()
        kind = PERSON
        if (role == "from" and bulk) or _looks_like_org(name, email):
            kind = ORG
        if role not in _PERSON_ROLES and kind == PERSON:
            role = role or "party"
        if name and handles and not email and " " not in name and name == name.lower():
            name = None  # "thomaseriksen" is the Slack display handle, the id already says who
        context = traits.party_context or doc.source
        out.append(
            Mention(
                kind=kind,
                role=role,
                name=name,
                emails=(email,) if email else (),
                phones=(phone,) if phone else (),
                handles=handles,
                context=context,
                **base,
            )
        )
    if traits.medium == NOTES or doc.kind == "note":
        out.extend(_note(doc, attrs, meta, opts, base))
    location = attrs.get("location")
    if (
        isinstance(location, str)
        and location.strip()
        and not _URLISH.search(location)
        and not _MEETING_PLACEHOLDER.match(location.strip())
    ):
        out.append(Mention(kind=PLACE, role="location", name=location.strip(), context="event location", **base))
    if norm is not None and norm.signer and (doc.kind == "message" or traits.medium == MAIL):
        s, e = norm.signer
        signer = doc.body[s:e].strip()
        if signer and sender:
            out.append(
                Mention(
                    kind=PERSON,
                    role="signature",
                    name=signer,
                    signs_for=sender,
                    start=s,
                    end=e,
                    context="sign-off",
                    **base,
                )
            )
    if norm is not None and doc.kind == "message":
        out.extend(_quoted_headers(doc, norm, base))
    return out


def _contact(doc: Document, party: dict, attrs: dict, opts: ExtractOptions, base: _Seen) -> list[Mention]:
    emails = [normalise_email(e) for e in [party.get("email"), *_strs(attrs.get("emails"))]]
    phones = [normalise_phone(p, opts.default_country) for p in [party.get("phone"), *_strs(attrs.get("phones"))]]
    uid = attrs.get("uid") or (doc.meta or {}).get("external_id")
    name = (party.get("name") or doc.title or "").strip() or None
    org = attrs.get("org") if isinstance(attrs.get("org"), str) else None
    person = parse_name(name) is not None and not (org and name and fold(name) == fold(org))
    out = [
        Mention(
            kind=PERSON if person else ORG,
            role="contact",
            name=name,
            emails=tuple(dict.fromkeys(e for e in emails if e)),
            phones=tuple(dict.fromkeys(p for p in phones if p)),
            uids=(str(uid),) if uid else (),
            nicknames=tuple(_strs(attrs.get("nicknames"))),
            org=org,
            context="contact card",
            **base,
        )
    ]
    if org and org.strip() and person:
        out.append(Mention(kind=ORG, role="employer", name=org.strip(), context="contact card organisation", **base))
    return out


def _note(doc: Document, attrs: dict, meta: dict, opts: ExtractOptions, base: _Seen) -> list[Mention]:
    out: list[Mention] = []
    path = str(attrs.get("path") or meta.get("external_id") or "")
    stem = path.rsplit("/", 1)[-1].removesuffix(".md").strip()
    title = (doc.title or stem).strip()
    aliases = tuple(a for a in _strs(attrs.get("aliases")) if a.strip())
    front_matter = attrs.get("front_matter")
    front: dict[str, Any] = front_matter if isinstance(front_matter, dict) else {}
    names = tuple(dict.fromkeys(n for n in (stem, *aliases) if n and n != title))
    if _PERSON_PATH.match(path):
        emails = [normalise_email(e) for e in _strs(front.get("email")) + _strs(front.get("emails"))]
        phones = [
            normalise_phone(p, opts.default_country) for p in _strs(front.get("phone")) + _strs(front.get("phones"))
        ]
        out.append(
            Mention(
                kind=PERSON,
                role="note",
                name=title,
                aliases=names,
                emails=tuple(e for e in emails if e),
                phones=tuple(p for p in phones if p),
                context="note about the person",
                **base,
            )
        )
    elif _PROJECT_PATH.match(path):
        out.append(Mention(kind=PROJECT, role="note", name=title, aliases=names, context="project note", **base))
    elif _ORG_PATH.match(path):
        out.append(Mention(kind=ORG, role="note", name=title, aliases=names, context="organisation note", **base))
    location = front.get("location")
    if isinstance(location, str) and location.strip() and not isinstance(attrs.get("location"), str):
        out.append(Mention(kind=PLACE, role="location", name=location.strip(), context="note location", **base))
    for link in meta.get("links") or []:
        if not isinstance(link, str) or not link.strip() or _URLISH.search(link) or "://" in link:
            continue
        if link.startswith("#"):
            out.append(Mention(kind=NAMED, role="tag", name=link[1:], context="note tag", **base))
        else:
            target = link.rsplit("/", 1)[-1].removesuffix(".md")
            out.append(Mention(kind=NAMED, role="wikilink", name=target, context="note link", **base))
    return out


def _quoted_headers(doc: Document, norm: CleanText, base: _Seen) -> list[Mention]:
    """Name and address pairs from the header lines of quoted and forwarded messages."""
    out = []
    body = doc.body or ""
    for span in norm.removed:
        if span.kind not in ("quote", "forward"):
            continue
        for m in _QUOTED_FROM.finditer(body, span.start, min(span.end, span.start + 200_000)):
            email = normalise_email(m.group("a1") or m.group("a2"))
            name = m.group("name").strip().strip("'\" ")
            if not email or not name or parse_name(name) is None:
                continue
            kind = ORG if _looks_like_org(name, email) else PERSON
            out.append(
                Mention(
                    kind=kind,
                    role="quoted_from",
                    name=name,
                    emails=(email,),
                    start=m.start("name"),
                    end=m.start("name") + len(m.group("name").rstrip()),
                    context="quoted message header",
                    **base,
                )
            )
    return out


def extract_all(
    docs: Sequence[Document], norms: dict[str, CleanText] | None = None, options: ExtractOptions | None = None
) -> list[Mention]:
    norms = norms or {}
    out: list[Mention] = []
    for doc in docs:
        out.extend(extract(doc, norms.get(doc.id), options))
    return out


# ---- free text -----------------------------------------------------------------------------------


@dataclass
class Pattern:
    """A surface form of a known entity, for the entity ruler."""

    text: str
    label: str  # PERSON, ORG, GPE, PROJECT
    entity_id: str
    case_sensitive: bool = False


_WORD_RUN = re.compile(r"\w+")
_LABEL_KIND = {"PERSON": PERSON, "ORG": ORG, "GPE": PLACE, "LOC": PLACE, "FAC": PLACE, "PROJECT": PROJECT}


@dataclass
class TextExtractor:
    """Known entities' names found in text: spaCy's tokenizer and two phrase matchers (case-insensitive and
    case-sensitive forms), built once from the known entities' names.

    The matches are resolved as spaCy's ``entity_ruler`` (``overwrite_ents``) resolves them: longest first, then
    earliest, no overlaps. The ruler's token patterns ran every pattern at every token, which grew with the
    number of entities (a million records of 400 people: hours); phrase matchers look tokens up by hash. When a
    statistical spaCy model happens to be installed, its NER runs after the ruler as before.
    """

    patterns: list[Pattern]
    max_chars: int = 20_000
    _nlp: Any = field(default=None, init=False, repr=False)
    _matchers: list[Any] = field(default_factory=list, init=False, repr=False)
    _keys: dict[int, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)
    # Lowercased word runs of each pattern's first token; None when some pattern has none (then every text runs).
    _first_words: frozenset[str] | None = field(default=None, init=False, repr=False)
    statistical: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        from twin_assets.optional_imports import without_optional_ml

        nlp = None
        with without_optional_ml():
            import spacy

            try:  # a statistical model is used when one happens to be installed; none is needed
                nlp = spacy.load("en_core_web_sm", exclude=["lemmatizer", "parser", "tagger"])
                self.statistical = True
            except (OSError, ImportError, ValueError):
                nlp = spacy.blank("en")
        self._nlp = nlp
        if self.statistical:
            self._add_ruler(nlp)
            return
        from spacy.matcher import PhraseMatcher

        by_attr = {"ORTH": PhraseMatcher(nlp.vocab, attr="ORTH"), "LOWER": PhraseMatcher(nlp.vocab, attr="LOWER")}
        first_words: set[str] | None = set()
        for p in self.patterns:
            pattern = nlp.make_doc(p.text)
            if not len(pattern):
                continue
            key = f"{p.label}||{p.entity_id}"
            by_attr["ORTH" if p.case_sensitive else "LOWER"].add(key, [pattern])
            self._keys[nlp.vocab.strings[key]] = (p.label, p.entity_id)
            runs = _WORD_RUN.findall(pattern[0].text.lower())
            if first_words is not None and runs:
                first_words.add(max(runs, key=len))
            else:
                first_words = None
        self._matchers = [m for m in by_attr.values() if len(m)]
        self._first_words = frozenset(first_words) if first_words is not None else None

    def could_match(self, text: str) -> bool:
        """False when no pattern can match ``text``: its first token's longest word run is not a word of the
        text. spaCy's tokenizer (most of the cost) then never sees the text; most chat lines name nobody."""
        if self._first_words is None:
            return True
        return not self._first_words.isdisjoint(_WORD_RUN.findall(text.lower()))

    def _add_ruler(self, nlp: Any) -> None:
        ruler_args = {"overwrite_ents": True, "phrase_matcher_attr": None}
        before = {"before": "ner"} if "ner" in nlp.pipe_names else {}
        ruler = nlp.add_pipe("entity_ruler", config=ruler_args, **before)
        specs = []
        for p in self.patterns:
            words = [t.text for t in nlp.make_doc(p.text)]
            if not words:
                continue
            attr = "ORTH" if p.case_sensitive else "LOWER"
            specs.append(
                {
                    "label": p.label,
                    "id": p.entity_id,
                    "pattern": [{attr: w if p.case_sensitive else w.lower()} for w in words],
                }
            )
        ruler.add_patterns(specs)

    def _spans(self, doc: Any) -> Iterator[tuple[str, str | None, str, int, int]]:
        """(label, entity id or None, text, start char, end char) of each name found, in text order."""
        if self.statistical:
            for ent in doc.ents:
                yield ent.label_, ent.ent_id_ or None, ent.text, ent.start_char, ent.end_char
            return
        found = {(m, s, e) for matcher in self._matchers for m, s, e in matcher(doc) if s != e}
        seen: set[int] = set()
        kept = []
        for m, s, e in sorted(found, key=lambda x: (x[2] - x[1], -x[1], x[0]), reverse=True):
            if s not in seen and e - 1 not in seen:  # the entity_ruler's rule, longest match first
                kept.append((s, e, m))
                seen.update(range(s, e))
        for s, e, m in sorted(kept):
            label, entity_id = self._keys[m]
            span = doc[s:e]
            yield label, entity_id, span.text, span.start_char, span.end_char

    def mentions(self, docs: Iterable[tuple[Document, CleanText | None]]) -> list[Mention]:
        """Name mentions in each document's own text (quotes and signatures skipped), with body offsets."""
        jobs: list[tuple[Document, int, str]] = []
        for doc, norm in docs:
            body = doc.body or ""
            ranges = norm.kept() if norm is not None else [(0, len(body))]
            budget = self.max_chars
            for s, e in ranges:
                if budget <= 0:
                    break
                piece = body[s : min(e, s + budget)]
                budget -= len(piece)
                if piece.strip() and self.could_match(piece):
                    jobs.append((doc, s, piece))
            if doc.title and doc.title.strip() and self.could_match(doc.title[:500]):
                jobs.append((doc, -1, doc.title[:500]))
        out: list[Mention] = []
        for (doc, offset, _text), parsed in zip(jobs, self._nlp.pipe(t for _d, _o, t in jobs), strict=True):
            for label, hint, text, start, end in self._spans(parsed):
                kind = _LABEL_KIND.get(label)
                if kind is None:
                    continue
                in_title = offset < 0
                out.append(
                    Mention(
                        doc_id=doc.id,
                        kind=kind,
                        role="title" if in_title else "text",
                        name=text,
                        start=None if in_title else offset + start,
                        end=None if in_title else offset + end,
                        entity_hint=hint,
                        context="named in the title" if in_title else "named in the text",
                        source=doc.source,
                        tier=doc.tier,
                        time=doc.event_time,
                        thread_id=(doc.meta or {}).get("thread_id"),
                    )
                )
        return out


def text_mentions(docs: Iterable[tuple[Document, CleanText | None]], patterns: list[Pattern]) -> list[Mention]:
    return TextExtractor(patterns).mentions(docs)
