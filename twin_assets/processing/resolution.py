"""Entity resolution: many mentions, one entity per real person, organisation, place or project.

1. **Strong keys** are merged with union-find: a normalised e-mail address, a phone number, a
   contact-card UID, a chat user id whose profile names an address (Slack ``users.json``). Any two
   keys seen on one mention (a contact card with two addresses and a number, a Slack author with
   id and address) belong to one entity.
2. **Names are weak keys.** Two clusters with compatible full names (same surname; same given
   name, or a nickname of it: Bob/Robert, or one learned from a contact card's NICKNAME) merge only
   with corroboration: a shared organisation domain, a local part that spells the name
   (``thomaseriksen@``), or the two addresses appearing in one message or thread. Never on a
   shared first name alone (two Annas stay two), never on a shared surname alone, never across two
   different contact cards or two different chat ids.
3. **Name-only mentions** (a WhatsApp author, a wikilink, a payee, a sign-off) join an entity
   only when exactly one entity fits; otherwise they stay a name-only entity of their own.
4. Names in free text are found with the entity ruler seeded from the result (entities.py).

Every entity carries ``merges``: which alias joined, why, and on which documents — so a wrong
merge can be explained and undone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from twin_assets.connectors.registry import traits_for
from twin_assets.processing.entities import (
    NAMED,
    ORG,
    PERSON,
    PLACE,
    PROJECT,
    ExtractOptions,
    Mention,
    Pattern,
    extract_all,
    text_mentions,
)
from twin_assets.processing.names import (
    NameEquivalence,
    NameParts,
    email_domain,
    fold,
    is_public_domain,
    local_part_matches,
    name_from_local_part,
    parse_name,
)
from twin_assets.processing.text import CleanText, normalise
from twin_assets.records import Document
from twin_assets.tiers import Tier

_KEY_LABEL = {
    "email": "e-mail address",
    "phone": "phone number",
    "uid": "contact-card UID",
    "handle": "chat user id",
    "name": "name",
    "org": "organisation name",
    "place": "place",
    "project": "project name",
}
_LEGAL = re.compile(
    r"\b(?:gmbh|ag|kg|ug|inc|llc|ltd|limited|corp|corporation|co|plc|sa|sas|sarl|bv|nv|srl|spa|"
    r"vvag|ev|the|und|and|company)\b"
)
# First names that are also everyday words: matched in text only with the surname.
_WORDY_NAMES = frozenset(
    [
        "will",
        "may",
        "mark",
        "bill",
        "rose",
        "june",
        "april",
        "august",
        "grace",
        "hope",
        "joy",
        "faith",
        "max",
        "pat",
        "art",
        "dawn",
        "sky",
        "rich",
        "frank",
        "jack",
        "ray",
        "sue",
        "guy",
        "bob",
        "rob",
        "ben",
        "tom",
        "sam",
        "dan",
        "don",
        "ken",
        "chris",
        "lee",
        "long",
        "new",
        "page",
        "rock",
        "sunny",
        "summer",
        "winter",
    ]
)
# Family roles people sign with and save contacts under ("Kuss, Mama").
_KINSHIP = frozenset(
    [
        "mama",
        "mum",
        "mom",
        "mommy",
        "mami",
        "mutti",
        "papa",
        "dad",
        "daddy",
        "papi",
        "vati",
        "oma",
        "opa",
        "grandma",
        "grandpa",
        "granny",
        "nana",
        "nonna",
        "nonno",
        "abuela",
        "abuelo",
        "mamie",
        "papy",
        "maman",
        "tante",
        "onkel",
        "auntie",
        "uncle",
    ]
)


@dataclass
class Merge:
    """Why an alias belongs to an entity."""

    alias: str
    reason: str
    evidence: list[str]


@dataclass
class Entity:
    id: str
    kind: str  # person, organisation, place, project
    name: str
    aliases: dict[str, list[str]]  # names, emails, phones, handles, uids
    confidence: float
    merges: list[Merge]
    tier: str
    evidence: list[str]
    is_self: bool = False

    @property
    def all_aliases(self) -> list[str]:
        return [a for values in self.aliases.values() for a in values]


@dataclass(slots=True)
class EntityMention:
    doc_id: str
    entity_id: str
    role: str
    start: int | None
    end: int | None
    confidence: float
    tier: str


@dataclass
class Resolution:
    entities: list[Entity]
    mentions: list[EntityMention]
    self_id: str | None
    key_index: dict[str, str] = field(default_factory=dict)  # strong key / name key -> entity id

    def get(self, entity_id: str) -> Entity | None:
        return self._by_id().get(entity_id)

    def _by_id(self) -> dict[str, Entity]:
        cached = getattr(self, "_cache", None)
        if cached is None or len(cached) != len(self.entities):
            cached = {e.id: e for e in self.entities}
            self._cache = cached
        return cached

    def of_kind(self, kind: str) -> list[Entity]:
        return [e for e in self.entities if e.kind == kind]

    def lookup(self, key: str) -> Entity | None:
        """By strong key ("email:a@b.example", "phone:+49...") or name key ("name:anna eriksen")."""
        entity_id = self.key_index.get(key)
        return self.get(entity_id) if entity_id else None

    def mentions_of(self, entity_id: str) -> list[EntityMention]:
        return [m for m in self.mentions if m.entity_id == entity_id]


@dataclass
class ResolveOptions:
    default_country: str | None = None  # digits, for national phone numbers ("49")
    secret: bytes | None = None  # keys the entity-id hash so ids do not reveal guessable addresses
    text: bool = True  # run the entity ruler over the texts
    max_merges: int = 60


# ---- union-find ----------------------------------------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, key: str) -> None:
        self.parent.setdefault(key, key)

    def find(self, key: str) -> str:
        self.add(key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True


@dataclass
class _Cluster:
    keys: set[str] = field(default_factory=set)
    names: Counter = field(default_factory=Counter)  # original-case names with weights
    card_names: Counter = field(default_factory=Counter)  # FN / note titles: the person's own label
    sign_names: Counter = field(default_factory=Counter)
    nicknames: set[str] = field(default_factory=set)
    kinds: Counter = field(default_factory=Counter)
    docs: set[str] = field(default_factory=set)
    threads: set[str] = field(default_factory=set)
    tiers: set[str] = field(default_factory=set)
    merges: list[Merge] = field(default_factory=list)
    confidence: float = 1.0
    party_docs: set[str] = field(default_factory=set)  # messages where this cluster is a sender/recipient


def _display(key: str) -> str:
    return key.split(":", 1)[1] if ":" in key else key


def _org_key(name: str) -> str:
    return re.sub(r"\s+", " ", _LEGAL.sub(" ", fold(name))).strip() or fold(name)


def _name_key(name: str) -> str | None:
    parts = parse_name(name)
    return f"name:{parts.full}" if parts else None


class _Resolver:
    def __init__(self, docs: Sequence[Document], opts: ResolveOptions) -> None:
        self.docs = {d.id: d for d in docs}
        self.opts = opts
        self.uf = _UnionFind()
        self.eq = NameEquivalence()
        self.mentions: list[Mention] = []
        self.mention_key: list[str | None] = []  # the node each mention landed on
        self.mention_keys: list[list[str]] = []
        self.mention_conf: list[float] = []
        self.key_docs: dict[str, set[str]] = defaultdict(set)
        self.events: list[tuple[str, str, str]] = []  # (alias key, anchor key, reason) for joins
        self.kind_of_key: dict[str, Counter] = defaultdict(Counter)
        self.clusters: dict[str, _Cluster] = {}

    # -- phase 1: strong keys --------------------------------------------------------------------
    def add_strong(self, mentions: Iterable[Mention]) -> None:
        for m in mentions:
            keys = m.strong_keys
            if m.kind in (PLACE, PROJECT, ORG) and m.name:
                named = [self._kind_key(m.kind, m.name)] + [self._kind_key(m.kind, a) for a in m.aliases]
                keys = keys + [k for k in named if k and k not in keys]
            self.mentions.append(m)
            self.mention_conf.append(1.0)
            self.mention_keys.append(keys)
            if not keys:
                self.mention_key.append(None)
                continue
            self.mention_key.append(keys[0])
            for key in keys:
                self.uf.add(key)
                self.key_docs[key].add(m.doc_id)
                self.kind_of_key[key][m.kind] += 1
            for other in keys[1:]:
                if self.uf.union(keys[0], other):
                    self.events.append((other, keys[0], self._pair_reason(keys[0], other, m)))

    @staticmethod
    def _kind_key(kind: str, name: str) -> str:
        if kind == ORG:
            return f"org:{_org_key(name)}" if _org_key(name) else ""
        prefix = {PLACE: "place", PROJECT: "project"}.get(kind, "name")
        return f"{prefix}:{fold(name)}" if fold(name) else ""

    @staticmethod
    def _pair_reason(a: str, b: str, m: Mention) -> str:
        la, lb = _KEY_LABEL.get(a.split(":", 1)[0], "key"), _KEY_LABEL.get(b.split(":", 1)[0], "key")
        return f"{la} and {lb} together on one {m.context}"

    def build_clusters(self) -> None:
        self.clusters = {}
        for i, m in enumerate(self.mentions):
            key = self.mention_key[i]
            if key is None:
                continue
            root = self.uf.find(key)
            cl = self.clusters.setdefault(root, _Cluster())
            cl.keys.update(self.mention_keys[i])
            cl.kinds[m.kind] += 1
            cl.docs.add(m.doc_id)
            cl.tiers.add(m.tier)
            if m.thread_id:
                cl.threads.add(f"{m.source}:{m.thread_id}")
            if (
                m.role in ("from", "to", "cc", "bcc", "attendee", "organizer", "author")
                and traits_for(m.source).correspondence
            ):
                cl.party_docs.add(m.doc_id)
            if m.name:
                weight = 3 if m.role in ("contact", "note") else 1
                if m.role in ("contact", "note"):
                    cl.card_names[m.name] += 1
                cl.names[m.name] += weight
                for alias in m.aliases:
                    cl.names[alias] += 1
            for nick in m.nicknames:
                cl.nicknames.add(nick)

    def learn_nicknames(self) -> None:
        for m in self.mentions:
            parts = parse_name(m.name) if m.kind == PERSON and m.role in ("contact", "note") else None
            if not parts:
                continue
            for nick in (*m.nicknames, *m.aliases):
                alias = parse_name(nick)
                if alias is None:
                    continue
                if alias.last is None or (parts.last and alias.last == parts.last):
                    self.eq.learn(parts.first, alias.first)

    # -- phase 2: name merges between clusters -----------------------------------------------------
    def person_roots(self) -> list[str]:
        return sorted(r for r, c in self.clusters.items() if self._kind(c) == PERSON)

    @staticmethod
    def _kind(cl: _Cluster) -> str:
        if not cl.kinds:
            return PERSON
        if cl.kinds.get(PERSON, 0) and cl.kinds.get(PERSON, 0) >= cl.kinds.get(ORG, 0):
            return PERSON
        best = cl.kinds.most_common(1)[0][0]
        return PERSON if best == NAMED else best

    def _full_names(self, cl: _Cluster, *, derived: bool = False) -> set[NameParts]:
        out = set()
        for name in list(cl.names) + list(cl.sign_names):
            parts = parse_name(name)
            if parts and parts.is_full and len(parts.first) > 1:
                out.add(parts)
        if derived:
            for key in cl.keys:
                if key.startswith("email:"):
                    parts = name_from_local_part(_display(key))
                    if parts:
                        out.add(parts)
        return out

    @staticmethod
    def _emails(cl: _Cluster) -> set[str]:
        return {_display(k) for k in cl.keys if k.startswith("email:")}

    @staticmethod
    def _ids(cl: _Cluster, prefix: str) -> set[str]:
        return {k for k in cl.keys if k.startswith(prefix)}

    def _conflict(self, a: _Cluster, b: _Cluster) -> bool:
        # Two different contact cards, or two different user ids in one chat system, are two people.
        namespaces = {":".join(k.split(":", 2)[:2]) + ":" for k in a.keys if k.startswith("handle:")}
        for prefix in ("uid:", *sorted(namespaces)):
            ia, ib = self._ids(a, prefix), self._ids(b, prefix)
            if ia and ib and not ia & ib:
                return True
        return False

    def merge_names(self) -> None:
        roots = self.person_roots()
        blocks: dict[str, list[str]] = defaultdict(list)
        names = {r: self._full_names(self.clusters[r], derived=True) for r in roots}
        for r in roots:
            for parts in {p.last for p in names[r] if p.last}:
                blocks[parts].append(r)
        for last in sorted(blocks):
            members = sorted(set(blocks[last]))
            for i, ra in enumerate(members):
                for rb in members[i + 1 :]:
                    a_root, b_root = self.uf.find(ra), self.uf.find(rb)
                    if a_root == b_root:
                        continue
                    verdict = self._name_verdict(self.clusters[a_root], self.clusters[b_root], last)
                    if verdict is None:
                        continue
                    reason, conf, alias = verdict
                    self._join(a_root, b_root, reason, conf, alias)

    def _name_verdict(self, a: _Cluster, b: _Cluster, last: str) -> tuple[str, float, str] | None:
        if self._conflict(a, b):
            return None
        names_a = [p for p in self._full_names(a) if p.last == last]
        names_b = [p for p in self._full_names(b) if p.last == last]
        derived_a = [p for p in self._full_names(a, derived=True) if p.last == last]
        derived_b = [p for p in self._full_names(b, derived=True) if p.last == last]
        emails_a, emails_b = self._emails(a), self._emails(b)
        dom_a = {email_domain(e) for e in emails_a if not is_public_domain(email_domain(e))}
        dom_b = {email_domain(e) for e in emails_b if not is_public_domain(email_domain(e))}
        same_domain = sorted(dom_a & dom_b)
        cooccur = bool((a.docs & b.docs) - self._bulk_docs(a.docs & b.docs)) or bool(a.threads & b.threads)
        best: tuple[str, float, str] | None = None
        for pa in derived_a:
            for pb in derived_b:
                if not self.eq.compatible(pa.first, pb.first):
                    continue
                exact = pa.first == pb.first
                observed = pa in names_a and pb in names_b  # both seen as written names, not only addresses
                seen = pa in names_a or pb in names_b
                spelled_a = any(local_part_matches(e, pa) for e in emails_a)
                spelled_b = any(local_part_matches(e, pb) for e in emails_b)
                label = f"{pa.first} {pa.last}" if exact else f"{pa.first} {pa.last} / {pb.first} {pb.last}"
                verdict: tuple[str, float, str] | None = None
                if same_domain and (seen or exact):
                    verdict = (
                        f"{'same' if exact else 'nickname-compatible'} name '{label}' at the same "
                        f"organisation domain {same_domain[0]}",
                        0.9 if exact else 0.85,
                        label,
                    )
                elif cooccur and observed:
                    verdict = (
                        f"{'same' if exact else 'nickname-compatible'} name '{label}' and both addresses "
                        "in one conversation",
                        0.85 if exact else 0.8,
                        label,
                    )
                elif observed and exact and (spelled_a or spelled_b):
                    verdict = (f"same name '{label}' and the e-mail address spells it", 0.85, label)
                elif observed and not exact and spelled_a and spelled_b:
                    verdict = (f"nickname-compatible name '{label}' and both e-mail addresses spell it", 0.75, label)
                if verdict and (best is None or verdict[1] > best[1]):
                    best = verdict
        return best

    def _bulk_docs(self, doc_ids: set[str]) -> set[str]:
        """Messages to many people (announcements, big Cc lists) say nothing about two addresses being one."""
        out = set()
        for doc_id in doc_ids:
            doc = self.docs.get(doc_id)
            if doc is not None and len((doc.meta or {}).get("parties") or []) > 6:
                out.add(doc_id)
        return out

    def _join(self, a_root: str, b_root: str, reason: str, conf: float, alias: str) -> None:
        a, b = self.clusters[a_root], self.clusters[b_root]
        self.uf.union(a_root, b_root)
        root = self.uf.find(a_root)
        keep, gone = (a, b) if root == a_root else (b, a)
        evidence = sorted(gone.docs)[:5] + sorted(keep.docs)[:5]
        keep.merges.append(Merge(alias=alias, reason=reason, evidence=evidence))
        keep.merges.extend(gone.merges)
        keep.keys |= gone.keys
        keep.names.update(gone.names)
        keep.card_names.update(gone.card_names)
        keep.sign_names.update(gone.sign_names)
        keep.nicknames |= gone.nicknames
        keep.kinds.update(gone.kinds)
        keep.docs |= gone.docs
        keep.threads |= gone.threads
        keep.tiers |= gone.tiers
        keep.party_docs |= gone.party_docs
        keep.confidence = min(keep.confidence, gone.confidence, conf)
        self.clusters[root] = keep
        self.clusters.pop(b_root if root == a_root else a_root, None)

    # -- phase 3: name-only mentions ---------------------------------------------------------------
    def add_signatures(self) -> None:
        """Sign-off names become aliases of the sender when they fit its name, are a family role ("Mama"),
        or recur; a one-off name that fits nothing is more likely a forwarded or quoted signature."""
        seen: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, m in enumerate(self.mentions):
            if m.role == "signature" and m.signs_for and m.name and f"email:{m.signs_for}" in self.uf.parent:
                seen[(self.uf.find(f"email:{m.signs_for}"), m.name)].append(i)
        for (root, name), indexes in sorted(seen.items()):
            cl = self.clusters.get(root)
            parts = parse_name(name)
            if cl is None or parts is None or self._kind(cl) != PERSON:
                continue
            known = self._full_names(cl, derived=True)
            if parts.last is not None:
                fits = any(p.last == parts.last and self.eq.compatible(p.first, parts.first) for p in known)
            else:
                fits = any(self.eq.compatible(p.first, parts.first) for p in known) or any(
                    fold(n) == parts.first for n in cl.names
                )
                fits = fits or parts.first in _KINSHIP or (len(indexes) >= 2 and not known)
            if not fits:
                continue
            cl.sign_names[name] += len(indexes)
            for i in indexes:
                m = self.mentions[i]
                cl.docs.add(m.doc_id)
                cl.tiers.add(m.tier)
                self.mention_key[i] = f"email:{m.signs_for}"
                self.mention_conf[i] = 0.9

    def _indexes(self) -> tuple[dict, dict, dict, dict]:
        exact: dict[str, set[str]] = defaultdict(set)  # "anna eriksen" -> roots; also orgs/places/projects
        explicit: dict[str, set[str]] = defaultdict(set)  # "katja" -> roots that were called that
        compat: dict[tuple[str, str], set[str]] = defaultdict(set)  # (first form, last) -> roots
        firsts: dict[str, set[str]] = defaultdict(set)  # first form -> roots
        for root, cl in self.clusters.items():
            kind = self._kind(cl)
            if kind != PERSON:
                for key in cl.keys:
                    if key.split(":", 1)[0] in ("org", "place", "project"):
                        exact[_display(key)].add(root)
                for name in cl.names:
                    exact[fold(name)].add(root)
                    if kind == ORG:
                        exact[_org_key(name)].add(root)
                continue
            for name in list(cl.names) + list(cl.sign_names) + list(cl.nicknames):
                parts = parse_name(name)
                if parts is None:
                    continue
                if parts.is_full:
                    exact[parts.full].add(root)
                    for form in self.eq.forms(parts.first):
                        compat[(form, parts.last or "")].add(root)
                        firsts[form].add(root)
                    explicit[parts.first].add(root)
                elif parts.last is None:
                    explicit[parts.first].add(root)
            for nick in cl.nicknames:
                explicit[fold(nick)].add(root)
        return exact, explicit, compat, firsts

    def attach_names(self) -> None:
        exact, explicit, compat, firsts = self._indexes()
        for i, m in enumerate(self.mentions):
            if self.mention_key[i] is not None or not m.name:
                continue
            if m.kind not in (PERSON, NAMED) or m.role == "signature":
                continue  # a sign-off that did not fit its sender is someone else's, quoted or forwarded
            root, conf, reason = self._match_name(m, exact, explicit, compat, firsts)
            if root is not None:
                root = self.uf.find(root)
                cl = self.clusters[root]
                cl.docs.add(m.doc_id)
                cl.tiers.add(m.tier)
                if m.role not in ("wikilink", "tag", "merchant"):
                    cl.names[m.name] += 1
                if m.role in ("from", "author") and traits_for(m.source).correspondence:
                    cl.party_docs.add(m.doc_id)
                if reason and not any(mg.alias == m.name for mg in cl.merges):
                    cl.merges.append(Merge(alias=m.name, reason=reason, evidence=[m.doc_id]))
                self.mention_key[i] = root
                self.mention_conf[i] = conf
                continue
            if m.role in ("wikilink", "tag"):
                continue  # links and tags count only when they name a known entity
            if m.kind == NAMED:  # an unknown payee is an organisation (shops, landlords, employers)
                key = f"org:{_org_key(m.name)}"
                kind = ORG
            else:
                parts = parse_name(m.name)
                if parts is None:
                    continue
                key = f"name:{parts.full}"
                kind = PERSON
            self.uf.add(key)
            root = self.uf.find(key)
            cl = self.clusters.setdefault(root, _Cluster(confidence=0.6 if kind == ORG else 0.5))
            cl.keys.add(key)
            cl.kinds[kind] += 1
            cl.names[m.name] += 1
            cl.docs.add(m.doc_id)
            cl.tiers.add(m.tier)
            if m.role in ("from", "author") and traits_for(m.source).correspondence:
                cl.party_docs.add(m.doc_id)
            self.mention_key[i] = key
            self.mention_conf[i] = 0.5

    def _match_name(
        self, m: Mention, exact: dict, explicit: dict, compat: dict, firsts: dict
    ) -> tuple[str | None, float, str]:
        assert m.name is not None
        where = m.context or m.role
        folded = fold(m.name)
        if m.kind == NAMED:
            hits = exact.get(folded, set()) | exact.get(_org_key(m.name), set())
            if len(hits) == 1:
                return next(iter(hits)), 0.9, f"{where} '{m.name}' is the known name of this entity"
            if m.role == "merchant" and not hits:
                # Banks append branch, city or booking details: "SKYWAY AIR BCN" is SkyWay Air.
                words = _org_key(m.name).split()
                for n in range(len(words) - 1, 0, -1):
                    prefix = " ".join(words[:n])
                    if len(prefix) < 5:
                        break
                    hits = {r for r in exact.get(prefix, set()) if self._kind(self.clusters[r]) == ORG}
                    if len(hits) == 1:
                        return next(iter(hits)), 0.75, f"{where} '{m.name}' starts with this organisation's name"
            if m.role in ("wikilink", "tag", "merchant"):
                # A payee or link that spells a person's full name is that person ("Julian Brandt").
                parts = parse_name(m.name)
                if parts is None or not parts.is_full or m.role == "tag":
                    return None, 0.0, ""
            else:
                return None, 0.0, ""
        parts = parse_name(m.name)
        if parts is None:
            return None, 0.0, ""
        if parts.is_full:
            hits = exact.get(parts.full, set())
            if len(hits) == 1:
                return next(iter(hits)), 0.9, f"{where} '{m.name}' is exactly this person's name"
            if not hits:
                hits = set()
                for form in self.eq.forms(parts.first):
                    hits |= compat.get((form, parts.last or ""), set())
                if len(hits) == 1:
                    return next(iter(hits)), 0.8, f"{where} '{m.name}': same surname, nickname of the given name"
            return None, 0.0, ""
        if m.role not in ("from", "author", "signature", "wikilink"):
            return None, 0.0, ""  # a bare first name in a header or text is too little
        if parts.last_is_initial:
            hits = set()
            for form in self.eq.forms(parts.first):
                for (first, last), roots in compat.items():
                    if first == form and last.startswith(parts.last or "~"):
                        hits |= roots
            if len(hits) == 1:
                return next(iter(hits)), 0.7, f"{where} '{m.name}': the only person with that name and initial"
            return None, 0.0, ""
        token = parts.first
        hits = explicit.get(token, set())
        if len(hits) == 1:
            return next(iter(hits)), 0.7, f"{where} '{m.name}': the only person known by that name"
        if not hits:
            hits = set()
            for form in self.eq.forms(token):
                hits |= firsts.get(form, set())
            if len(hits) == 1:
                return next(iter(hits)), 0.6, f"{where} '{m.name}': the only person whose name it can stand for"
        return None, 0.0, ""

    # -- output ------------------------------------------------------------------------------------
    def entity_id(self, kind: str, cl: _Cluster) -> str:
        strong = sorted(k for k in cl.keys if k.split(":", 1)[0] in ("email", "phone", "uid", "handle"))
        anchor = strong[0] if strong else sorted(cl.keys)[0]
        data = f"{kind}|{anchor}".encode()
        digest = (
            hmac.new(self.opts.secret, data, hashlib.sha256).hexdigest()
            if self.opts.secret
            else hashlib.sha256(data).hexdigest()
        )
        return f"{kind[:3]}_{digest[:20]}"

    def canonical_name(self, kind: str, cl: _Cluster) -> str:
        if cl.card_names:
            return cl.card_names.most_common(1)[0][0]
        candidates = []
        for name, n in (cl.sign_names + cl.names).items():
            parts = parse_name(name) if kind == PERSON else None
            nice = 2 if (parts and parts.is_full and "," not in name and name != name.lower()) else 0
            if kind != PERSON and name != name.upper():
                nice = 2
            candidates.append((nice, n, len(name), name))
        if candidates:
            return max(candidates)[3]
        for key in sorted(cl.keys):
            derived = name_from_local_part(_display(key)) if key.startswith("email:") else None
            if derived and derived.last:
                return f"{derived.first.title()} {derived.last.title()}"
        keys = sorted(cl.keys)
        return _display(keys[0]) if keys else ""

    def entities(self) -> tuple[list[Entity], dict[str, str]]:
        out: list[Entity] = []
        root_to_id: dict[str, str] = {}
        for root in sorted(self.clusters):
            cl = self.clusters[root]
            kind = self._kind(cl)
            eid = self.entity_id(kind, cl)
            root_to_id[root] = eid
            names = sorted({*cl.names, *cl.sign_names, *cl.nicknames}, key=lambda n: (-cl.names.get(n, 0), n))
            aliases = {
                "names": names,
                "emails": sorted(_display(k) for k in cl.keys if k.startswith("email:")),
                "phones": sorted(_display(k) for k in cl.keys if k.startswith("phone:")),
                "handles": sorted(_display(k) for k in cl.keys if k.startswith("handle:")),
                "uids": sorted(_display(k) for k in cl.keys if k.startswith("uid:")),
            }
            merges = [
                Merge(
                    _display(alias),
                    reason,
                    sorted(self.key_docs.get(alias, set()) & self.key_docs.get(anchor, set()))[:5],
                )
                for alias, anchor, reason in self.events
                if self.uf.find(alias) == root
            ]
            merges += cl.merges
            canonical = self.canonical_name(kind, cl)
            has_strong = any(k.split(":", 1)[0] in ("email", "phone", "uid", "handle") for k in cl.keys)
            for name in names:
                if name != canonical and has_strong and not any(mg.alias == name for mg in merges):
                    merges.append(Merge(name, "named so on a message or card carrying the same address or id", []))
            out.append(
                Entity(
                    id=eid,
                    kind=kind,
                    name=canonical,
                    aliases=aliases,
                    confidence=round(cl.confidence if has_strong or kind != PERSON else min(cl.confidence, 0.6), 3),
                    merges=merges[: self.opts.max_merges],
                    tier=Tier.max_of(*cl.tiers),
                    evidence=sorted(cl.docs),
                )
            )
        return out, root_to_id


def resolve(
    docs: Sequence[Document], norms: dict[str, CleanText] | None = None, options: ResolveOptions | None = None
) -> Resolution:
    """Entities and their mentions for a set of documents."""
    opts = options or ResolveOptions()
    norms = norms if norms is not None else {d.id: normalise(d) for d in docs}
    mentions = extract_all(docs, norms, ExtractOptions(default_country=opts.default_country))
    r = _Resolver(docs, opts)
    r.add_strong(mentions)
    r.build_clusters()
    r.learn_nicknames()
    r.add_signatures()
    r.merge_names()
    r.attach_names()
    entities, root_to_id = r.entities()
    by_id = {e.id: e for e in entities}
    key_index = {key: root_to_id[r.uf.find(key)] for key in r.uf.parent if r.uf.find(key) in root_to_id}
    links: list[EntityMention] = []
    for i, m in enumerate(r.mentions):
        key = r.mention_key[i]
        if key is None:
            continue
        eid = root_to_id.get(r.uf.find(key))
        if eid:
            links.append(EntityMention(m.doc_id, eid, m.role, m.start, m.end, r.mention_conf[i], m.tier))
    self_id = _owner(r, root_to_id)
    if self_id and self_id in by_id:
        by_id[self_id].is_self = True
    if opts.text:
        links += _text_links(docs, norms, entities, by_id)
    return Resolution(entities=entities, mentions=links, self_id=self_id, key_index=key_index)


def _owner(r: _Resolver, root_to_id: dict[str, str]) -> str | None:
    """The person in the most conversations: whoever's export this is."""
    best = max(((len(cl.party_docs), root) for root, cl in r.clusters.items() if r._kind(cl) == PERSON), default=None)
    if not best or best[0] == 0:
        return None
    return root_to_id.get(best[1])


