"""Bank statement CSV exports: one ``transaction`` record per row.

Every bank invents its own CSV: ``;`` or ``,`` or tabs, decimal commas, a few
lines of account information before the header, debit and credit in separate
columns, ``DD.MM.YY`` or ``MM/DD/YYYY`` dates, headers in the bank's language.
We find the header row by its column names (English, German, French, Dutch,
Spanish and a few more), check the guessed columns against their values, and
settle ambiguous date orders and decimal separators once per file rather than
per row, so a file never mixes interpretations.

A configured mapping (``columns=`` or ``TWIN_BANK_CSV_COLUMNS`` as JSON, e.g.
``{"date": "Posting Date", "amount": "Amount", "description": "Memo"}``)
overrides the guess for the fields it names.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import ClassVar

from twin_assets.connectors.base import SNIFF_BYTES, TRANSACTIONS, Connector, SourceTraits
from twin_assets.connectors.toolkit import Decoded, decode
from twin_assets.records import TRANSACTION, ParseIssue, Party, Record
from twin_assets.settings import BANK_CSV_FIELDS, get_settings
from twin_assets.tiers import HIGH

# Bank exports are small; a bigger "CSV" is almost certainly not a statement and
# would have to be held in memory twice (text + rows) for the per-file decisions.
MAX_BYTES = 64 * 1024 * 1024
HEADER_SCAN_ROWS = 60
VALIDATION_ROWS = 200
DELIMITERS = (",", ";", "\t", "|")
SNIFFER_LINES = 20
SNIFFER_CHARS = 4 * 1024

FIELDS = BANK_CSV_FIELDS  # what a column can be mapped to, in the order columns are assigned (see settings)

# Normalised header names (see ``normalise_header``) per field, best first.
# "valuta" is a value date in German but the currency in Dutch: it is listed
# under both and the column's values decide.
# fmt: off
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": (
        "date", "booking date", "transaction date", "posting date", "posted date", "trans date",
        "buchungstag", "buchungsdatum", "buchung", "datum", "date operation",
        "date de l operation", "date comptable", "fecha", "fecha operacion", "fecha contable",
        "transactiedatum", "boekdatum", "boekingsdatum", "data", "data operazione",
        "started date", "completed date", "created", "created utc", "date posted", "timestamp",
    ),
    "value_date": (
        "value date", "valutadatum", "wertstellung", "wertstellungsdatum", "valuta",
        "date de valeur", "date valeur", "fecha valor", "rentedatum", "data valuta",
    ),
    "amount": (
        "amount", "betrag", "montant", "bedrag", "importe", "importo", "valor", "suma", "umsatz",
        "transaction amount", "amount eur", "betrag eur", "montant eur", "bedrag eur",
        "mutatie", "net", "gross", "value",
    ),
    "debit": (
        "debit", "debit amount", "soll", "debet", "af", "withdrawal", "withdrawals", "paid out",
        "money out", "outflow", "ausgang", "ausgabe", "cargo", "debits", "uitgaven", "debito",
        "sent amount",
    ),
    "credit": (
        "credit", "credit amount", "haben", "bij", "deposit", "deposits", "paid in", "money in",
        "inflow", "eingang", "einnahme", "abono", "credits", "inkomsten", "credito",
        "received amount",
    ),
    "direction": (
        "af bij", "creditdebet", "credit debet", "debit credit", "credit debit", "d k", "s h",
        "soll haben", "dr cr", "cr dr", "debit credit indicator", "credit debit indicator",
    ),
    "balance": (
        "balance", "saldo", "solde", "kontostand", "running balance", "saldo na mutatie",
        "balance after", "likutis", "boeksaldo", "saldo nach buchung",
    ),
    "currency": (
        "currency", "wahrung", "waehrung", "devise", "monnaie", "moneda", "valuta", "valutacode",
        "valiuta", "commodity", "ccy", "cur", "currency code",
    ),
    "payee": (
        "payee", "empfanger", "empfaenger", "auftraggeber empfanger", "auftraggeber empfaenger",
        "beguenstigter zahlungspflichtiger", "begunstigter zahlungspflichtiger",
        "zahlungsempfanger", "empfangername", "auftraggeber", "auftraggebername", "name",
        "merchant", "counterparty", "counterparty name", "naam", "naam omschrijving",
        "tegenrekeninghouder", "naam tegenpartij", "beneficiaire", "tiers", "beneficiario",
        "gavejas", "payee name", "merchant name",
    ),
    "description": (
        "description", "verwendungszweck", "libelle", "libelle operation", "omschrijving",
        "concepto", "descripcion", "details", "transaction details", "narrative", "purpose",
        "mededelingen", "paaiskinimai", "remarque", "umsatztext", "buchungstext", "text",
        "transaction description",
    ),
    "memo": (
        "memo", "notes", "note", "mitteilung", "reference", "referenz", "communication",
        "referencia", "info", "item title", "zahlungsreferenz", "comment",
    ),
    "category": (
        "category", "kategorie", "categorie", "categoria", "sub category", "master category",
    ),
}
# fmt: on

CONFIGURABLE = set(FIELDS)


def _words_re(*fields: str) -> re.Pattern[str]:
    words = sorted({w for f in fields for w in SYNONYMS[f]}, key=len, reverse=True)
    return re.compile(r"(?:^| )(?:" + "|".join(re.escape(w) for w in words) + r")(?: |$)")


# Cheap pre-check so detection does not map every line of every text file it is shown.
DATE_HINT_RE = _words_re("date", "value_date")
AMOUNT_HINT_RE = _words_re("amount", "debit", "credit")

DEBIT_WORDS = {"af", "d", "debit", "debet", "s", "soll", "dr", "db", "-", "out", "debito"}
CREDIT_WORDS = {"bij", "c", "credit", "k", "h", "haben", "cr", "+", "in", "credito"}

CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₽": "RUB", "CHF": "CHF"}

# charset-normalizer cannot tell the Western single-byte code pages apart on a
# few hundred bytes (it calls French cp1252 "cp1250" or "mac_iceland"), so any
# guess from this family is replaced by cp1252, the de-facto default of banks.

LINE_RE = re.compile(r"\r\n|\r|\n")
DATE_RE = re.compile(r"^\s*(\d{1,4})([./\-:])(\d{1,2})\2(\d{1,4})(?!\d)")
COMPACT_DATE_RE = re.compile(r"^\s*((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
AMOUNT_CORE_RE = re.compile(r"\d[\d.,'\s\u00a0\u202f]*")
CODE_RE = re.compile(r"\b([A-Z]{3})\b")
# "Betrag (EUR)", "Amount USD": a code after the name, never the whole header.
# A currency code closing a header ("Betrag (EUR)"); the separators are matched only from where their run starts
# and possessively, so a header of "((((…" costs linear time.
HEADER_CODE_RE = re.compile(r"(?<=[^\s(\[])[\s(\[]++([A-Z]{3})[)\]]?\s*+$")


# --------------------------------------------------------------------------- decoding


def decode_bytes(raw: bytes, declared: str | None = None) -> Decoded:
    """Text and the encoding used: BOM, strict UTF-8, the declared charset, then a guess.

    Valid UTF-8 beats a declared single-byte charset because exports often
    declare cp1252 while writing UTF-8, and non-ASCII cp1252 is almost never
    valid UTF-8 by accident; a Latin-family guess loses to cp1252 (see ``toolkit.decode``).
    """
    return decode(raw, declared, western=True)


# --------------------------------------------------------------------------- headers


def normalise_header(name: str) -> str:
    """Lower case, accents and punctuation removed: ``"Empfänger "`` → ``"empfanger"``."""
    text = unicodedata.normalize("NFKD", name.replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return " ".join(text.split())


def _rank(header: str, synonyms: tuple[str, ...]) -> int | None:
    """Position of the best synonym ``header`` matches; prefixed forms ("amount eur") rank lower."""
    if not header:
        return None
    for i, syn in enumerate(synonyms):
        if header == syn:
            return i
    for i, syn in enumerate(synonyms):
        if header.startswith(syn + " ") and len(syn) > 2:
            return 100 + i
    return None


@dataclass
class ColumnMap:
    """Column indexes per field, best first; a row takes the first non-empty one."""

    columns: dict[str, list[int]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    def has_amount(self) -> bool:
        return bool(self.columns.get("amount") or self.columns.get("debit") or self.columns.get("credit"))

    def has_date(self) -> bool:
        return bool(self.columns.get("date") or self.columns.get("value_date"))

    def usable(self) -> bool:
        return self.has_date() and self.has_amount()


def map_header(row: list[str], configured: dict[str, str] | None = None) -> ColumnMap | None:
    """Guess which column holds which field from the header names alone.

    Configured names win for their fields and must all be present; returns None
    when a configured name is missing.
    """
    normalised = [normalise_header(cell) for cell in row]
    used: set[int] = set()
    result = ColumnMap(header=[cell.strip() for cell in row])
    if configured:
        for fld, name in configured.items():
            want = normalise_header(name)
            idx = next((i for i, h in enumerate(normalised) if h == want and i not in used), None)
            if idx is None:
                return None
            result.columns[fld] = [idx]
            used.add(idx)
    for fld in FIELDS:
        if fld in result.columns:
            continue
        ranked = []
        for i, h in enumerate(normalised):
            if i in used:
                continue
            r = _rank(h, SYNONYMS[fld])
            if r is not None:
                ranked.append((r, i))
        if ranked:
            ranked.sort()
            result.columns[fld] = [i for _, i in ranked]
    # A column claimed by two fields stays with the earlier field in FIELDS; value
    # dates claim nothing, so "valuta" can also be tried as a currency and the
    # values settle it.
    seen: set[int] = set(used)
    for fld in FIELDS:
        if configured and fld in configured:
            continue
        keep = [i for i in result.columns.get(fld, []) if i not in seen]
        if fld != "value_date":
            seen.update(keep)
        if keep:
            result.columns[fld] = keep
        else:
            result.columns.pop(fld, None)
    return result


# --------------------------------------------------------------------------- values


def cell(row: list[str], idx: int) -> str:
    return row[idx].strip() if idx < len(row) else ""


def first_value(row: list[str], indexes: Iterable[int]) -> tuple[str, int | None]:
    for idx in indexes:
        value = cell(row, idx)
        if value:
            return value, idx
    return "", None


def date_parts(text: str) -> tuple[str, str, str, str] | None:
    """Three numeric parts and the separator of a date, or None."""
    m = COMPACT_DATE_RE.match(text)
    if m:
        return m.group(1), m.group(2), m.group(3), ""
    m = DATE_RE.match(text)
    if m:
        return m.group(1), m.group(3), m.group(4), m.group(2)
    return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 2000 if year < 70 else 1900
    return year


def build_date(parts: tuple[str, str, str, str], order: str) -> date | None:
    a, b, c, _ = parts
    try:
        if len(a) == 4 or order == "YMD":
            return date(int(a), int(b), int(c))
        if order == "DMY":
            return date(_year(c), int(b), int(a))
        return date(_year(c), int(a), int(b))
    except ValueError:
        return None


def choose_date_order(values: Iterable[str], decimal_comma: bool) -> str:
    """DMY or MDY: the one that makes every date valid; ties by separator and decimal style."""
    valid = {"DMY": 0, "MDY": 0}
    seps: Counter[str] = Counter()
    for value in values:
        parts = date_parts(value)
        if parts is None or len(parts[0]) == 4:
            continue
        seps[parts[3]] += 1
        for order in valid:
            if build_date(parts, order) is not None:
                valid[order] += 1
    if valid["DMY"] != valid["MDY"]:
        return max(valid, key=lambda k: valid[k])
    # Every date fits both orders: "/" with a decimal point is the US habit,
    # dots, dashes and decimal commas are European.
    sep = seps.most_common(1)[0][0] if seps else "."
    return "MDY" if sep == "/" and not decimal_comma else "DMY"


_MONTHS = re.compile(r"[A-Za-z]{3,}")


def parse_date(text: str, order: str) -> date | None:
    parts = date_parts(text)
    if parts is not None:
        return build_date(parts, order)
    if _MONTHS.search(text) and re.search(r"\d", text):
        try:
            from dateutil import parser as dateparser

            return dateparser.parse(text, dayfirst=(order == "DMY"), fuzzy=False).date()
        except (ValueError, OverflowError, TypeError):
            return None
    return None


def detect_decimal_comma(values: Iterable[str], delimiter: str) -> bool:
    """Whether a file writes ``1.234,56``; decided from the values that are unambiguous."""
    comma = point = 0
    for value in values:
        core = _amount_core(value)
        if not core:
            continue
        core = re.sub(r"[\s'\u00a0\u202f]", "", core)
        if "," in core and "." in core:
            if core.rfind(",") > core.rfind("."):
                comma += 1
            else:
                point += 1
        elif "," in core:
            if re.search(r",\d{3}$", core) and core.count(",") >= 1 and not re.search(r",\d{1,2}$", core):
                continue  # "1,234" could be either
            comma += 1
        elif "." in core:
            if core.count(".") > 1:
                comma += 1  # "1.234.567" only groups thousands
            elif not re.search(r"\.\d{3}$", core):
                point += 1
    if comma != point:
        return comma > point
    return delimiter == ";"


def _amount_core(text: str) -> str:
    m = AMOUNT_CORE_RE.search(text)
    return m.group(0).strip() if m else ""


def parse_amount(text: str, decimal_comma: bool) -> tuple[Decimal, str | None] | None:
    """A signed Decimal and any currency named in the cell; None when it is not a number.

    Understands ``(12.34)``, ``12.34-``, ``-1.234,56``, ``−5``, ``€ 3,50``, ``1 234,56``,
    ``12.00 DR``; thousands groups must have three digits so dates and card numbers fail.
    """
    raw = text.strip()
    m = AMOUNT_CORE_RE.search(raw) if raw else None
    if not m:
        return None
    core = m.group(0).strip()
    before, after = raw[: m.start()].strip(), raw[m.start() + len(core) :].strip()
    negative = (
        before.endswith(("-", "\u2212", "\u2013"))
        or (before.startswith("(") and after.endswith(")"))
        or after.startswith("-")
        or bool(re.search(r"\bDR$", after, re.I))
    )
    leftovers = re.sub(r"[-\u2212\u2013+()]|\b(?:DR|CR)\b", " ", f"{before} {after}", flags=re.I)
    code = CODE_RE.search(leftovers)
    currency = code.group(1) if code else None
    rest = CODE_RE.sub(" ", leftovers)
    for symbol, iso in CURRENCY_SYMBOLS.items():
        if symbol in rest:
            currency = currency or iso
            rest = rest.replace(symbol, " ")
    # Letters or digits left over mean a date, a sentence or a second number, not an amount.
    if re.search(r"[0-9A-Za-z]", rest):
        return None
    if "," in core and "." in core:
        dec = "," if core.rfind(",") > core.rfind(".") else "."
    else:
        dec = "," if decimal_comma else "."
    integer, _, fraction = core.rpartition(dec) if dec in core else (core, "", "")
    groups = re.split(r"[\s'\u00a0\u202f.,]+", integer)
    if not all(g.isdigit() for g in groups) or (fraction and not fraction.isdigit()):
        return None
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    try:
        value = Decimal("".join(groups) + (f".{fraction}" if fraction else ""))
    except InvalidOperation:
        return None
    return (-value if negative else value), currency


def amount_string(value: Decimal) -> str:
    text = format(value, "f")
    return "0" if text in ("-0", "+0") else text


def _valid_ratio(values: list[str], check) -> float:
    filled = [v for v in values if v]
    if not filled:
        return 0.0
    return sum(1 for v in filled if check(v)) / len(filled)


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """Everything decided once per file."""

    delimiter: str
    header_row: int  # index into the parsed rows
    columns: ColumnMap
    decimal_comma: bool
    date_order: str
    header_currency: str | None


def sniff_delimiters(lines: list[str]) -> list[str]:
    """Candidate delimiters, most likely first (csv.Sniffer, then consistent per-line counts)."""
    # csv.Sniffer's quote regexes backtrack super-linearly on long lines (a fuzzed 52 KB file took 17 s), so it only
    # sees a bounded sample; the per-line counts below still look at every candidate line.
    sample = "\n".join(lines[:SNIFFER_LINES])[:SNIFFER_CHARS]
    order: list[str] = []
    with contextlib.suppress(csv.Error):
        order.append(csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter)
    scores = {}
    for d in DELIMITERS:
        counts = [line.count(d) for line in lines[:50] if line.strip()]
        nonzero = [c for c in counts if c]
        if not nonzero:
            scores[d] = 0
            continue
        mode, freq = Counter(nonzero).most_common(1)[0]
        scores[d] = freq * (1 + min(mode, 10))
    for d in sorted(DELIMITERS, key=lambda d: -scores[d]):
        if d not in order:
            order.append(d)
    return order


def read_rows(text: str, delimiter: str, stopped: list[int] | None = None) -> list[tuple[int, list[str]]]:
    """Rows with their 1-based line numbers; tolerant of stray quotes.

    A row the csv module cannot read (a field over its size limit, usually an
    unbalanced quote swallowing the rest of the file) ends the reading; its line
    number is appended to ``stopped``.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=False)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error:
        if stopped is not None:
            stopped.append(line)
    return rows


