"""Questions about people, answered from the view's relation facts (:mod:`twin_assets.processing.relations`).

Kinds: ``how_know`` (the relation and the evidence for it), ``last_contact`` (the last real contact before
as-of: a message, or for "see"/"meet" a meeting that took place), ``most_contacted`` (overall, among
colleagues, among friends, over a recent window), ``drifting`` (contact falling against the person's own past),
``reply_debt`` (their last direct message got no answer, recently), ``employer_history`` (where I work and
worked), ``manager`` (now or at a date or an employer), ``relationship_state`` (recent tone and frequency against
the person's baseline).

Family and role words ("my mom", "my sister", "my boss", "my wife") resolve against the caller's view in any
question (:func:`resolve_roles`, called by ``ask()`` before a kind is chosen), and a name with a typo is found
by a bounded edit distance over the view's person names (:func:`fuzzy_person`), with the confidence it earns.
Everything counts only what happened before the question's reference time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from twin_assets.processing import relations as rel_mod
from twin_assets.processing.names import fold
from twin_assets.processing.relations import Employment, Relation
from twin_assets.processing.resolution import Entity
from twin_query import views
from twin_query.ask.base import Context, Kind, Reply, day, fact, human_day, person
from twin_query.ask.intent import STOPWORDS, Intent, classify

LATELY = timedelta(days=90)  # "lately", "recently", "these days"
REPLY_WINDOW = timedelta(days=14)  # a message older than this is no longer waiting for an answer
PERSONAL = frozenset({"partner", "mother", "father", "sibling", "family", "friend", "other"})
WORK = frozenset({"manager", "colleague"})
FAMILY = frozenset({"partner", "mother", "father", "sibling", "family"})

# ---- roles: "my mom", "my boss" ----------------------------------------------------------------------
_ROLE_WORDS: dict[str, str] = {
    **dict.fromkeys(("mom", "mum", "mother", "mama", "mommy", "mummy", "ma", "mam", "momma"), "mother"),
    **dict.fromkeys(("dad", "father", "papa", "daddy", "pa"), "father"),
    **dict.fromkeys(("sister", "brother", "sibling", "sis", "bro"), "sibling"),
    **dict.fromkeys(
        ("partner", "wife", "husband", "girlfriend", "boyfriend", "spouse", "fiance", "fiancee", "fiancé", "fiancée"),
        "partner",
    ),
    **dict.fromkeys(("boss", "manager", "supervisor", "line manager", "team lead"), "manager"),
}
_ROLE_RE = re.compile(
    r"\bmy\s+(" + "|".join(sorted((re.escape(w) for w in _ROLE_WORDS), key=len, reverse=True)) + r")(?:['’]?s)?\b"
)


def _relations(ctx_or_twin: Any, vd: views.ViewData) -> dict[str, Relation]:
    return views.relations(ctx_or_twin, vd)


def role_person(twin: Any, vd: views.ViewData, role: str, when: datetime) -> tuple[Entity, Relation] | None:
    """The person the role names in this view at ``when``: the manager then, else the best-evidenced person of
    that relation (most contacts before ``when``)."""
    rels = _relations(twin, vd)
    if role == "manager":
        found = manager_at(twin, vd, when)
        return found[:2] if found else None
    best = None
    for eid, r in rels.items():
        e = vd.entity(eid)
        if e is None or e.kind != "person" or r.relation != role:
            continue
        n = _count_before(r, when)
        key = (r.confidence, n)
        if best is None or key > best[0]:
            best = (key, e, r)
    return (best[1], best[2]) if best else None


def resolve_roles(twin: Any, vd: views.ViewData, intent: Intent) -> None:
    """Add the people "my mom", "my sister", "my boss" ... name to the intent's entities (first, in the order
    named) and take the role words out of its keywords; the intent is classified again with them."""
    q = intent.question.lower()
    found: list[Entity] = []
    words: set[str] = set()
    assert intent.now is not None
    for m in _ROLE_RE.finditer(q):
        hit = role_person(twin, vd, _ROLE_WORDS[m[1]], intent.now)
        if hit and all(e.id != hit[0].id for e in [*found, *intent.entities]):
            found.append(hit[0])
            words.update(m[1].split())
    if not found:
        return
    intent.entities = [*found, *intent.entities]
    intent.keywords = [k for k in intent.keywords if k not in words]
    if intent.name in ("search", "person_profile", "relationship", "timeline"):
        intent.name = classify(q, intent.entities, intent.time, intent.now, intent.keywords)


_WHO_ROLE = re.compile(
    r"^\W*(?:(?:who|whos|who's|what|whats|what's)(?:\s+(?:is|was|are))?\s+(?:the\s+name\s+of\s+)?|name\s+of\s+|"
    r"tell me (?:about )?)?my\s+("
    + "|".join(sorted((re.escape(w) for w in _ROLE_WORDS), key=len, reverse=True))
    + r")(?:['’]?s)?(?:\s+(?:name|called))?\W*$"
)


def _role_matches(q: str, intent: Intent) -> bool:
    return bool(_WHO_ROLE.match(q.strip()))


def _role(ctx: Context) -> Reply:
    m = _WHO_ROLE.match(ctx.question.strip())
    assert m is not None
    role = _ROLE_WORDS[m[1]]
    reply = Reply("", unknown=f"who your {m[1]} is")
    hit = role_person(ctx.twin(), ctx.vd, role, ctx.now)
    if hit is None:
        reply.text = f"I found no one who is your {m[1]} in your records."
        return reply
    e, r = hit
    reply.text = f"Your {m[1]} is {e.name}."
    for reason in r.reasons:
        reply.step(f"{reason.text[:1].upper()}{reason.text[1:]}.", _docs(ctx, reply, reason.evidence))
    reply.fact = fact("person", person(e), e.name)
    reply.confidence = r.confidence
    reply.terms = views.entity_terms(e)
    return reply


# ---- names with typos ----------------------------------------------------------------------------------
def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent transpositions, or ``limit + 1`` once it is sure to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] | None = None
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _name_words(vd: views.ViewData) -> dict[str, dict[str, set[str]]]:
    """Folded words of person names and aliases (≥ 3 letters) → person ids, bucketed by first letter."""

    def build() -> dict[str, dict[str, set[str]]]:
        out: dict[str, dict[str, set[str]]] = {}
        for e in vd.entities.values():
            if e.kind != "person" or e.is_self:
                continue
            for alias in [e.name, *e.aliases.get("names", [])]:
                for w in fold(alias).split():
                    if len(w) >= 3 and w not in STOPWORDS:
                        out.setdefault(w[0], {}).setdefault(w, set()).add(e.id)
        return out

    return vd.lazy("people:name_words", build)


def fuzzy_person(vd: views.ViewData, text: str) -> tuple[Entity, float] | None:
    """The person a misspelt name in ``text`` most likely means, and a confidence: one edit in a word of five or
    more letters, two in one of eight or more; several words must agree. None when nothing is close or two people
    fit equally."""
    index = _name_words(vd)
    votes: dict[str, float] = {}
    for raw in re.findall(r"[^\W\d_]{3,}", text):
        w = fold(raw)
        if w in STOPWORDS or w in _ROLE_WORDS:
            continue
        exact = index.get(w[0], {}).get(w)
        if exact:
            for eid in exact:
                votes[eid] = votes.get(eid, 0.0) + 1.0 / len(exact)
            continue
        limit = 2 if len(w) >= 8 else 1 if len(w) >= 4 else 0
        if not limit:
            continue
        best: list[tuple[int, str]] = []
        # The first letter is rarely the one mistyped: its bucket first, every bucket only for long words.
        buckets = [index.get(w[0], {})] + ([b for k, b in index.items() if k != w[0]] if len(w) >= 6 else [])
        for bucket in buckets:
            for cand, _ids in bucket.items():
                d = _edits(w, cand, limit)
                if d <= limit:
                    best.append((d, cand))
            if best:
                break
        if not best:
            continue
        top = min(d for d, _ in best)
        cands = [c for d, c in best if d == top]
        for c in cands:
            ids = index[c[0]][c]
            for eid in ids:
                votes[eid] = votes.get(eid, 0.0) + (0.8 if top == 1 else 0.6) / (len(ids) * len(cands))
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], -vd.weight(kv[0]), kv[0]))
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] * 0.95:
        return None
    eid, score = ranked[0]
    return vd.entities[eid], round(min(0.9, 0.45 + 0.35 * score), 2)


def subject(ctx: Context, kinds: tuple[str, ...] = ("person",)) -> tuple[Entity | None, float]:
    """The person (or another entity of ``kinds``) the question is about, not the owner, and how sure the match
    is."""
    named = next((e for e in ctx.intent.entities if e.kind in kinds and not e.is_self), None)
    q = f" {fold(ctx.intent.question)} "
    if named is not None and any(f" {a} " in q for a in map(fold, [named.name, *named.all_aliases]) if a):
        return named, 1.0  # named in full (a name, a nickname, an address)
    # A part of a name ("Brandt" of "Jullian Brandt") may have matched someone else: a closer fuzzy match wins.
    hit = fuzzy_person(ctx.vd, ctx.intent.question)
    if named is not None and (hit is None or hit[0].id == named.id):
        return named, 0.9
    return hit if hit else (None, 0.0)


# ---- shared helpers ---------------------------------------------------------------------------------------
def _count_before(r: Relation, when: datetime) -> int:
    return bisect.bisect_left(r.contacts["t"], when.timestamp())


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _docs(ctx: Context, reply: Reply, ids: Iterable[str]) -> list[str]:
    ids = list(dict.fromkeys(ids))
    reply.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, ids))
    return [i for i in ids if i in reply.docs]


def _relation_words(r: Relation, name: str) -> str:
    rel, org = r.relation, r.organisation
    if rel == "manager":
        return f"{name} is your manager" + (f" at {org}" if org else "")
    if rel == "colleague":
        return f"{name} is a colleague" + (f" at {org}" if org else "")
    if rel == "friend":
        return f"{name} is a friend" + (f" from {org}" if org else "")
    if rel == "service":
        return f"{name} is a service you deal with" + (f" ({org})" if org and org != name else "")
    if rel == "family":
        return f"{name} is family"
    if rel == "other":
        return f"{name} is someone you are in touch with" + (f" (at {org})" if org else "")
    return f"{name} is your {rel}"


def _relation_fact(r: Relation) -> dict[str, Any]:
    return {"relation": r.relation, "organisation": r.organisation}


def _window_of(ctx: Context) -> tuple[datetime, datetime, str]:
    """The question's time range, cut at as-of; "lately" (the last 90 days) when it names none."""
    it = ctx.intent
    if it.time and it.time.since:
        until = min(it.time.until or ctx.now, ctx.now)
        return it.time.since, until, it.time.label
    return ctx.now - LATELY, ctx.now, "the last 90 days"


