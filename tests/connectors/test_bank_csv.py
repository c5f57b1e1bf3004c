from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.connectors.common import split
from twin_assets.connectors.bank_csv import BankCsvConnector, decode_bytes, parse_amount
from twin_assets.connectors.base import read_head
from twin_assets.errors import ConfigError
from twin_assets.records import TRANSACTION, ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
CSV_SAMPLES = SAMPLES.resolve() / "finance" / "csv"


def parse(path: Path, **kwargs) -> tuple[list[Record], list[ParseIssue]]:
    return split(BankCsvConnector(**kwargs).parse(path))


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


GERMAN = (
    "Umsatzanzeige;Datei erstellt am: 28.12.2018 16:57\n"
    "\n"
    "IBAN;DE12 3456 7890 1234 5678 90\n"
    "Kunde;Erika Mustermann\n"
    "\n"
    "Buchung;Valuta;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Saldo;Währung;Betrag;Währung\n"
    "28.12.2018;28.12.2018;Bäckerei Müller;Lastschrift;Brötchen für Straße;1.150,00;EUR;-5,50;EUR\n"
    "27.12.2018;28.12.2018;Karl Karlsen;Gutschrift;Miete Januar;1.155,50;EUR;1.250,00;EUR\n"
)


def test_german_export_with_preamble_cp1252_and_decimal_comma(tmp_path: Path) -> None:
    path = write(tmp_path, "umsatz.csv", GERMAN, "cp1252")
    assert BankCsvConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert issues == []
    assert len(records) == 2
    first, second = records
    assert first.source == "bank_csv" and first.kind == TRANSACTION
    assert first.title == "Bäckerei Müller"  # cp1252 decoded, not guessed as another code page
    assert "Brötchen für Straße" in first.body
    assert first.parties == [Party(role="merchant", name="Bäckerei Müller")]
    assert first.event_time == datetime(2018, 12, 28, tzinfo=UTC)
    assert first.attributes["date"] == "2018-12-28"
    assert first.attributes["amount"] == -5.5 and first.attributes["amount_str"] == "-5.50"
    assert first.attributes["currency"] == "EUR"
    assert first.attributes["balance"] == 1150.0
    assert second.attributes["amount_str"] == "1250.00"
    assert second.attributes["raw_columns"][0] == "Buchung"
    assert first.external_id.startswith("sha256:") and first.external_id != second.external_id
    json.dumps([r.to_json() for r in records])


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # 13/02 only fits day-first, so 01/02 is the 1st of February too.
        (["01/02/2024,Coffee,-3.50", "13/02/2024,Tea,-2.00"], ["2024-02-01", "2024-02-13"]),
        # 02/13 only fits month-first, so 01/02 is the 2nd of January.
        (["01/02/2024,Coffee,-3.50", "02/13/2024,Tea,-2.00"], ["2024-01-02", "2024-02-13"]),
        (["2024-01-02,Coffee,-3.50", "2024-02-13,Tea,-2.00"], ["2024-01-02", "2024-02-13"]),
        (["02.01.24,Coffee,-3.50", "13.02.24,Tea,-2.00"], ["2024-01-02", "2024-02-13"]),
    ],
)
def test_date_order_is_settled_per_file(tmp_path: Path, rows: list[str], expected: list[str]) -> None:
    path = write(tmp_path, "x.csv", "Date,Description,Amount\n" + "\n".join(rows) + "\n")
    records, issues = parse(path)
    assert issues == []
    assert [r.attributes["date"] for r in records] == expected


def test_us_parentheses_thousands_and_payee(tmp_path: Path) -> None:
    text = (
        "Posting Date,Payee,Memo,Amount,Category,Currency\n"
        '12/31/2023,ACME Corp,"Invoice 7, final","(1,234.56)",Business,usd\n'
        "12/30/2023,Payroll,,2500.00,Income,USD\n"
    )
    records, issues = parse(write(tmp_path, "us.csv", text))
    assert issues == []
    acme, payroll = records
    assert acme.attributes["amount_str"] == "-1234.56"
    assert acme.attributes["category"] == "Business"
    assert acme.attributes["currency"] == "USD"
    assert acme.title == "ACME Corp" and acme.body == "Invoice 7, final"
    assert payroll.attributes["amount"] == 2500.0