def find_layout(text: str, configured: dict[str, str] | None) -> Layout | None:
    wanted = HEADER_SCAN_ROWS + VALIDATION_ROWS
    lines = LINE_RE.split(text, maxsplit=wanted)[:wanted]
    if not configured and not any(
        DATE_HINT_RE.search(norm) and AMOUNT_HINT_RE.search(norm)
        for norm in (normalise_header(line) for line in lines[:HEADER_SCAN_ROWS])
    ):
        return None  # no line names a date and an amount: skip the costly sniffing
    for delimiter in sniff_delimiters(lines):
        rows = read_rows("\n".join(lines), delimiter)
        for idx, (_, row) in enumerate(rows[:HEADER_SCAN_ROWS]):
            if len([c for c in row if c.strip()]) < 2:
                continue
            if not configured:
                joined = " ".join(normalise_header(c) for c in row)
                if not (DATE_HINT_RE.search(joined) and AMOUNT_HINT_RE.search(joined)):
                    continue
            columns = map_header(row, configured)
            if columns is None or not columns.usable():
                continue
            data = [r for _, r in rows[idx + 1 : idx + 1 + VALIDATION_ROWS] if any(c.strip() for c in r)]
            layout = _validate(columns, data, delimiter, idx, configured or {})
            if layout is not None:
                return layout
    return None


