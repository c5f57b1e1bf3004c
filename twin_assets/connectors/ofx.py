"""OFX / QFX statements (1.x SGML and 2.x XML): one ``transaction`` record per STMTTRN.

ofxtools' tokenizer builds the element tree when the markup is well formed
enough; we then read each STMTTRN ourselves so that one transaction with a bad
amount or date costs only that transaction (ofxtools' own model conversion
rejects the whole file). When the tokenizer gives up (mismatched tags, stray
text), a tolerant tag scanner extracts the STMTTRN blocks instead. Both paths
produce the same field dictionaries, so records and ids do not depend on which
one ran.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import ClassVar

from twin_assets.connectors.base import TRANSACTIONS, Connector, SourceTraits
from twin_assets.connectors.toolkit import decode
from twin_assets.records import TRANSACTION, ParseIssue, Party, Record
from twin_assets.tiers import HIGH

MAX_BYTES = 200 * 1024 * 1024
# The OFX header sits in the first few hundred bytes; look a little further for junk before it.
HEADER_SNIFF = 8192

# Aggregates that can sit inside a STMTTRN; their leaves are keyed "AGG.LEAF".
TXN_AGGREGATES = {"PAYEE", "CURRENCY", "ORIGCURRENCY", "BANKACCTTO", "CCACCTTO", "IMAGEDATA"}
# Aggregates that start a new statement (and so a new account context).
STATEMENT_TAGS = {"STMTRS", "CCSTMTRS", "INVSTMTRS"}
# Closing one of these ends an unclosed SGML STMTTRN.
TXN_CONTAINERS = {"BANKTRANLIST", "INVBANKTRAN", "STMTRS", "CCSTMTRS", "INVSTMTRS", "OFX"}

_CHARSETS = {
    "1252": "cp1252",
    "WINDOWS-1252": "cp1252",
    "ISO-8859-1": "latin-1",
    "8859-1": "latin-1",
    "ISO-8859-15": "iso8859-15",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
}

OFX_START_RE = re.compile(r"<OFX>", re.I)
# Horizontal space only: "\s*" after "^" ran over every following blank line from each line start (quadratic).
HEADER_LINE_RE = re.compile(r"^[ \t]*([A-Z]+)[ \t]*:[ \t]*(\S*)", re.M)
XML_ENCODING_RE = re.compile(r"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""", re.I)
# A tag's attributes stop at the next "<" too: "[^>]*" ran to the end of the text from every "<" of a run of
# unclosed tags (quadratic). They cannot start with a name character either: otherwise every shorter split of a
# long unclosed name ("<AAAA…" without ">") was retried against the rest of the run (quadratic in the name).
TOKEN_RE = re.compile(r"<(/?)([A-Za-z0-9._]+)(?:[^A-Za-z0-9._<>][^<>]*)?>([^<]*)")
OFX_DATE_RE = re.compile(
    r"^\s*(\d{4})(\d{2})(\d{2})"
    r"(?:(\d{2})(\d{2})(\d{2})?)?"
    r"(?:[.:](\d{1,6}))?"
    r"\s*(?:\[\s*([+-]?\d{1,2}(?:[.:]\d{1,2})?)\s*(?::\s*([A-Za-z]{1,10}))?\s*\])?"
)


def hash_account(acctid: str) -> str:
    return hashlib.sha256(acctid.strip().encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- decoding


def declared_charset(header: str) -> str | None:
    """The Python codec the OFX header (SGML lines or XML declaration) declares, if any."""
    m = XML_ENCODING_RE.search(header)
    if m:
        return m.group(1)
    values = {k.upper(): v.upper() for k, v in HEADER_LINE_RE.findall(header)}
    charset = values.get("CHARSET", "")
    if charset in _CHARSETS:
        return _CHARSETS[charset]
    if values.get("ENCODING") in ("UTF-8", "UNICODE"):
        return "utf-8"
    return None


def decode_ofx(raw: bytes) -> str:
    """Decode by content first: UTF-8 bytes under ``CHARSET:1252`` are common, as is the reverse."""
    head = raw[:4096].decode("latin-1")
    start = OFX_START_RE.search(head)
    declared = declared_charset(head[: start.start()] if start else head)
    return decode(raw, declared, western=True).text


# --------------------------------------------------------------------------- dates & amounts


def parse_ofx_datetime(text: str) -> tuple[datetime, str | None] | None:
    """An aware UTC datetime and the zone label the file gave (``"EST"``, ``"UTC-4"``), or None.

    OFX writes ``YYYYMMDD[HHMMSS[.XXX]][[+/-N[.NN]][:TZ]]`` and, without a
    bracket, means GMT.
    """
    m = OFX_DATE_RE.match(text or "")
    if not m:
        return None
    year, month, day, hour, minute, second, frac, offset, tzname = m.groups()
    try:
        micro = int((frac or "0").ljust(6, "0")[:6])
        naive = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro)
        zone_label = None
        tz = UTC
        if offset is not None:
            sign = -1 if offset.startswith("-") else 1
            hours_text, _, frac_text = offset.lstrip("+-").replace(":", ".").partition(".")
            minutes = int(hours_text) * 60
            if frac_text:
                # "5.30" is decimal hours in the spec; banks also write "5:30" meaning minutes.
                minutes += int(frac_text) if ":" in offset else round(float(f"0.{frac_text}") * 60)
            tz = timezone(timedelta(minutes=sign * minutes))
            zone_label = tzname or f"UTC{'+' if sign > 0 else '-'}{minutes // 60:02d}:{minutes % 60:02d}"
        elif tzname:
            zone_label = tzname
        return naive.replace(tzinfo=tz).astimezone(UTC), zone_label
    except (ValueError, OverflowError):
        return None


