"""Normalise document text: what the author wrote, in which language, in citable passages.

Quoted replies, forwarded messages, signatures and HTML leftovers are found and kept as
``(start, end)`` offset ranges into ``Document.body`` rather than as copies, so the original text
stays the single source and every derived passage can be cited exactly. Sentiment, entities and
topics read :meth:`CleanText.clean` (the author's own words); retrieval cites :class:`Passage` offsets.

Language detection is a small stopword vote over the seven languages the persona data and the
samples use (en, de, fr, es, nl, it, pt): no model, no network, good enough to route text to an
English-only lexicon or not.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from twin_assets.records import Document

QUOTE = "quote"  # a quoted earlier message ("On ... wrote:" and "> " lines)
FORWARD = "forward"  # an original/forwarded message block that runs to the end
SIGNATURE = "signature"  # "-- " blocks and sign-off blocks ("Best,\nAnna")
BOILERPLATE = "boilerplate"  # HTML leftovers, unsubscribe footers, "Sent from my iPhone", media placeholders

TARGET_CHARS = 1000
MAX_CHARS = 1500
# Regexes run on capped input so one giant line cannot make a document cost seconds.
_MAX_SCAN = 200_000


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(slots=True)
class CleanText:
    """Offsets of everything in ``Document.body`` that the author did not write themselves."""

    doc_id: str
    length: int
    removed: list[Span]
    language: str | None
    language_confidence: float
    signer: tuple[int, int] | None  # offsets of the name under a sign-off ("Best,\nAnna" -> "Anna")
    tier: str
    evidence: list[str] = field(default_factory=list)

    def kept(self) -> list[tuple[int, int]]:
        """The ranges of the body that remain, in order."""
        return _complement(self.removed, self.length)

    def clean(self, body: str) -> str:
        """The author's own words: the kept ranges joined, whitespace tidied."""
        parts = [body[s:e] for s, e in self.kept()]
        return re.sub(r"\n{3,}", "\n\n", "".join(parts)).strip()

    def is_removed(self, start: int, end: int) -> bool:
        return any(s.start <= start and end <= s.end for s in self.removed)


@dataclass
class Passage:
    """A citable piece of a document: ``text == body[start:end]`` (or the title, when there is no body)."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    field: str  # "body" or "title"
    tier: str
    evidence: list[str] = dataclasses.field(default_factory=list)  # ``field`` above hides the import here


# ---- line helpers --------------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end-without-newline, line) for every line; offsets index ``text``."""
    out = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        out.append((pos, pos + len(line), line))
        pos += len(raw)
    return out


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans (and touching ones of one kind) become one; the earlier kind wins."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.end <= span.start:
            continue
        if out and (span.start < out[-1].end or (span.start == out[-1].end and span.kind == out[-1].kind)):
            last = out[-1]
            if span.end > last.end:
                out[-1] = Span(last.start, span.end, last.kind)
            continue
        out.append(span)
    return out


def _complement(spans: list[Span], length: int) -> list[tuple[int, int]]:
    out, pos = [], 0
    for span in spans:
        if span.start > pos:
            out.append((pos, span.start))
        pos = max(pos, span.end)
    if pos < length:
        out.append((pos, length))
    return out


# ---- quotes and forwards -------------------------------------------------------------------------

_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}|_{2,}|={2,})\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"oorspronkelijk bericht|messaggio originale|mensagem original|forwarded message|weitergeleitete nachricht|"
    r"message transféré|mensaje reenviado|doorgestuurd bericht|messaggio inoltrato|forwarded by\b.*)\s*(?:-{2,}.*)?$",
    re.IGNORECASE,
)
_BEGIN_FORWARD = re.compile(r"^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht)\s*:\s*$", re.I)
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|von|de|van|da)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|to|subject|cc|gesendet|datum|an|betreff|envoyé|objet|enviado|para|asunto|"
    r"verzonden|aan|onderwerp|inviato|oggetto|assunto)\s*:",
    re.IGNORECASE,
)
# Lotus Notes (Enron): 'Jeff Dasovich on 10/17/2000 02:44 PM' (optionally after 'From:') followed by 'To:'
_NOTES_ATTRIBUTION = re.compile(r"\bon \d{1,2}/\d{1,2}/\d{2,4} \d{1,2}:\d{2}(?::\d{2})? ?(?:AM|PM)?\s*$", re.I)
_ATTRIBUTION_END = re.compile(
    r"(?:wrote|writes|schrieb|a écrit|escribió|escribio|schreef|ha scritto|escreveu)\s*:\s*$", re.IGNORECASE
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|am|le|el|op|il|em|de)\b", re.IGNORECASE)
_QUOTED_LINE = re.compile(r"^\s{0,3}>")