def _validate(
    columns: ColumnMap, data: list[list[str]], delimiter: str, header_idx: int, configured: dict[str, str]
) -> Layout | None:
    """Drop guessed columns whose values do not fit the field; None if date or amount is lost."""

    def values(idx: int) -> list[str]:
        return [cell(r, idx) for r in data]

    money_cols = [i for f in ("amount", "debit", "credit", "balance") for i in columns.columns.get(f, [])]
    decimal_comma = detect_decimal_comma((v for i in money_cols for v in values(i)), delimiter)
    date_cols = [i for f in ("date", "value_date") for i in columns.columns.get(f, [])]
    order = choose_date_order((v for i in date_cols for v in values(i)), decimal_comma)

    def is_date(v: str) -> bool:
        return parse_date(v, order) is not None

    def is_amount(v: str) -> bool:
        return parse_amount(v, decimal_comma) is not None

    def is_currency(v: str) -> bool:
        return bool(re.fullmatch(r"[A-Za-z]{3}", v)) or v in CURRENCY_SYMBOLS

    checks = {
        "date": is_date,
        "value_date": is_date,
        "amount": is_amount,
        "debit": is_amount,
        "credit": is_amount,
        "balance": is_amount,
        "currency": is_currency,
    }
    if data:
        for fld, check in checks.items():
            if fld in configured or fld not in columns.columns:
                continue
            keep = [i for i in columns.columns[fld] if _valid_ratio(values(i), check) >= 0.5]
            if keep:
                columns.columns[fld] = keep
            else:
                columns.columns.pop(fld)
        if "amount" in columns.columns:
            # With a real amount column, debit/credit look-alikes are something else,
            # and only the best-named amount column counts (PayPal: Gross, Fee, Net).
            for fld in ("debit", "credit"):
                if fld not in configured:
                    columns.columns.pop(fld, None)
            columns.columns["amount"] = columns.columns["amount"][:1]
    if not columns.usable():
        return None
    header_currency = None
    for idx in columns.columns.get("amount", []) + columns.columns.get("debit", []):
        m = HEADER_CODE_RE.search(columns.header[idx]) if idx < len(columns.header) else None
        if m:
            header_currency = m.group(1)
            break
    return Layout(delimiter, header_idx, columns, decimal_comma, order, header_currency)