def test_separate_debit_credit_columns_french(tmp_path: Path) -> None:
    text = (
        "Relevé de compte\n"
        "Date;Libellé;Débit;Crédit;Solde\n"
        "05/01/2024;CB CARREFOUR;12,50;;987,50\n"
        "06/01/2024;VIR SALAIRE;;1 500,00;2 487,50\n"
    )
    records, issues = parse(write(tmp_path, "releve.csv", text, "cp1252"))
    assert issues == []
    assert [r.attributes["amount_str"] for r in records] == ["-12.50", "1500.00"]
    assert [r.attributes["date"] for r in records] == ["2024-01-05", "2024-01-06"]
    assert records[1].attributes["balance"] == 2487.5


def test_tab_delimiter_direction_column_and_header_currency(tmp_path: Path) -> None:
    text = (
        "Datum\tNaam / Omschrijving\tAf Bij\tBedrag (EUR)\tMededelingen\n"
        "20240105\tAlbert Heijn\tAf\t23,45\tBetaalautomaat\n"
        "20240106\tWerkgever BV\tBij\t2000,00\tSalaris\n"
    )
    records, issues = parse(write(tmp_path, "ing.tsv", text))
    assert issues == []
    assert [r.attributes["amount"] for r in records] == [-23.45, 2000.0]
    assert all(r.attributes["currency"] == "EUR" for r in records)
    assert records[0].title == "Albert Heijn" and records[0].body == "Betaalautomaat"


def test_spanish_header_with_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "movimientos.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "Fecha;Concepto;Importe\n03/02/2024;Café Olé;-2,10\n".encode())
    records, issues = parse(path)
    assert issues == []
    assert records[0].title == "Café Olé"
    assert records[0].attributes["date"] == "2024-02-03"


def test_identical_rows_stay_distinct_and_ids_are_stable(tmp_path: Path) -> None:
    text = (
        "Date,Description,Amount\n"
        "2024-03-01,Coffee Shop,-3.20\n"
        "2024-03-01,Coffee Shop,-3.20\n"
        "2024-03-02,Coffee Shop,-3.20\n"
    )
    path = write(tmp_path, "a.csv", text)
    first, _ = parse(path)
    again, _ = parse(path)
    ids = [r.external_id for r in first]
    assert len(set(ids)) == 3
    assert ids == [r.external_id for r in again]
    # The same transactions exported with another column order and an extra column keep their ids.
    other = write(
        tmp_path,
        "b.csv",
        "Amount;Date;Balance;Description\n-3,20;01.03.2024;10,00;Coffee Shop\n"
        "-3,20;01.03.2024;6,80;Coffee Shop\n-3,20;02.03.2024;3,60;Coffee Shop\n",
    )
    assert [r.external_id for r in parse(other)[0]] == ids


def test_bad_rows_become_issues_without_content(tmp_path: Path) -> None:
    text = (
        "Date,Description,Amount\n"
        "2024-01-01,Rent SECRETCO,-900.00\n"
        "not-a-date,Groceries SECRETCO,-20.00\n"
        "2024-01-03,Pharmacy SECRETCO,twelve\n"
        "\n"
        "2024-01-04,Cinema SECRETCO,-12.00\n"
    )
    records, issues = parse(write(tmp_path, "bad.csv", text))
    assert [r.attributes["date"] for r in records] == ["2024-01-01", "2024-01-04"]
    assert [i.where for i in issues] == ["row 3", "row 4"]
    assert issues[0].reason == "date unparseable" and issues[1].reason == "amount unparseable"
    for issue in issues:
        assert "SECRETCO" not in issue.where + issue.reason and "twelve" not in issue.reason


ODD = "When;What;Who;How much\n01.04.2024;Lunch;Bistro;-14,90\n"


def test_configured_columns_via_constructor(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.csv", ODD)
    assert not BankCsvConnector().recognizes(path, read_head(path))
    assert parse(path)[0] == []
    mapping = {"date": "When", "amount": "How much", "description": "What", "payee": "Who"}
    connector = BankCsvConnector(columns=mapping)
    assert connector.recognizes(path, read_head(path))
    records, issues = parse(path, columns=mapping)
    assert issues == []
    assert records[0].title == "Bistro" and records[0].body == "Lunch"
    assert records[0].attributes["amount_str"] == "-14.90"


def test_configured_columns_via_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "odd.csv", ODD)
    monkeypatch.setenv("TWIN_BANK_CSV_COLUMNS", json.dumps({"date": "When", "amount": "How much"}))
    records, issues = parse(path)
    assert issues == [] and len(records) == 1
    monkeypatch.setenv("TWIN_BANK_CSV_COLUMNS", "{not json")  # refused, not quietly ignored
    with pytest.raises(ConfigError, match=r"TWIN_BANK_CSV_COLUMNS='\{not json' is not valid JSON"):
        parse(path)