# ---- how do I know X ----------------------------------------------------------------------------------
_HOW_KNOW = re.compile(
    r"\bhow (?:do|did) (?:i|we) (?:know|meet|come to know|get to know)\b|\bwho(?:'s| is| was) .+ to me\b"
    r"|\b(?:my )?relationship (?:to|with)\b|\bhow am i (?:related|connected) to\b|\bwhere do i know .+ from\b"
    r"|\bwhat(?:'s|s| is) .+ to me\b|\bwhos .+ to me\b|\bhow (?:is|are) .+ related to me\b"
)


def _how_know_matches(q: str, intent: Intent) -> bool:
    if not _HOW_KNOW.search(q) or _STATE.search(q):
        return False
    people = [e for e in intent.entities if e.kind == "person" and not e.is_self]
    return len(people) <= 1 and not (len(intent.entities) > 1 and re.search(r"\beach other\b|\bbetween\b", q))


def _how_know(ctx: Context) -> Reply:
    e, sure = subject(ctx, ("person", "organisation"))
    reply = Reply("", unknown="who that is to you")
    if e is None:
        reply.text = "I don't know who you mean."
        return reply
    reply.unknown = f"how you know {e.name}"
    r = _relations(ctx.twin(), ctx.vd).get(e.id)
    if r is None:
        reply.text = f"I have no record of how you know {e.name}."
        return reply
    text = _relation_words(r, e.name)
    if r.relation in WORK and r.since:
        text += f" (you worked together {r.since[:7]} – {r.until[:7] if r.until else 'now'})"
    reply.text = text + "."
    for reason in r.reasons:
        reply.step(f"{reason.text[:1].upper()}{reason.text[1:]}.", _docs(ctx, reply, reason.evidence))
    n = _count_before(r, ctx.now)
    if n:
        reply.step(f"{n} contacts with {e.name} before {day(ctx.now)}.", [])
    reply.fact = fact("relation", _relation_fact(r), text)
    reply.confidence = r.confidence * sure
    reply.terms = views.entity_terms(e)
    return reply