# --------------------------------------------------------------------------- rows


def _norm_text(text: str) -> str:
    return " ".join(text.split())


def row_to_fields(row: list[str], layout: Layout) -> dict[str, object] | str:
    """The transaction fields of one row, or the reason (our words) it cannot be read."""
    cols = layout.columns.columns
    date_text, _ = first_value(row, cols.get("date", []) + cols.get("value_date", []))
    if not date_text:
        return "date missing"
    when = parse_date(date_text, layout.date_order)
    if when is None:
        return "date unparseable"
    currency_hint = None
    amount: Decimal | None = None
    amount_text, _ = first_value(row, cols.get("amount", []))
    if amount_text:
        parsed = parse_amount(amount_text, layout.decimal_comma)
        if parsed is None:
            return "amount unparseable"
        amount, currency_hint = parsed
    else:
        debit_text, _ = first_value(row, cols.get("debit", []))
        credit_text, _ = first_value(row, cols.get("credit", []))
        debit = parse_amount(debit_text, layout.decimal_comma) if debit_text else None
        credit = parse_amount(credit_text, layout.decimal_comma) if credit_text else None
        if (debit_text and debit is None) or (credit_text and credit is None):
            return "debit/credit unparseable"
        if debit is None and credit is None:
            return "amount missing"
        amount = (credit[0] if credit else Decimal(0)) - (abs(debit[0]) if debit else Decimal(0))
        currency_hint = (debit and debit[1]) or (credit and credit[1]) or None
    direction, _ = first_value(row, cols.get("direction", []))
    if direction:
        word = normalise_header(direction) or direction.strip()
        if word in DEBIT_WORDS:
            amount = -abs(amount)
        elif word in CREDIT_WORDS:
            amount = abs(amount)
    currency_text, _ = first_value(row, cols.get("currency", []))
    currency = currency_text.upper() if re.fullmatch(r"[A-Za-z]{3}", currency_text) else None
    currency = currency or CURRENCY_SYMBOLS.get(currency_text) or currency_hint or layout.header_currency
    balance = None
    balance_text, _ = first_value(row, cols.get("balance", []))
    if balance_text:
        parsed_balance = parse_amount(balance_text, layout.decimal_comma)
        balance = float(parsed_balance[0]) if parsed_balance else None
    payee, _ = first_value(row, cols.get("payee", []))
    description, _ = first_value(row, cols.get("description", []))
    memo, _ = first_value(row, cols.get("memo", []))
    category, _ = first_value(row, cols.get("category", []))
    return {
        "date": when,
        "amount": amount,
        "currency": currency,
        "balance": balance,
        "payee": _norm_text(payee),
        "description": _norm_text(description),
        "memo": _norm_text(memo),
        "category": _norm_text(category) or None,
    }