def find_quotes(text: str) -> list[Span]:
    """Quoted replies and forwarded blocks, as spans over ``text``."""
    lines = _lines(text[:_MAX_SCAN])
    spans: list[Span] = []
    # 1. A separator or an Outlook/Notes header block quotes everything after it.
    for i, (start, _end, line) in enumerate(lines):
        if _SEPARATOR.match(line) or _BEGIN_FORWARD.match(line):
            spans.append(Span(start, len(text), FORWARD))
            break
        if _HEADER_FROM.match(line) or _NOTES_ATTRIBUTION.search(line):
            following = [ln for _s, _e, ln in lines[i + 1 : i + 6] if ln.strip()]
            if sum(1 for ln in following[:4] if _HEADER_NEXT.match(ln)) >= 2 or (
                _NOTES_ATTRIBUTION.search(line) and following and _HEADER_NEXT.match(following[0])
            ):
                spans.append(Span(start, len(text), FORWARD))
                break
    # 2. "> " blocks with their attribution line(s).
    i = 0
    while i < len(lines):
        if not _QUOTED_LINE.match(lines[i][2]):
            i += 1
            continue
        first = i
        last = i
        j = i + 1
        while j < len(lines):
            if _QUOTED_LINE.match(lines[j][2]):
                last = j
            elif lines[j][2].strip():
                break
            j += 1
        attribution = _attribution_start(lines, first)
        spans.append(Span(attribution if attribution is not None else lines[first][0], lines[last][1], QUOTE))
        i = last + 1
    # 3. An attribution with no "> " lines under it (HTML mail turned into text): the rest is quoted.
    for i, (_start, _end, line) in enumerate(lines):
        if _ATTRIBUTION_END.search(line):
            begin = _attribution_start(lines, i + 1)
            nxt = next((ln for _s, _e, ln in lines[i + 1 :] if ln.strip()), "")
            if begin is not None and not _QUOTED_LINE.match(nxt):
                spans.append(Span(begin, len(text), QUOTE))
                break
    return _merge(spans)


def _attribution_start(lines: list[tuple[int, int, str]], quoted_index: int) -> int | None:
    """Offset where the attribution above ``quoted_index`` begins ("On Fri, ... Anna wrote:", maybe wrapped)."""
    k = quoted_index - 1
    while k >= 0 and not lines[k][2].strip():
        k -= 1
    if k < 0 or not _ATTRIBUTION_END.search(lines[k][2]):
        return None
    if _ATTRIBUTION_START.match(lines[k][2]) or k == 0:
        return lines[k][0]
    if k >= 1 and lines[k - 1][2].strip() and _ATTRIBUTION_START.match(lines[k - 1][2]):
        return lines[k - 1][0]
    return lines[k][0]


# ---- signatures ----------------------------------------------------------------------------------