# ---- last contact -------------------------------------------------------------------------------------
_LAST = re.compile(
    r"\b(?:when|what day) (?:did|have|was) (?:i|we)\b.*\blast\b|\blast time (?:i|we)\b|\bwhen was (?:the )?last time\b"
    r"|\bwhen (?:was|were) (?:i|we) last\b|\bwhen did .+ last\b|\blast (?:talk|talked|spoke|saw|seen|heard|met|"
    r"contact|contacted|message|messaged|email|emailed|chat|chatted)\b|\bwhen did we last\b"
)
_SEE = re.compile(r"\b(?:see|saw|seen|meet|met|meeting|meet up|met up|visit|visited|hang out|hung out|with)\b")


def _last_matches(q: str, intent: Intent) -> bool:
    return bool(_LAST.search(q)) and not re.search(r"\b(?:trip|travel|holiday|vacation|paid|pay|bought)\b", q)


def _last_contact(ctx: Context) -> Reply:
    e, sure = subject(ctx)
    reply = Reply("", unknown="who you mean")
    if e is None:
        reply.text = "I don't know who you mean."
        return reply
    q = ctx.question
    seen = bool(_SEE.search(q.replace(e.name.lower(), " "))) and not re.search(r"\b(?:talk|spoke|speak|heard)", q)
    kinds = (rel_mod.MET,) if seen else (rel_mod.SENT, rel_mod.RECEIVED, rel_mod.MET)
    what = "saw" if seen else "were in touch with"
    reply.unknown = f"when you last {what} {e.name}"
    r = _relations(ctx.twin(), ctx.vd).get(e.id)
    last = rel_mod.last_contact(r.contacts, ctx.now, kinds) if r else None
    if last is None:
        reply.text = f"I have no record of when you last {what} {e.name} before {human_day(ctx.now)}."
        return reply
    t, doc_id, direction = last
    when = _when(t)
    label = {rel_mod.MET: "a meeting", rel_mod.SENT: "your message", rel_mod.RECEIVED: "their message"}[direction]
    ids = _docs(ctx, reply, [doc_id])
    reply.text = (
        f"You last saw {e.name} on {human_day(when)} ({label})."
        if seen
        else f"You were last in touch with {e.name} on {human_day(when)} ({label})."
    )
    reply.step(f"The newest contact with {e.name} before {day(ctx.now)}: {label}, {day(when)}.", ids)
    reply.fact = fact("datetime", when.isoformat(), human_day(when))
    reply.confidence = 0.9 * sure if ids else 0.6 * sure
    reply.terms = views.entity_terms(e)
    return reply


