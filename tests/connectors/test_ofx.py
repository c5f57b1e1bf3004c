from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.connectors.common import split
from twin_assets.connectors.base import read_head
from twin_assets.connectors.ofx import (
    OfxConnector,
    extract,
    parse_ofx_datetime,
    to_record,
    transactions_from_text,
)
from twin_assets.records import TRANSACTION, ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
FINANCE_SAMPLES = SAMPLES.resolve() / "finance"

SGML_HEADER = (
    "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
    "CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
)


def stmt(transactions: str, acctid: str = "123456789", curdef: str = "EUR") -> str:
    return (
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20240102120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
        f"<STMTRS><CURDEF>{curdef}<BANKACCTFROM><BANKID>999<ACCTID>{acctid}<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>20240101<DTEND>20240131\n{transactions}</BANKTRANLIST>\n"
        "<LEDGERBAL><BALAMT>10.00<DTASOF>20240131</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )


def txn(
    fitid: str | None,
    amount: str,
    name: str = "Bäckerei Müller",
    memo: str = "Brötchen",
    posted: str = "20240105120000.000[-5:EST]",
    extra: str = "",
) -> str:
    fit = f"<FITID>{fitid}\n" if fitid is not None else ""
    return (
        f"<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>{posted}\n<TRNAMT>{amount}\n{fit}"
        f"<NAME>{name}\n<MEMO>{memo}\n{extra}</STMTTRN>\n"
    )


def parse(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    return split(OfxConnector().parse(path))


def test_sgml_with_cp1252_header_but_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "stmt.ofx"
    path.write_bytes((SGML_HEADER + stmt(txn("F1", "-12.50") + txn("F2", "1,000.00"))).encode("utf-8"))
    assert OfxConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert issues == []
    first, second = records
    account = hashlib.sha256(b"123456789").hexdigest()[:12]
    assert first.external_id == f"{account}/F1"
    assert first.source == "ofx" and first.kind == TRANSACTION
    assert first.title == "Bäckerei Müller"  # not "BÃ¤ckerei MÃ¼ller"
    assert first.body == "Brötchen"
    assert first.parties == [Party(role="merchant", name="Bäckerei Müller")]
    assert first.event_time == datetime(2024, 1, 5, 17, 0, tzinfo=UTC)
    assert first.original_tz == "EST"
    assert first.attributes == {
        "amount": -12.5,
        "amount_str": "-12.50",
        "currency": "EUR",
        "trntype": "DEBIT",
        "account": account,
        "checknum": None,
    }
    assert second.attributes["amount_str"] == "1000.00"
    assert "123456789" not in json.dumps([r.to_json() for r in records])


def test_xml_v2_declared_utf8_but_cp1252_bytes(tmp_path: Path) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
        "<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1</TRNUID><CCSTMTRS><CURDEF>USD</CURDEF>"
        "<CCACCTFROM><ACCTID>4111</ACCTID></CCACCTFROM><BANKTRANLIST>"
        "<STMTTRN><TRNTYPE>POS</TRNTYPE><DTPOSTED>20240301</DTPOSTED><TRNAMT>-4.20</TRNAMT>"
        "<FITID>X9</FITID><PAYEE><NAME>Café Noël</NAME></PAYEE><MEMO>Crème brûlée</MEMO></STMTTRN>"
        "</BANKTRANLIST></CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>"
    )
    path = tmp_path / "card.qfx"
    path.write_bytes(body.encode("cp1252"))
    records, issues = parse(path)
    assert issues == []
    (record,) = records
    assert record.title == "Café Noël"  # PAYEE aggregate when NAME is absent
    assert record.body == "Crème brûlée"
    assert record.event_time == datetime(2024, 3, 1, tzinfo=UTC)
    assert record.attributes["currency"] == "USD"
    assert record.external_id.endswith("/X9")


@pytest.mark.parametrize(
    ("text", "expected", "zone"),
    [
        ("20240105", datetime(2024, 1, 5, tzinfo=UTC), None),
        ("20240105120000", datetime(2024, 1, 5, 12, tzinfo=UTC), None),
        ("20240105120000.123[-5:EST]", datetime(2024, 1, 5, 17, 0, 0, 123000, tzinfo=UTC), "EST"),
        ("20240105120000[+5.5:IST]", datetime(2024, 1, 5, 6, 30, tzinfo=UTC), "IST"),
        ("20240105120000[-3]", datetime(2024, 1, 5, 15, tzinfo=UTC), "UTC-03:00"),
        ("20180804093914:014", datetime(2018, 8, 4, 9, 39, 14, 14000, tzinfo=UTC), None),
        ("201120000000", None, None),
        ("", None, None),
    ],
)
def test_ofx_datetimes(text: str, expected: datetime | None, zone: str | None) -> None:
    parsed = parse_ofx_datetime(text)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == (expected, zone)


def test_one_bad_transaction_does_not_lose_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "s.ofx"
    content = txn("A", "-1.00") + txn("B", "$120", name="SECRETSHOP") + txn("C", "2.00", posted="garbage")
    content += txn("D", "-3.00")
    path.write_text(SGML_HEADER + stmt(content), encoding="utf-8")
    records, issues = parse(path)
    assert [r.external_id.split("/")[1] for r in records] == ["A", "D"]
    assert [(i.where, i.reason) for i in issues] == [
        ("STMTTRN 2", "TRNAMT missing or not a number"),
        ("STMTTRN 3", "DTPOSTED missing or unparseable"),
    ]
    assert all("SECRETSHOP" not in i.where + i.reason and "$120" not in i.reason for i in issues)


def test_broken_markup_falls_back_to_tolerant_scan(tmp_path: Path) -> None:
    # A mismatched close tag makes ofxtools' tokenizer give up on the whole file.
    broken = (
        txn("A", "-1.00") + "<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240106<TRNAMT>5.00<FITID>B"
        "<NAME>Shop</MEMO>\n</STMTTRN>" + txn("C", "-2.00")
    )
    body = stmt(broken)
    transactions, used_tree = extract(body)
    assert not used_tree
    assert [t.fields["FITID"] for t in transactions] == ["A", "B", "C"]
    path = tmp_path / "broken.ofx"
    path.write_text(SGML_HEADER + body, encoding="utf-8")
    records, issues = parse(path)
    assert issues == [] and len(records) == 3
    assert records[1].attributes["amount_str"] == "5.00"


def test_long_unclosed_tag_name_does_not_hang_the_tolerant_scan(tmp_path: Path) -> None:
    # "<" and a long tag name with no ">": the scan's tag pattern used to retry every shorter split of the
    # name against the rest of the run (quadratic: 150,000 letters took minutes). Broken markup forces the scan.
    broken = (
        txn("A", "-1.00") + "<STMTTRN><NAME>Shop</MEMO>\n</STMTTRN>" + "<" + "A" * 60_000 + "\n" + txn("C", "-2.00")
    )
    path = tmp_path / "long-tag.ofx"
    path.write_text(SGML_HEADER + stmt(broken), encoding="utf-8")
    started = time.monotonic()
    records, issues = parse(path)
    assert time.monotonic() - started < 5
    assert [r.external_id.split("/")[1] for r in records] == ["A", "C"]
    assert [(i.where, i.reason) for i in issues] == [("STMTTRN 2", "TRNAMT missing or not a number")]


def test_tree_and_fallback_give_identical_records() -> None:
    extra = "<CHECKNUM>0042\n<CATEGORY>Groceries\n<CURRENCY><CURRATE>1.1<CURSYM>USD</CURRENCY>\n"
    body = stmt(txn("A", "-00000000001500.0000", extra=extra) + txn(None, "-3.00") + txn(None, "-3.00"))
    tree_txns, used_tree = extract(body)
    assert used_tree
    text_txns = list(transactions_from_text(body))
    assert [t.fields for t in tree_txns] == [t.fields for t in text_txns]
    tree_records = [to_record(t, i) for i, t in enumerate(tree_txns)]
    text_records = [to_record(t, i) for i, t in enumerate(text_txns)]
    assert [r.to_json() for r in tree_records] == [r.to_json() for r in text_records]
    first = tree_records[0]
    assert first.attributes["amount_str"] == "-1500.0000"  # exact decimal, leading zeros dropped
    assert first.attributes["checknum"] == "0042"
    assert first.attributes["category"] == "Groceries"
    assert first.attributes["currency"] == "USD"  # the transaction's own currency beats CURDEF


def test_missing_fitid_gets_stable_distinct_hash_ids(tmp_path: Path) -> None:
    path = tmp_path / "nofitid.ofx"
    path.write_text(SGML_HEADER + stmt(txn(None, "-3.00") + txn(None, "-3.00")), encoding="utf-8")
    first, _ = parse(path)
    again, _ = parse(path)
    ids = [r.external_id for r in first]
    assert all(i.startswith("sha256:") for i in ids)
    assert len(set(ids)) == 2
    assert ids == [r.external_id for r in again]


def test_accounts_keep_their_own_context(tmp_path: Path) -> None:
    two = stmt(txn("A", "-1.00"), acctid="111").replace("</OFX>\n", "")
    two += "<BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>GBP<BANKACCTFROM><ACCTID>222</BANKACCTFROM>"
    two += "<BANKTRANLIST>" + txn("A", "-2.00") + "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    path = tmp_path / "two.ofx"
    path.write_text(SGML_HEADER + two, encoding="utf-8")
    records, issues = parse(path)
    assert issues == []
    assert [r.attributes["currency"] for r in records] == ["EUR", "GBP"]
    assert len({r.external_id for r in records}) == 2  # same FITID, different accounts


@pytest.mark.parametrize(
    ("content", "recognized"),
    [
        (SGML_HEADER.encode() + b"<OFX></OFX>", True),
        (b'<?xml version="1.0"?><?OFX OFXHEADER="200"?><OFX></OFX>', True),
        (b"Date,Amount\n2024-01-01,5\n", False),
        (b"", False),
    ],
)
def test_recognizes(tmp_path: Path, content: bytes, recognized: bool) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    assert OfxConnector().recognizes(path, read_head(path)) is recognized


def test_file_without_ofx_element_is_one_issue(tmp_path: Path) -> None:
    path = tmp_path / "x.ofx"
    path.write_text("OFXHEADER:100\nnothing else", encoding="utf-8")
    assert list(OfxConnector().parse(path)) == [ParseIssue("file", "no <OFX> element")]
    assert [i.where for i in OfxConnector().parse(tmp_path / "missing.ofx")] == ["file"]


@pytest.mark.samples
@pytest.mark.skipif(not FINANCE_SAMPLES.exists(), reason="shared samples not available")
def test_robust_over_sample_ofx_files() -> None:
    connector = OfxConnector()
    counts: Counter[str] = Counter()
    files = sorted(FINANCE_SAMPLES.rglob("*.ofx"))
    assert files
    for path in files:
        assert connector.recognizes(path, read_head(path)), path.name
        out = list(connector.parse(path))
        assert out, path.name
        records = [r for r in out if isinstance(r, Record)]
        counts["records"] += len(records)
        counts["issues"] += len(out) - len(records)
        counts["files_with_records" if records else "files_with_issues_only"] += 1
        for record in records:
            assert record.event_time is not None and record.attributes["amount_str"]
    print("ofx samples:", dict(counts))
    assert counts["records"] >= 50