def parse_ofx_amount(text: str) -> Decimal | None:
    """TRNAMT as Decimal; accepts a decimal comma and a unicode minus, rejects currency signs."""
    raw = (text or "").strip().replace("\u2212", "-").replace(" ", "")
    if not raw:
        return None
    # The separator written last is the decimal one; a lone comma is a decimal comma.
    thousands = "." if raw.rfind(",") > raw.rfind(".") else ","
    if "," in raw and "." in raw:
        raw = raw.replace(thousands, "")
    raw = raw.replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", raw):
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


# --------------------------------------------------------------------------- extraction


@dataclass
class RawTransaction:
    """One STMTTRN as text fields plus the statement it belongs to."""

    fields: dict[str, str]
    acctid: str
    curdef: str


def _clean(text: str | None) -> str:
    return html.unescape(" ".join((text or "").split()))


def _leaf_fields(stmttrn: ET.Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for child in stmttrn:
        if len(child):
            for sub in child:
                if not len(sub):
                    fields.setdefault(f"{child.tag}.{sub.tag}", _clean(sub.text))
        else:
            # An aggregate written empty and an SGML leaf look alike; keep the text.
            fields.setdefault(child.tag, _clean(child.text))
    return fields


def transactions_from_tree(root: ET.Element) -> Iterator[RawTransaction]:
    """STMTTRN elements of an ofxtools element tree with their statement's account and currency."""

    def walk(elem: ET.Element, acctid: str, curdef: str) -> Iterator[RawTransaction]:
        for child in elem:
            if child.tag == "STMTTRN":
                yield RawTransaction(_leaf_fields(child), acctid, curdef)
                continue
            if not len(child):
                continue
            child_acct, child_cur = acctid, curdef
            if child.tag in STATEMENT_TAGS:
                child_acct, child_cur = "", ""
            for sub in child:
                if sub.tag == "CURDEF" and not len(sub):
                    child_cur = _clean(sub.text)
                elif sub.tag.endswith("ACCTFROM"):
                    found = sub.find("ACCTID")
                    if found is not None:
                        child_acct = _clean(found.text)
            yield from walk(child, child_acct, child_cur)

    yield from walk(root, "", "")


def transactions_from_text(body: str) -> Iterator[RawTransaction]:
    """Tolerant scan for STMTTRN blocks when the markup does not form a tree.

    Unclosed blocks end at the next STMTTRN or the end of their list; values
    are whatever text follows a tag, as in SGML.
    """
    acctid = curdef = ""
    current: dict[str, str] | None = None
    sub: str | None = None
    for m in TOKEN_RE.finditer(body):
        closing, tag, text = m.group(1) == "/", m.group(2).upper(), m.group(3)
        value = _clean(text)
        if current is None:
            if closing:
                continue
            if tag in STATEMENT_TAGS:
                acctid = curdef = ""
            elif tag == "ACCTID" and value:
                acctid = value
            elif tag == "CURDEF" and value:
                curdef = value
            elif tag == "STMTTRN":
                current, sub = {}, None
            continue
        if closing:
            if tag == "STMTTRN" or tag in TXN_CONTAINERS:
                yield RawTransaction(current, acctid, curdef)
                current = None
            elif tag == sub:
                sub = None
            continue
        if tag == "STMTTRN":
            yield RawTransaction(current, acctid, curdef)
            current, sub = {}, None
        elif tag in TXN_AGGREGATES and not value:
            sub = tag
        else:
            current.setdefault(f"{sub}.{tag}" if sub else tag, value)
    if current is not None:
        yield RawTransaction(current, acctid, curdef)


def extract(body: str) -> tuple[list[RawTransaction], bool]:
    """Transactions and whether ofxtools' tokenizer could read the markup."""
    try:
        from ofxtools.Parser import TreeBuilder

        # ofxtools logs every tag and value at DEBUG; statement content must not reach logs.
        logging.getLogger("ofxtools").setLevel(logging.WARNING)
        builder = TreeBuilder()
        builder.feed(body)
        root = builder.close()
        if root is None or root.tag != "OFX":
            raise ValueError("no OFX root")
        return list(transactions_from_tree(root)), True
    except Exception:  # any tokenizer failure: the tolerant scan decides what survives
        return list(transactions_from_text(body)), False


# --------------------------------------------------------------------------- records


def _fitid_fallback(raw: RawTransaction, amount_str: str, occurrence: int) -> str:
    f = raw.fields
    key = [
        hash_account(raw.acctid),
        f.get("DTPOSTED", ""),
        amount_str,
        f.get("TRNTYPE", "").upper(),
        f.get("NAME", ""),
        f.get("PAYEE.NAME", f.get("PAYEE", "")),
        f.get("MEMO", ""),
        f.get("CHECKNUM", ""),
        occurrence,
    ]
    return "sha256:" + hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()


def to_record(raw: RawTransaction, occurrence: int) -> Record | str:
    """A transaction record, or the reason (our words) this STMTTRN cannot be one."""
    f = raw.fields
    amount = parse_ofx_amount(f.get("TRNAMT", ""))
    if amount is None:
        return "TRNAMT missing or not a number"
    posted = parse_ofx_datetime(f.get("DTPOSTED", ""))
    if posted is None:
        return "DTPOSTED missing or unparseable"
    when, zone = posted
    amount_str = format(amount, "f")
    account = hash_account(raw.acctid)
    fitid = f.get("FITID", "")
    external_id = f"{account}/{fitid}" if fitid else _fitid_fallback(raw, amount_str, occurrence)
    name = f.get("NAME") or f.get("PAYEE.NAME") or f.get("PAYEE") or ""
    user_date = parse_ofx_datetime(f.get("DTUSER", ""))
    attributes: dict[str, object] = {
        "amount": float(amount),
        "amount_str": amount_str,
        "currency": f.get("CURRENCY.CURSYM") or raw.curdef or None,
        "trntype": f.get("TRNTYPE", "").upper() or None,
        "account": account,
        "checknum": f.get("CHECKNUM") or None,
    }
    if f.get("CATEGORY"):
        attributes["category"] = f["CATEGORY"]
    if f.get("ORIGCURRENCY.CURSYM"):
        attributes["original_currency"] = f["ORIGCURRENCY.CURSYM"]
    if user_date is not None:
        attributes["date_user"] = user_date[0].isoformat()
    return Record(
        source="ofx",
        external_id=external_id,
        kind=TRANSACTION,
        title=name,
        body=f.get("MEMO", ""),
        event_time=when,
        original_tz=zone,
        parties=[Party(role="merchant", name=name)] if name else [],
        attributes=attributes,
    )


class OfxConnector(Connector):
    """Transactions from OFX and QFX statement downloads."""

    kind: ClassVar[str] = "ofx"
    description: ClassVar[str] = "OFX/QFX bank, card and brokerage statements (SGML 1.x and XML 2.x)"
    record_kinds: ClassVar[tuple[str, ...]] = (TRANSACTION,)
    traits: ClassVar[SourceTraits] = SourceTraits(default_tier=HIGH, medium=TRANSACTIONS)

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            sample = head[:HEADER_SNIFF].upper()
            return bool(re.search(rb"OFXHEADER\s*[:=]", sample)) or b"<OFX>" in head.upper()
        except Exception:
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            if path.stat().st_size > MAX_BYTES:
                cap = MAX_BYTES // (1024 * 1024)
                yield ParseIssue("file", f"larger than the {cap} MiB cap for OFX")
                return
            raw = path.read_bytes()
        except OSError as exc:
            yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
            return
        text = decode_ofx(raw)
        start = OFX_START_RE.search(text)
        if start is None:
            yield ParseIssue("file", "no <OFX> element")
            return
        transactions, _ = extract(text[start.start() :])
        if not transactions:
            yield ParseIssue("file", "no STMTTRN transactions (sign-on, profile or holdings-only response)")
            return
        seen: Counter[str] = Counter()
        for index, raw_txn in enumerate(transactions, start=1):
            key = json.dumps([*sorted(raw_txn.fields.items()), raw_txn.acctid])
            occurrence = seen[key]
            seen[key] += 1
            result = to_record(raw_txn, occurrence)
            if isinstance(result, str):
                yield ParseIssue(f"STMTTRN {index}", result)
            else:
                yield result