# ---- who have I been talking to most --------------------------------------------------------------------
_MOST = re.compile(
    r"\b(?:talk|talked|talking|chat|chatted|chatting|speak|spoke|speaking|in touch|in contact|message|messaged|"
    r"messaging|email|emailed|emailing|contact|contacted|hear from|heard from|see|saw|seen|meet|met)\b"
    r"(?:\s+\w+){0,4}?\s+(?:the\s+)?most\b|\bmost (?:contacted|frequent|often)\b|\bclosest (?:friend|colleague)s?\b"
    r"|\bwho (?:do|did|have) i (?:talk|talked|chat|chatted|spoken) (?:to|with) (?:the )?most\b"
)
_WORK_WORDS = re.compile(r"\b(?:colleagues?|co-?workers?|at work|work(?:mates?)?|team ?mates?)\b")
_FRIEND_WORDS = re.compile(r"\bfriends?\b|\bmates\b|\bbuddies\b")
_FAMILY_WORDS = re.compile(r"\bfamily\b|\brelatives\b")


def _group(q: str) -> tuple[frozenset[str] | None, str]:
    if _WORK_WORDS.search(q):
        return WORK, "colleagues"
    if _FRIEND_WORDS.search(q):
        return frozenset({"friend"}), "friends"
    if _FAMILY_WORDS.search(q):
        return FAMILY, "family"
    return None, "people"


def _people_of(ctx: Context, group: frozenset[str] | None) -> list[tuple[Entity, Relation]]:
    out = []
    for eid, r in _relations(ctx.twin(), ctx.vd).items():
        e = ctx.vd.entity(eid)
        if e is None or e.kind != "person" or e.is_self or r.relation == "service":
            continue
        if group is not None and r.relation not in group:
            continue
        out.append((e, r))
    return out


def _most_matches(q: str, intent: Intent) -> bool:
    return bool(_MOST.search(q)) and not re.search(r"\b(?:spen[dt]|money|paid|topic|about)\b", q)


def _most_contacted(ctx: Context) -> Reply:
    group, label = _group(ctx.question)
    since, until, span = _window_of(ctx)
    reply = Reply("", unknown=f"whom you were most in touch with ({span})")
    ranked = []
    for e, r in _people_of(ctx, group):
        w = rel_mod.window(r.contacts, since, until)
        if w.contacts:
            ranked.append((w.contacts, e, w))
    ranked.sort(key=lambda x: (-x[0], x[1].name))
    if not ranked:
        reply.text = f"I found no contact with {label} in {span}."
        return reply
    top = ranked[:5]
    names = ", ".join(f"{e.name} ({n})" for n, e, _w in top)
    reply.text = f"Most in touch ({label}, {span}): {names}."
    for n, e, w in top:
        ids = _docs(ctx, reply, w.evidence[-3:])
        reply.step(f"{e.name}: {n} contacts ({w.sent} sent, {w.received} received, {w.met} meetings).", ids)
    reply.fact = fact("people", [person(e) for _n, e, _w in top], names)
    lead = top[0][0] / (top[1][0] if len(top) > 1 else 1)
    reply.confidence = 0.75 + min(0.2, (lead - 1) * 0.2) if top[0][0] >= 3 else 0.55
    return reply