_SIGNOFF = re.compile(
    r"^\s*(?:best|best wishes|best regards|kind regards|warm regards|warmest regards|many thanks|thanks|thank you|"
    r"thx|cheers|regards|love|lots of love|hugs|xo+|all the best|sincerely|yours|yours truly|take care|talk soon|"
    r"see you|liebe grüße|liebe grüsse|lg|vg|viele grüße|viele grüsse|beste grüße|herzliche grüße|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|gruß|grüße|bis bald|kuss|"
    r"cordialement|bien à vous|bises|amitiés|à bientôt|saludos|un abrazo|atentamente|besos|groeten|"
    r"met vriendelijke groet|groetjes|cordiali saluti|saluti|un abbraccio|a presto|abraços|atenciosamente|"
    r"beijos|cumprimentos)\b\s*[,.!]*\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_DASHES = re.compile(r"^--\s*$")
_MOBILE = re.compile(
    r"^\s*(?:sent from my \w+|sent from (?:outlook|mail) for \w+|get outlook for \w+|von meinem \w+ gesendet|"
    r"envoyé de mon \w+|enviado desde mi \w+|verzonden vanaf mijn \w+|inviato da \w+)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
_NAME_LINE = re.compile(r"^[^\W\d_][\w'’.\- ]{0,38}$", re.UNICODE)


def find_signature(text: str, limit: int | None = None) -> tuple[Span | None, tuple[int, int] | None]:
    """The signature of the part of ``text`` before ``limit`` and the signer's name offsets, if any."""
    end_limit = len(text) if limit is None else limit
    lines = [ln for ln in _lines(text[: min(end_limit, _MAX_SCAN)]) if ln[0] < end_limit]
    content = [ln for ln in lines if ln[2].strip()]
    if len(content) < 2:
        return None, None
    for start, _end, line in content:
        if _DASHES.match(line) and start > 0:
            return Span(start, end_limit, SIGNATURE), None
    tail = content[-6:]
    block_start: int | None = None
    for idx, (start, _end, line) in enumerate(tail):
        if start == content[0][0]:
            continue  # the whole text would be a signature: a one-line note, not a sign-off
        match = _SIGNOFF.match(line)
        after = tail[idx + 1 :]
        if not match or len(after) > 4 or any(len(ln) > 80 for _s, _e, ln in after):
            continue
        rest = match.group("rest")
        if len(rest) > 40 or rest[:1].islower():
            continue  # "Thanks for the notes, I'll look tomorrow" is a sentence, not a sign-off
        if block_start is None:
            block_start = start
        if any(_SIGNOFF.match(ln) for _s, _e, ln in after):
            continue  # "Bis bald.\nKuss, Mama": the last sign-off line carries the name
        signer = None
        if rest.strip():
            signer = _name_prefix(rest, start + line.index(rest))
            if signer is None:
                continue  # "THANKS FOR CALLING" is shouting, not signing
        elif after:
            signer = _name_prefix(after[0][2], after[0][0])
        return Span(block_start, end_limit, SIGNATURE), signer
    # A bare name under the last paragraph ("...thank you.\n\nOmar").
    if len(content) >= 3:
        s, _e, ln = content[-1]
        prev = text[content[-2][1] : s]
        signer = _name_prefix(ln, s)
        if prev.count("\n") >= 2 and signer and text[signer[1] : _e].strip(" .") == "":
            return Span(s, end_limit, SIGNATURE), signer
    return None, None


_NOT_NAMES = frozenset(
    [
        "please",
        "later",
        "thanks",
        "thank",
        "team",
        "all",
        "everyone",
        "the",
        "for",
        "and",
        "regards",
        "best",
        "love",
        "see",
        "talk",
        "have",
        "sent",
        "from",
        "dear",
        "hi",
        "hello",
    ]
)
_TOKEN_RE = re.compile(r"\S+")


def _name_prefix(line: str, offset: int) -> tuple[int, int] | None:
    """Offsets of the name a sign-off line starts with ("Pete  3x7277" -> "Pete"), or None."""
    tokens = list(_TOKEN_RE.finditer(line))
    kept: list[re.Match[str]] = []
    for tok in tokens[:4]:
        word = tok.group().rstrip(",.")
        if not word or any(ch.isdigit() for ch in word) or "@" in word or not _NAME_LINE.match(word):
            break
        if not word[0].isupper() or (len(word) > 3 and word.isupper()) or word.lower() in _NOT_NAMES:
            break
        kept.append(tok)
    if not kept or (len(kept) < len(tokens) and len(tokens) - len(kept) > 2):
        return None
    start = offset + kept[0].start()
    end = offset + kept[-1].start() + len(kept[-1].group().rstrip(",."))
    return start, end


# ---- boilerplate ---------------------------------------------------------------------------------

_INLINE_JUNK = re.compile(
    r"\[(?:IMAGE|image|cid:[^\]\n]{0,200})\]|&(?:nbsp|amp|lt|gt|quot|#\d{1,6});|"
    r"</?(?:p|br|div|span|td|tr|table|font|b|i|u|img|a|html|body|head|meta|style)\b[^>\n]{0,300}>",
)
_JUNK_WORDS = re.compile(
    r"unsubscribe|view (?:this email |it )?in (?:your|a) browser|you (?:are )?receiv(?:e|ing) this|"
    r"manage (?:your )?(?:email |subscription )?preferences|to stop receiving|abmelden|abbestellen|"
    r"se désabonner|darse de baja|afmelden|all rights reserved|©",
    re.IGNORECASE,
)
_CHAT_PLACEHOLDER = re.compile(
    r"^\s*(?:<media omitted>|<attached: [^>]*>|image omitted|video omitted|audio omitted|sticker omitted|"
    r"this message was deleted|you deleted this message|missed (?:voice|video) call)\s*$",
    re.IGNORECASE,
)


def find_boilerplate(text: str) -> list[Span]:
    """HTML leftovers, footers and chat placeholders (spans over ``text``)."""
    scan = text[:_MAX_SCAN]
    if _CHAT_PLACEHOLDER.match(scan):
        return [Span(0, len(text), BOILERPLATE)]
    spans = [Span(m.start(), m.end(), BOILERPLATE) for m in _INLINE_JUNK.finditer(scan)]
    for m in _JUNK_WORDS.finditer(scan):
        start = scan.rfind("\n", 0, m.start()) + 1
        end = scan.find("\n", m.end())
        end = len(scan) if end < 0 else end
        if end - start < 300:  # a footer line, not a paragraph that happens to say "unsubscribe"
            spans.append(Span(start, end, BOILERPLATE))
    spans += [Span(m.start(), m.end(), BOILERPLATE) for m in _MOBILE.finditer(scan)]
    return spans


# ---- language ------------------------------------------------------------------------------------

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "a",
            "no",
            "could",
            "should",
            "before",
            "after",
            "how",
            "when",
            "as",
            "by",
            "up",
            "out",
            "one",
            "the",
            "and",
            "is",
            "are",
            "was",
            "were",
            "you",
            "your",
            "i",
            "we",
            "to",
            "of",
            "in",
            "it",
            "that",
            "this",
            "for",
            "with",
            "on",
            "at",
            "be",
            "have",
            "has",
            "not",
            "but",
            "what",
            "all",
            "can",
            "will",
            "would",
            "there",
            "they",
            "he",
            "she",
            "my",
            "me",
            "our",
            "from",
            "an",
            "or",
            "if",
            "so",
            "do",
            "just",
            "about",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "du",
            "wir",
            "sie",
            "es",
            "ein",
            "eine",
            "einen",
            "mit",
            "auf",
            "für",
            "zu",
            "den",
            "dem",
            "des",
            "von",
            "im",
            "sich",
            "auch",
            "auch",
            "noch",
            "wie",
            "aber",
            "oder",
            "wenn",
            "dass",
            "hier",
            "mir",
            "mich",
            "dich",
            "bitte",
            "uns",
            "ihr",
            "sind",
            "war",
            "hat",
            "haben",
            "wird",
            "kann",
            "schon",
            "nur",
            "gibt",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "est",
            "une",
            "un",
            "des",
            "du",
            "de",
            "pas",
            "je",
            "tu",
            "nous",
            "vous",
            "il",
            "elle",
            "ce",
            "cette",
            "pour",
            "avec",
            "dans",
            "sur",
            "qui",
            "que",
            "au",
            "aux",
            "mais",
            "ou",
            "sont",
            "été",
            "être",
            "avoir",
            "très",
            "mon",
            "ma",
            "mes",
            "votre",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "y",
            "es",
            "una",
            "un",
            "de",
            "del",
            "que",
            "en",
            "por",
            "para",
            "con",
            "no",
            "se",
            "su",
            "al",
            "lo",
            "como",
            "pero",
            "más",
            "muy",
            "yo",
            "tú",
            "nosotros",
            "usted",
            "está",
            "son",
            "estoy",
            "hay",
            "este",
            "esta",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "is",
            "van",
            "ik",
            "je",
            "jij",
            "wij",
            "we",
            "niet",
            "dat",
            "die",
            "op",
            "voor",
            "zijn",
            "maar",
            "ook",
            "er",
            "aan",
            "als",
            "bij",
            "naar",
            "om",
            "wat",
            "nog",
            "wel",
            "geen",
            "mijn",
            "hij",
            "zij",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "e",
            "è",
            "di",
            "del",
            "della",
            "che",
            "non",
            "un",
            "una",
            "per",
            "con",
            "sono",
            "ma",
            "anche",
            "come",
            "più",
            "questo",
            "questa",
            "io",
            "tu",
            "noi",
            "voi",
            "lui",
            "lei",
            "ci",
            "mi",
            "ti",
            "si",
            "molto",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "e",
            "é",
            "de",
            "do",
            "da",
            "dos",
            "das",
            "que",
            "não",
            "um",
            "uma",
            "para",
            "com",
            "em",
            "no",
            "na",
            "por",
            "mais",
            "mas",
            "como",
            "você",
            "eu",
            "nós",
            "ele",
            "ela",
            "está",
            "são",
            "muito",
            "isso",
            "também",
        ]
    ),
}
_CHAR_HINTS = {"de": "äöüß", "fr": "éèêàçùœë", "es": "ñ¿¡áíóú", "pt": "ãõçâêô", "it": "àèìòù", "nl": "ĳ"}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_URL_OR_EMAIL = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+|\S+\.(?:com|org|net|de|pdf|doc|xls)\b", re.I)