def patterns_for(entities: Iterable[Entity]) -> list[Pattern]:
    """Surface forms for the entity ruler: full names, nickname + surname, unique first names, org,
    project and place names. A form two entities share is left out rather than guessed."""
    forms: dict[tuple[str, bool], set[tuple[str, str]]] = defaultdict(set)
    label_of = {PERSON: "PERSON", ORG: "ORG", PLACE: "GPE", PROJECT: "PROJECT"}
    first_names: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        label = label_of.get(e.kind)
        if label is None:
            continue
        names = set(e.aliases.get("names", [])) | {e.name}
        for name in names:
            if not name or not name.strip() or "@" in name:
                continue
            if e.kind == PERSON:
                parts = parse_name(name)
                if parts is None:
                    continue
                if parts.is_full and "," not in name:
                    clean = " ".join(w for w in re.split(r"\s+", name.strip()) if w)
                    forms[(clean.lower(), False)].add((e.id, label))
                if parts.first and len(parts.first) >= 3:
                    original = name.strip().split()[0].strip(",")
                    if original[:1].isupper() and "," not in name:
                        first_names[original].add(e.id)
            elif e.kind == PLACE:
                forms[(fold(name), False)].add((e.id, label))
                city = name.split(",")[0].strip()
                if len(city) >= 4 and city[:1].isupper():
                    forms[(city, True)].add((e.id, label))
            else:
                text = name.strip()
                if len(text) < 3:
                    continue
                single = " " not in text
                forms[(text if single else text.lower(), single and e.kind != PROJECT)].add((e.id, label))
    for first, ids in first_names.items():
        if len(ids) == 1 and fold(first) not in _WORDY_NAMES:
            forms[(first, True)].add((next(iter(ids)), "PERSON"))
    out = []
    for (text, case_sensitive), owners in sorted(forms.items()):
        if len({eid for eid, _ in owners}) != 1:
            continue
        eid, label = next(iter(owners))
        out.append(Pattern(text=text, label=label, entity_id=eid, case_sensitive=case_sensitive))
    return out


def _text_links(
    docs: Sequence[Document], norms: dict[str, CleanText], entities: list[Entity], by_id: dict[str, Entity]
) -> list[EntityMention]:
    patterns = patterns_for(entities)
    if not patterns:
        return []
    found = text_mentions(((d, norms.get(d.id)) for d in docs), patterns)
    links = []
    tiers = {d.id: d.tier for d in docs}
    # A set beside each evidence list: the owner's list reaches a million ids, and a membership test on the
    # list made this loop quadratic.
    known: dict[str, set[str]] = {}
    for m in found:
        entity = by_id.get(m.entity_hint or "")
        if entity is None:
            continue
        links.append(EntityMention(m.doc_id, entity.id, m.role, m.start, m.end, 0.7, m.tier))
        seen = known.get(entity.id)
        if seen is None:
            seen = known[entity.id] = set(entity.evidence)
        if m.doc_id not in seen:
            seen.add(m.doc_id)
            entity.evidence.append(m.doc_id)
            entity.tier = Tier.max_of(entity.tier, tiers.get(m.doc_id, m.tier))
    for entity in entities:
        entity.evidence.sort()
    return links