# ---- drifting apart -------------------------------------------------------------------------------------
_DRIFT = re.compile(
    r"\bdrift(?:ing|ed)?\b|\blos(?:e|ing|t) touch\b|\blos(?:ing|t) contact\b|\bless and less\b|\bgrow(?:ing)? apart\b"
    r"|\bnot (?:talked|spoken|been in touch) (?:to |with )?(?:\w+ ){0,3}(?:much|lately|recently|in a while)\b"
    r"|\bhaven'?t (?:talked|spoken|heard) (?:to|with|from) (?:in a while|lately|much)\b|\bfading\b|\bneglect"
)


def _drift_matches(q: str, intent: Intent) -> bool:
    people = [e for e in intent.entities if e.kind == "person"]
    return bool(_DRIFT.search(q)) and not people


def _drifting(ctx: Context) -> Reply:
    group, label = _group(ctx.question)
    reply = Reply("", unknown="whom you are drifting apart from")
    rows = []
    # Drifting apart is about the people in your life; work contact comes and goes with projects and jobs, so
    # colleagues are looked at only when the question asks about them.
    for e, r in _people_of(ctx, group if group is not None else PERSONAL):
        if r.relation in WORK and r.until and r.until < day(ctx.now):  # type: ignore[operator]
            continue  # a job you left: contact ending with it is no drifting apart
        if _count_before(r, ctx.now) < 9:
            continue  # too little contact ever to drift from
        tr = rel_mod.trend(r.contacts, ctx.now)
        # A drift is a fall that has lasted: the last half year against the closest six months before it.
        before = peak_rate(r.contacts, ctx.now)
        half = rel_mod.count(r.contacts, ctx.now - 2 * LATELY, ctx.now)
        recent, expected = half * 30 / (2 * LATELY.days), before * 2 * LATELY.days / 30
        fell = before >= 1.5 and recent < 0.5 * before and half <= expected - 1.5 * expected**0.5
        if not (fell or tr["state"] == "fading"):
            continue
        before = max(before, tr["base_rate"])
        tr["before_rate"], tr["recent_rate"] = before, round(recent, 2)
        rows.append(((before - recent) / before * min(before, 8.0), e, tr))
    rows.sort(key=lambda x: (-x[0], x[1].name))
    if not rows:
        reply.text = f"No one ({label}) is in touch much less than before, as of {human_day(ctx.now)}."
        reply.fact = fact("people", [], "no one")
        reply.confidence = 0.55
        return reply
    top = rows[:5]
    parts = [f"{e.name} ({tr['before_rate']:.1f} → {tr['recent_rate']:.1f} a month)" for _s, e, tr in top]
    reply.text = "You are drifting apart from " + ", ".join(parts) + "."
    for _s, e, tr in top:
        ids = _docs(ctx, reply, tr["base"].evidence[-2:] + tr["recent"].evidence[-2:])
        reply.step(
            f"{e.name}: {tr['before_rate']:.1f} contacts a month at the closest six months before the last half "
            f"year, {tr['recent_rate']:.1f} since.",
            ids,
        )
    reply.fact = fact("people", [person(e) for _s, e, _t in top], ", ".join(e.name for _s, e, _t in top))
    reply.confidence = 0.75
    return reply


def peak_rate(contacts: dict[str, list[Any]], as_of: datetime, years: int = 2) -> float:
    """The highest contact rate (per 30 days) of any six months in the ``years`` before the last half year: what
    the relationship was at its closest, against which a slow fade shows even after a year of it."""
    end = as_of - 2 * LATELY
    best = 0.0
    for m in range(0, 12 * years - 5):
        until = end - timedelta(days=30 * m)
        best = max(best, rel_mod.count(contacts, until - timedelta(days=182), until) * 30 / 182)
    return round(best, 2)


# ---- reply debt ---------------------------------------------------------------------------------------------
_DEBT = re.compile(
    r"\bwaiting (?:for|on) (?:a |an |my )?(?:reply|response|answer)\b|\bget back to\b|\bowe (?:\w+ )?(?:a )?"
    r"(?:reply|response|answer|an answer)\b|\bhaven'?t (?:i )?(?:answered|replied|responded)\b|\bwaiting to reply\b"
    r"|\b(?:not|never) (?:yet )?(?:replied|answered|responded)\b|\bunanswered\b|\bneed to (?:reply|respond|answer)\b"
    r"|\bshould i (?:reply|respond|answer|write back)\b|\bstill (?:need|have) to (?:reply|answer|respond)\b"
    r"|\bforg[eo]t (?:to )?(?:reply|answer|respond|write back|get back)"
)