def detect_language(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, confidence 0..1), or (None, 0.0) when the text is too short or has no stopwords."""
    sample = _URL_OR_EMAIL.sub(" ", text[:20_000])
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < 2:
        return None, 0.0
    counts = Counter(words)
    scores: dict[str, float] = {}
    for lang, stop in _STOPWORDS.items():
        scores[lang] = float(sum(n for w, n in counts.items() if w in stop))
    lowered = sample.lower()
    for lang, chars in _CHAR_HINTS.items():
        scores[lang] += 0.5 * min(4, sum(lowered.count(c) for c in chars))
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    (best, top), (_second, runner) = ranked[0], ranked[1]
    if top < 2.0:
        return None, 0.0  # one shared function word ("da", "de") says nothing
    confidence = (top - runner) / top if top else 0.0
    coverage = min(1.0, top / max(3.0, len(words) * 0.25))
    return best, round(min(1.0, 0.5 * confidence + 0.5 * coverage), 3)


# ---- chunking ------------------------------------------------------------------------------------

_PARA = re.compile(r"\n[ \t]*\n\s*")
_SENT = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_NEWLINE = re.compile(r"\n\s*")
_SPACE = re.compile(r"\s+")


def chunk(text: str, target: int = TARGET_CHARS, limit: int = MAX_CHARS) -> list[tuple[int, int]]:
    """Contiguous ``(start, end)`` ranges covering ``text``, each at most ``limit`` characters, cut at
    paragraph, then sentence, then line, then word boundaries closest to ``target``."""
    if limit < target:
        raise ValueError("limit must be at least target")
    n = len(text)
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < n:
        if n - pos <= limit:
            out.append((pos, n))
            break
        lo, hi = pos + max(1, target // 2), pos + limit
        window = text[pos:hi]
        cut = None
        for pattern in (_PARA, _SENT, _NEWLINE, _SPACE):
            ends = [pos + m.end() for m in pattern.finditer(window) if lo <= pos + m.end() <= hi]
            if ends:
                cut = min(ends, key=lambda e: abs(e - (pos + target)))
                break
        if cut is None:
            cut = hi  # one unbroken run of characters: a hard cut is all that is left
        out.append((pos, cut))
        pos = cut
    return out


# ---- documents -----------------------------------------------------------------------------------


def normalise(doc: Document) -> CleanText:
    """Find quotes, forwards, signatures and boilerplate in ``doc.body``; detect its language."""
    body = doc.body or ""
    spans = find_quotes(body) if doc.kind != "contact" else []
    spans += find_boilerplate(body)
    merged = _merge(spans)
    # The signature belongs to the author's own part: the text before a quote that runs to the end.
    own_end = len(body)
    for span in merged:
        if span.end >= len(body.rstrip()) and span.kind in (QUOTE, FORWARD):
            own_end = span.start
            break
    signer = None
    if doc.kind in ("message", "note") or (doc.kind not in ("contact", "transaction", "event") and "\n" in body):
        sig, signer = find_signature(body, own_end)
        if sig is not None:
            merged = _merge([*merged, sig])
    clean_part = "".join(body[s:e] for s, e in _complement(merged, len(body)))
    lang, conf = detect_language(f"{doc.title}\n{clean_part}")
    return CleanText(
        doc_id=doc.id,
        length=len(body),
        removed=merged,
        language=lang,
        language_confidence=conf,
        signer=signer,
        tier=doc.tier,
        evidence=[doc.id],
    )


def clean_text(doc: Document, norm: CleanText | None = None) -> str:
    """Title and the author's own words, for sentiment, topics and entity extraction."""
    norm = norm or normalise(doc)
    body = norm.clean(doc.body or "")
    return f"{doc.title}\n\n{body}".strip() if doc.title else body


def passages(
    doc: Document, norm: CleanText | None = None, *, target: int = TARGET_CHARS, limit: int = MAX_CHARS
) -> list[Passage]:
    """Citable passages over the author's own text; offsets index ``doc.body`` (or the title)."""
    body = doc.body or ""
    norm = norm or normalise(doc)
    out: list[Passage] = []
    for start, end in norm.kept():
        for s, e in chunk(body[start:end], target, limit):
            piece = body[start + s : start + e]
            if not piece.strip():
                continue
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            a, b = start + s + lead, start + e - trail
            out.append(Passage(doc.id, len(out), a, b, body[a:b], "body", doc.tier, [doc.id]))
    if not out and doc.title.strip():
        out.append(Passage(doc.id, 0, 0, len(doc.title), doc.title, "title", doc.tier, [doc.id]))
    return out