@pytest.mark.parametrize(
    "content",
    [
        b"Name,Email,Phone\nAda,ada@example.org,123\n",
        b"12/31/23, 9:41 PM - Alice: Date and amount: 5\n",
        b"\x00\x01\x02binary",
        b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><STMTTRN><TRNAMT>1</STMTTRN></OFX>",
        b"",
    ],
)
def test_does_not_recognize_other_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.txt"
    path.write_bytes(content)
    assert not BankCsvConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert records == [] and issues and issues[0].where == "file"


@pytest.mark.parametrize(
    ("text", "comma", "expected"),
    [
        ("1.234,56", True, Decimal("1234.56")),
        ("1,234.56", False, Decimal("1234.56")),
        ("(12.34)", False, Decimal("-12.34")),
        ("12,34-", True, Decimal("-12.34")),
        ("€ 3,50", True, Decimal("3.50")),
        ("1 234,56", True, Decimal("1234.56")),
        ("\u22125", False, Decimal("-5")),
        ("-0.00", False, Decimal("0.00")),
        ("12.00 DR", False, Decimal("-12.00")),
        ("28.12.2018", True, None),
        ("1234 5678 9012 3456", False, None),
        ("twelve", False, None),
    ],
)
def test_parse_amount(text: str, comma: bool, expected: Decimal | None) -> None:
    parsed = parse_amount(text, comma)
    assert (parsed[0] if parsed else None) == expected


def test_decode_prefers_utf8_and_cp1252_for_western_text() -> None:
    assert decode_bytes("Café crème".encode())[0] == "Café crème"
    assert decode_bytes("Café crème, dépôt".encode("cp1252"))[0] == "Café crème, dépôt"
    assert decode_bytes("Привет, мир! Это тестовая строка для проверки кодировки".encode("cp1251"))[0].startswith(
        "Привет"
    )


@pytest.mark.samples
@pytest.mark.skipif(not CSV_SAMPLES.exists(), reason="shared samples not available")
def test_robust_over_sample_csvs() -> None:
    connector = BankCsvConnector()
    counts: Counter[str] = Counter()
    files = [p for p in sorted(CSV_SAMPLES.rglob("*")) if p.is_file()]
    assert files
    for path in files:
        connector.recognizes(path, read_head(path))
        out = list(connector.parse(path))
        assert out, path.name
        assert all(isinstance(item, Record | ParseIssue) for item in out)
        records = [r for r in out if isinstance(r, Record)]
        counts["files_with_records" if records else "files_with_issues_only"] += 1
        counts["records"] += len(records)
        counts["issues"] += len(out) - len(records)
        for record in records:
            assert record.event_time is not None and record.attributes["amount_str"]
    print("bank_csv samples:", dict(counts))
    assert counts["records"] > 100


def test_unbalanced_quote_swallowing_the_file_is_reported(tmp_path: Path) -> None:
    text = 'Date,Description,Amount\n2024-01-01,Rent,-900.00\n2024-01-02,"SECRET' + "x" * 200_000 + "\n"
    records, issues = parse(write(tmp_path, "q.csv", text))
    assert [r.attributes["date"] for r in records] == ["2024-01-01"]
    assert [i.where for i in issues] == ["row 3"]
    assert "SECRET" not in issues[0].reason


def test_long_line_of_quotes_parses_in_linear_time(tmp_path: Path) -> None:
    # A fuzzed 50 KB export hung in csv.Sniffer: its quote regexes backtrack quadratically over a long line
    # full of ' "' pairs that never close. 12 000 pairs took 13 s before the sniffer sample was bounded.
    text = GERMAN.replace("Miete Januar", "Miete Januar" + ' "A' * 12_000)
    path = write(tmp_path, "long.csv", text)
    started = time.monotonic()
    assert BankCsvConnector().recognizes(path, read_head(path))
    records, _ = parse(path)
    assert time.monotonic() - started < 5
    assert records[0].attributes["amount_str"] == "-5.50"