def _debt_matches(q: str, intent: Intent) -> bool:
    return bool(_DEBT.search(q))


def _reply_debt(ctx: Context) -> Reply:
    reply = Reply("", unknown="who is waiting for a reply from you")
    since = ctx.now - REPLY_WINDOW
    owed = []
    docs_needed = []
    for e, r in _people_of(ctx, None):
        last_in = last_out = None
        c = r.contacts
        # Newest first: the last message they wrote to you alone, and whether you wrote after it.
        for i in reversed(range(bisect.bisect_left(c["t"], ctx.now.timestamp()))):
            if c["dir"][i] == rel_mod.SENT:
                last_out = c["t"][i]
                break
            if c["dir"][i] == rel_mod.RECEIVED and c["direct"][i] and last_in is None:
                last_in = (c["t"][i], c["doc"][i])
            if c["t"][i] < since.timestamp():
                break
        if last_in and last_in[0] >= since.timestamp() and (last_out is None or last_out < last_in[0]):
            owed.append((last_in[0], e, last_in[1]))
            docs_needed.append(last_in[1])
    reply.docs.update(views.fetch_docs(ctx.twin(), ctx.tiers, docs_needed))
    # A reply is owed to a message that asks for one: mail written to you alone, not a one-line chat.
    owed = [o for o in owed if o[2] in reply.docs and _wants_reply(reply.docs[o[2]])]
    owed.sort(key=lambda o: (-o[0], o[1].name))
    if not owed:
        reply.text = f"No one has been waiting on an answer from you in the two weeks before {human_day(ctx.now)}."
        reply.fact = fact("people", [], "no one")
        reply.confidence = 0.6
        return reply
    names = ", ".join(f"{e.name} (since {day(_when(t))})" for t, e, _d in owed)
    reply.text = f"Waiting for a reply from you: {names}."
    for t, e, doc in owed:
        reply.step(f"{e.name} wrote to you on {day(_when(t))} and you have not written back since.", [doc])
    reply.fact = fact("people", [person(e) for _t, e, _d in owed], ", ".join(e.name for _t, e, _d in owed))
    reply.confidence = 0.75
    return reply


def _wants_reply(doc: Any) -> bool:
    from twin_assets.connectors.base import MAIL
    from twin_assets.connectors.registry import traits_for

    return bool(traits_for(doc.source).medium == MAIL)


# ---- employers -------------------------------------------------------------------------------------------------
_EMPLOYER = re.compile(
    r"\bwhere (?:did|do|have|am) i (?:used to )?work|\bwhere (?:am|was) i working\b|\b(?:previous|last|former|old|"
    r"current|first) (?:job|employer|company|workplace)\b|\bwhich (?:company|companies|employer|firm)\b"
    r"|\bwho (?:is|was|are|were) my employers?\b|\bmy employers?\b|\bwhat company\b|\bworked (?:at|for) before\b"
    r"|\bjob history\b|\bwhere i work(?:ed)?\b"
)
_BEFORE = re.compile(r"\bbefore\b|\bprevious\b|\bprior\b|\blast employer\b|\bformer\b|\bold job\b|\bused to\b")
_ALL_JOBS = re.compile(r"\bwhere (?:have|all) i worked\b|\bcompanies\b|\bemployers\b|\bjob history\b|\bfirst job\b")


def _employer_matches(q: str, intent: Intent) -> bool:
    return bool(_EMPLOYER.search(q)) and not re.search(r"\bmanager|\bboss\b|\breport", q)


def _jobs_until(ctx: Context) -> list[Employment]:
    return [j for j in views.employers(ctx.twin(), ctx.vd) if j.start <= ctx.now]


def job_at(jobs: list[Employment], when: datetime) -> Employment | None:
    """The employer at ``when``: the latest one started by then (a gap between jobs keeps the last one)."""
    started = [j for j in jobs if j.start <= when]
    return max(started, key=lambda j: j.start) if started else None