def transaction_key(fields: dict[str, object]) -> list[object]:
    """The normalised fields that identify a transaction, independent of the export's layout."""
    day, amount = fields["date"], fields["amount"]
    assert isinstance(day, date) and isinstance(amount, Decimal)  # as row_to_fields sets them
    return [
        day.isoformat(),
        amount_string(amount),
        fields["currency"] or "",
        fields["payee"],
        fields["description"],
        fields["memo"],
    ]


def fields_to_record(fields: dict[str, object], occurrence: int, header: list[str]) -> Record:
    key = [*transaction_key(fields), occurrence]
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()
    payee = str(fields["payee"])
    description = str(fields["description"])
    memo = str(fields["memo"])
    title = payee or description or memo
    body_parts = [p for p in (description, memo) if p and p != title]
    when: date = fields["date"]  # type: ignore[assignment]
    amount: Decimal = fields["amount"]  # type: ignore[assignment]
    return Record(
        source="bank_csv",
        external_id=f"sha256:{digest}",
        kind=TRANSACTION,
        title=title,
        body="\n".join(body_parts),
        event_time=datetime(when.year, when.month, when.day, tzinfo=UTC),
        parties=[Party(role="merchant", name=payee)] if payee else [],
        attributes={
            "date": when.isoformat(),
            "amount": float(amount),
            "amount_str": amount_string(amount),
            "currency": fields["currency"],
            "balance": fields["balance"],
            "category": fields["category"],
            "raw_columns": [h for h in header],
        },
    )