def _employer(ctx: Context) -> Reply:
    reply = Reply("", unknown="where you worked")
    jobs = _jobs_until(ctx)
    if not jobs:
        reply.text = "I found no employer in your records."
        return reply
    q = ctx.question
    current = job_at(jobs, ctx.now)
    it = ctx.intent
    if it.time and it.time.since and it.time.since < ctx.now:
        # "where did I work in 2012": the employer of that time, and nothing when the records begin later.
        when = it.time.since + (min(it.time.until or ctx.now, ctx.now) - it.time.since) / 2
        current = job_at(jobs, when)
        if current is None or (it.time.until and it.time.until < min(j.start for j in jobs)):
            reply.text = f"I have no record of where you worked {it.time.label}."
            reply.unknown = f"where you worked {it.time.label}"
            return reply
    for j in jobs:
        end = min(j.end, ctx.now)
        ids = _docs(ctx, reply, [i for i in j.evidence])
        reply.step(
            f"{j.organisation}: {day(j.start)} – {day(end)}, from {' and '.join(dict.fromkeys(j.sources))}.", ids
        )
    if _ALL_JOBS.search(q) and not _BEFORE.search(q):
        names = ", ".join(f"{j.organisation} ({j.start:%b %Y} – {min(j.end, ctx.now):%b %Y})" for j in jobs)
        reply.text = f"You have worked at {names}."
        chosen = current
    elif _BEFORE.search(q):
        named = _named_job(q, jobs)
        pivot = named or current
        earlier = [j for j in jobs if pivot is not None and j.start < pivot.start]
        chosen = max(earlier, key=lambda j: j.start) if earlier else None
        if chosen is None:
            reply.text = f"I found no employer before {pivot.organisation if pivot else 'this one'}."
            reply.unknown = "where you worked before"
            return reply
        reply.text = f"Before {pivot.organisation if pivot else 'this'}, you worked at {chosen.organisation} " + (
            f"({chosen.start:%b %Y} – {min(chosen.end, ctx.now):%b %Y})."
        )
    else:
        chosen = current
        assert chosen is not None
        if it.time and it.time.since and it.time.since < ctx.now:
            reply.text = f"You worked at {chosen.organisation} {it.time.label} (from {chosen.start:%b %Y})."
        else:
            reply.text = f"You work at {chosen.organisation} (since {chosen.start:%b %Y})."
    assert chosen is not None
    reply.fact = fact("organisation", chosen.organisation, chosen.organisation)
    reply.confidence = 0.85 if len(chosen.sources) > 1 else 0.7
    return reply


def _named_job(q: str, jobs: list[Employment]) -> Employment | None:
    words = set(fold(q).split())
    for j in jobs:
        org_words = [w for w in fold(j.organisation).split() if w not in rel_mod._LEGAL and len(w) > 2]
        if org_words and org_words[0] in words:
            return j
    return None


# ---- manager ----------------------------------------------------------------------------------------------
_MANAGER = re.compile(
    r"\b(?:who(?:'s| is| was|s)?|my)\b.*\b(?:manager|boss|supervisor|line manager|team lead)\b"
    r"|\bwho (?:do|did) i report to\b|\breport(?:ed|ing)? to\b"
)


def _manager_matches(q: str, intent: Intent) -> bool:
    if not _MANAGER.search(q):
        return False
    # "when did I last talk to my boss" is about the boss, not about who it is.
    return not (_LAST.search(q) or _STATE.search(q) or _MOST.search(q) or _HOW_KNOW.search(q))


def manager_at(twin: Any, vd: views.ViewData, when: datetime) -> tuple[Entity, Relation, Employment | None] | None:
    """The owner's manager at ``when``: among the managers the view knows, the one at the employer of that time
    (most contacts around it), else the one in closest touch then."""
    rels = views.relations(twin, vd)
    jobs = [j for j in views.employers(twin, vd) if j.start <= when]
    job = job_at(jobs, when)
    lo, hi = (when - timedelta(days=120)).timestamp(), (when + timedelta(days=1)).timestamp()
    best = None
    for eid, r in rels.items():
        e = vd.entity(eid)
        if e is None or r.relation != "manager":
            continue
        at_job = job is not None and r.organisation == job.organisation
        near = sum(1 for t in r.contacts["t"] if lo <= t < hi)
        key = (at_job, near, r.confidence)
        if best is None or key > best[0]:
            best = (key, e, r)
    if best is None or (not best[0][0] and not best[0][1]):
        return None
    return best[1], best[2], job


def _manager(ctx: Context) -> Reply:
    reply = Reply("", unknown="who your manager is")
    when = ctx.now
    it = ctx.intent
    if it.time and it.time.since and it.time.since < ctx.now:
        until = min(it.time.until or ctx.now, ctx.now)
        when = it.time.since + (until - it.time.since) / 2
    named = _named_job(ctx.question, _jobs_until(ctx))
    if named is not None:
        when = min(named.end, ctx.now)
    found = manager_at(ctx.twin(), ctx.vd, when)
    if found is None:
        reply.text = f"I found no manager of yours around {human_day(when)}."
        return reply
    e, r, job = found
    past = when < ctx.now - timedelta(days=7)
    at = f" at {job.organisation}" if job else (f" at {r.organisation}" if r.organisation else "")
    reply.text = f"{e.name} {'was' if past else 'is'} your manager{at}" + (f" ({when:%B %Y})." if past else ".")
    for reason in r.reasons:
        if reason.kind in ("manager", "card-org", "work-domain"):
            reply.step(f"{reason.text[:1].upper()}{reason.text[1:]}.", _docs(ctx, reply, reason.evidence))
    if job:
        reply.step(
            f"Your employer then: {job.organisation} ({day(job.start)} – {day(min(job.end, ctx.now))}).",
            _docs(ctx, reply, job.evidence),
        )
    reply.fact = fact("person", person(e), e.name)
    reply.confidence = min(0.9, r.confidence + (0.1 if job and r.organisation == job.organisation else 0.0))
    reply.terms = views.entity_terms(e)
    return reply