def configured_columns(explicit: dict[str, str] | None) -> tuple[dict[str, str] | None, str | None]:
    """The column mapping to use: the constructor's, else ``TWIN_BANK_CSV_COLUMNS`` (validated by the settings,
    so there is no problem to report from it)."""
    if explicit:
        return {k: v for k, v in explicit.items() if k in CONFIGURABLE and v}, None
    return get_settings().bank_csv.columns or None, None


class BankCsvConnector(Connector):
    """Transactions from a bank's CSV export."""

    kind: ClassVar[str] = "bank_csv"
    description: ClassVar[str] = "Bank statement CSV exports (any delimiter, decimal comma, preamble lines)"
    record_kinds: ClassVar[tuple[str, ...]] = (TRANSACTION,)
    traits: ClassVar[SourceTraits] = SourceTraits(default_tier=HIGH, medium=TRANSACTIONS)

    def __init__(self, columns: dict[str, str] | None = None) -> None:
        self.columns = columns

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if not head or b"\x00" in head[:4096] or head.lstrip().startswith((b"<", b"{", b"[", b"PK")):
                return False
            text, _ = decode_bytes(head)
            if len(head) >= SNIFF_BYTES and "\n" in text:
                text = text[: text.rfind("\n")]  # the last line may be cut mid-field
            mapping, _ = configured_columns(self.columns)
            return find_layout(text, mapping) is not None
        except Exception:
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        mapping, config_problem = configured_columns(self.columns)
        if config_problem:
            yield ParseIssue("config", config_problem)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                cap = MAX_BYTES // (1024 * 1024)
                yield ParseIssue("file", f"larger than the {cap} MiB cap for bank CSVs")
                return
            raw = path.read_bytes()
        except OSError as exc:
            yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
            return
        if b"\x00" in raw[:4096]:
            yield ParseIssue("file", "binary data, not a CSV text file")
            return
        text, _ = decode_bytes(raw)
        layout = find_layout(text, mapping)
        if layout is None:
            yield ParseIssue("file", "no header row with recognisable date and amount columns")
            return
        stopped: list[int] = []
        rows = read_rows(text, layout.delimiter, stopped)
        seen: Counter[str] = Counter()
        header = layout.columns.header
        data_rows = 0
        for line, row in rows[layout.header_row + 1 :]:
            if not any(c.strip() for c in row):
                continue
            data_rows += 1
            fields = row_to_fields(row, layout)
            if isinstance(fields, str):
                yield ParseIssue(f"row {line}", fields)
                continue
            key = json.dumps(transaction_key(fields), ensure_ascii=False)
            occurrence = seen[key]
            seen[key] += 1
            yield fields_to_record(fields, occurrence, header)
        for line in stopped:
            yield ParseIssue(f"row {line}", "unreadable CSV from here on (oversized field or unbalanced quote)")
        if not data_rows and not stopped:
            yield ParseIssue("file", "header found but no transaction rows")