# ---- how are things with X ------------------------------------------------------------------------------------
_STATE = re.compile(
    r"\bhow(?:'s| is| are) (?:things|it going|stuff|everything) (?:with|between)\b|\bhow(?:'s| is) it going with\b"
    r"|\bare .+ and i (?:ok|okay|good|alright|fine)\b|\bam i (?:ok|okay|good|alright) with\b"
    r"|\bhow am i doing with\b|\bhow(?:'s| is) my relationship with\b|\bhow (?:are|is) .+ and (?:me|i)\b"
    r"|\bhow are we doing\b|\bhow (?:do|did) things stand with\b|\bwhere do i stand with\b"
    r"|\b(?:everything|all|things|it) (?:ok|okay|alright|all right|good|fine)\b.*\bwith\b"
    r"|\b(?:me and .+|.+ and (?:me|i))\W+(?:is )?(?:everything|all|things) (?:ok|okay|alright|all right|good|fine)\b"
)


def _state_matches(q: str, intent: Intent) -> bool:
    return bool(_STATE.search(q))


_STATE_WORDS = {
    "strained": "strained: a run of negative messages recently, well below your usual tone",
    "fading": "fading: much less contact than before",
    "strengthening": "growing: much more contact than before",
    "steady": "steady",
}


def _relationship_state(ctx: Context) -> Reply:
    e, sure = subject(ctx)
    reply = Reply("", unknown="how things are with them")
    if e is None:
        reply.text = "I don't know who you mean."
        return reply
    reply.unknown = f"how things are with {e.name}"
    r = _relations(ctx.twin(), ctx.vd).get(e.id)
    if r is None or not _count_before(r, ctx.now):
        reply.text = f"I have no contact with {e.name} before {human_day(ctx.now)}."
        return reply
    tr = rel_mod.trend(r.contacts, ctx.now)
    state = tr["state"]
    tone = lambda v: "n/a" if v is None else f"{v:+.2f}"  # noqa: E731
    reply.text = f"Things with {e.name} are {_STATE_WORDS[state]}."
    reply.step(
        f"Last 90 days: {tr['recent_rate']:.1f} contacts a month, tone {tone(tr['recent_tone'])}; the year before: "
        f"{tr['base_rate']:.1f} a month, tone {tone(tr['base_tone'])}.",
        _docs(ctx, reply, tr["recent"].evidence[-3:]),
    )
    burst = tr["burst"]
    if burst.negative:
        neg = [d for d, tn in zip(r.contacts["doc"], r.contacts["tone"], strict=True) if tn is not None and tn < -0.3]
        recent_neg = [d for d in neg if d in set(burst.evidence)]
        reply.step(
            f"{burst.negative} clearly negative messages in the last 60 days.", _docs(ctx, reply, recent_neg[-5:])
        )
    reply.fact = fact("trend", state, state)
    enough = tr["recent"].contacts + tr["base"].contacts
    reply.confidence = (0.8 if enough >= 10 else 0.6 if enough >= 4 else 0.4) * sure
    reply.terms = views.entity_terms(e)
    return reply


# In priority order: the more specific rules first ("when did I last talk to my boss" is about the boss).
KINDS: tuple[Kind, ...] = (
    Kind("reply_debt", "who is waiting for a reply from me", _debt_matches, _reply_debt),
    Kind("manager", "who my manager is, now or at a date or employer", _manager_matches, _manager),
    Kind("family", "who my mom, sister, partner ... is", _role_matches, _role),
    Kind("employer_history", "where I work and worked before", _employer_matches, _employer),
    Kind("drifting", "whom I am drifting apart from", _drift_matches, _drifting),
    Kind("most_contacted", "whom I have been in touch with most lately", _most_matches, _most_contacted),
    Kind("relationship_state", "how things are with someone lately", _state_matches, _relationship_state),
    Kind("last_contact", "when I last talked to or saw someone", _last_matches, _last_contact),
    Kind("how_know", "how I know someone: the relation and its evidence", _how_know_matches, _how_know),
)
