"""ContactsConnector: vCard 2.1/3.0/4.0, legacy encodings, blobs and broken cards."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.connectors.common import split
from twin_assets.connectors.base import read_head
from twin_assets.connectors.contacts import (
    ContactsConnector,
    normalise_phone,
    parse_birthday,
    parse_revision,
)
from twin_assets.records import ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
CONTACT_SAMPLES = SAMPLES.resolve() / "contacts"


def crlf(text: str) -> str:
    return "\r\n".join(text.strip("\n").split("\n")) + "\r\n"


def write(tmp_path: Path, data: bytes, name: str = "contacts.vcf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def parse(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    return split(ContactsConnector().parse(path))


V21_QP = crlf("""
BEGIN:VCARD
VERSION:2.1
N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen;;;
FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FCller
NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Erste Zeile=0D=0AZweite Zeile, die sehr lang ist und =
deshalb umgebrochen wurde, mit Gr=FC=DFen
ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:B=C3=A4ckerei Sch=
=C3=B6n;Verkauf
TEL;CELL;VOICE:+49 (171) 123-4567
TEL;HOME:030 1234 5678
EMAIL;PREF;INTERNET:Juergen.Mueller@Example.COM
BDAY:19800321
END:VCARD
""")


def test_vcard21_quoted_printable_soft_breaks_and_charset(tmp_path: Path) -> None:
    records, issues = parse(write(tmp_path, V21_QP.encode("ascii")))
    assert issues == []
    [record] = records
    assert record.source == "contacts"
    assert record.kind == "contact"
    assert record.title == "Jürgen Müller"
    assert "Erste Zeile\nZweite Zeile, die sehr lang ist und deshalb umgebrochen wurde, mit Grüßen" in record.body
    assert record.attributes["org"] == "Bäckerei Schön"
    assert record.attributes["department"] == "Verkauf"
    assert record.attributes["phones"] == ["+491711234567", "03012345678"]
    assert record.attributes["emails"] == ["juergen.mueller@example.com"]
    assert record.attributes["birthday"] == "1980-03-21"
    assert record.attributes["vcard_version"] == "2.1"
    assert record.parties == [
        Party(role="contact", name="Jürgen Müller", email="juergen.mueller@example.com", phone="+491711234567")
    ]
    assert record.external_id.startswith("sha256:")
    assert record.event_time is None


V30 = crlf(r"""
BEGIN:VCARD
VERSION:3.0
PRODID:-//Apple Inc.//iOS 17//EN
UID:4f1c2e2a-0001
N:Doe;Jane;Q.,R.;Dr.;PhD
FN:Dr. Jane Doe
NICKNAME:JD,Janie
ORG:Acme\, Inc.;Research
TITLE:Chief Scientist
item1.EMAIL;type=INTERNET;type=HOME:jane@home.example
EMAIL;TYPE=work,pref:Jane.Doe@Acme.example
TEL;TYPE=CELL:+1 (555) 010-9999 ext. 12
item2.ADR;type=HOME:;;1 Main St\nApt 4;Springfield;IL;62701;USA
URL:https://acme.example/~jane
CATEGORIES:Work,Friends\, close
NOTE:Met at the conference\, liked the talk.\nFollow up in May.
BDAY;VALUE=date:1975-12-24
REV:2023-04-05T06:07:08Z
X-SOCIALPROFILE;type=twitter:https://twitter.example/jane
END:VCARD
""")


def test_vcard30_fields(tmp_path: Path) -> None:
    # A long line folded the RFC way must come back whole.
    folded = V30.replace("NOTE:Met at the conference", "NOTE:Met at the con\r\n ference")
    records, issues = parse(write(tmp_path, folded.encode()))
    assert issues == []
    [record] = records
    attrs = record.attributes
    assert record.external_id == "4f1c2e2a-0001"
    assert attrs["uid"] == "4f1c2e2a-0001"
    assert record.title == "Dr. Jane Doe"
    assert attrs["emails"] == ["jane.doe@acme.example", "jane@home.example"]  # preferred first
    assert attrs["phones"] == ["+15550109999"]
    assert attrs["org"] == "Acme, Inc."
    assert attrs["title"] == "Chief Scientist"
    assert attrs["nicknames"] == ["JD", "Janie"]
    assert attrs["categories"] == ["Work", "Friends, close"]
    assert attrs["addresses"] == ["1 Main St, Apt 4, Springfield, IL, 62701, USA"]
    assert attrs["urls"] == ["https://acme.example/~jane"]
    assert attrs["birthday"] == "1975-12-24"
    assert attrs["vcard_version"] == "3.0"
    assert record.event_time == datetime(2023, 4, 5, 6, 7, 8, tzinfo=UTC)
    assert "Met at the conference, liked the talk.\nFollow up in May." in record.body
    assert "Organisation: Acme, Inc. / Research" in record.body
    assert "Title: Chief Scientist" in record.body


V40 = crlf("""
BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:03a0e51f-d1aa-4385-8a53-e29025acd8af
KIND:individual
N:Perreault;Simon;;;ing. jr,M.Sc.
GENDER:M
BDAY:--0415
EMAIL;TYPE=home:simon@home.example
EMAIL;TYPE=work;PREF=1:simon.perreault@viagenie.example
TEL;VALUE=uri;TYPE="voice,cell";PREF=1:tel:+1-418-262-6501
TEL;VALUE=uri;TYPE="work,voice":tel:+1-418-656-9254;ext=102
ADR;TYPE=work:;Suite D2-630;2875 Laurier;Quebec;QC;G1V 2M2;Canada
REV:20220101T120000Z
END:VCARD
""")


def test_vcard40_fields(tmp_path: Path) -> None:
    records, issues = parse(write(tmp_path, V40.encode()))
    assert issues == []
    [record] = records
    attrs = record.attributes
    assert record.external_id == "urn:uuid:03a0e51f-d1aa-4385-8a53-e29025acd8af"
    assert record.title == "Simon Perreault ing. jr M.Sc."  # no FN: composed from N
    assert attrs["emails"][0] == "simon.perreault@viagenie.example"
    assert attrs["phones"] == ["+14182626501", "+14186569254"]  # tel: URIs, extension dropped
    assert attrs["birthday"] == "--04-15"
    assert attrs["addresses"] == ["Suite D2-630, 2875 Laurier, Quebec, QC, G1V 2M2, Canada"]
    assert attrs["vcard_version"] == "4.0"
    assert record.event_time == datetime(2022, 1, 1, 12, tzinfo=UTC)


def test_latin1_file_without_charset(tmp_path: Path) -> None:
    text = crlf("""
BEGIN:VCARD
VERSION:3.0
FN:Jürgen Müller
N:Müller;Jürgen;;;
NOTE:Grüße aus Köln und schöne Größe
END:VCARD
""")
    records, issues = parse(write(tmp_path, text.encode("latin-1")))
    assert issues == []
    [record] = records
    assert record.title == "Jürgen Müller"
    assert "Grüße aus Köln und schöne Größe" in record.body
    assert "\ufffd" not in record.body


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda s: s.encode("utf-16"), id="utf-16-bom"),
        pytest.param(lambda s: ("\ufeff" + s).encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(lambda s: s.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(lambda s: ("\ufeff" + s).encode("utf-8"), id="utf-8-bom"),
    ],
)
def test_utf16_and_bom_files(tmp_path: Path, encode) -> None:
    text = crlf("""
BEGIN:VCARD
VERSION:3.0
UID:zoe-1
FN:Zoë Ångström
EMAIL:zoe@example.org
END:VCARD
BEGIN:VCARD
VERSION:3.0
UID:zoe-2
FN:Łukasz Żółć
END:VCARD
""")
    path = write(tmp_path, encode(text))
    assert ContactsConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert issues == []
    assert [r.title for r in records] == ["Zoë Ångström", "Łukasz Żółć"]
    assert [r.external_id for r in records] == ["zoe-1", "zoe-2"]


def test_big_photo_is_skipped_not_stored(tmp_path: Path) -> None:
    marker = "QkxPQk1BUktFUg"  # base64-looking text that must never reach a record
    folded = "\r\n".join(" " + (marker * 6)[:74] for _ in range(30_000))  # ~2.2 MB, RFC folding
    one_line_logo = "LOGO:data:image/png;base64," + marker * 100_000  # 1.4 MB on one line
    text = (
        crlf("""
BEGIN:VCARD
VERSION:3.0
FN:With Photo
""")
        + "PHOTO;ENCODING=b;TYPE=JPEG:"
        + marker
        + "\r\n"
        + folded
        + "\r\n"
        + one_line_logo
        + "\r\n"
        + crlf("""
EMAIL:after.photo@example.com
END:VCARD
BEGIN:VCARD
VERSION:2.1
FN:Old Phone
PHOTO;ENCODING=BASE64;TYPE=JPEG:
""")
        # vCard 2.1 writers often leave base64 lines unindented and end them with a blank line.
        + "\r\n".join((marker * 5)[:72] for _ in range(200))
        + "\r\n\r\n"
        + crlf("""
TEL;CELL:+44 20 7946 0000
END:VCARD
""")
    )
    records, issues = parse(write(tmp_path, text.encode()))
    assert issues == []
    assert [r.title for r in records] == ["With Photo", "Old Phone"]
    assert records[0].attributes["emails"] == ["after.photo@example.com"]
    assert records[1].attributes["phones"] == ["+442079460000"]
    for record in records:
        assert marker not in json.dumps(record.to_json())


def test_one_broken_card_among_good_ones(tmp_path: Path) -> None:
    text = crlf("""
BEGIN:VCARD
VERSION:3.0
FN:First Good
END:VCARD
BEGIN:VCARD
this secret line has no colon
neither does this one
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Second Good
END:VCARD
""")
    records, issues = parse(write(tmp_path, text.encode()))
    assert [r.title for r in records] == ["First Good", "Second Good"]
    assert len(issues) == 1
    assert issues[0].where == "card 2"
    assert "secret" not in issues[0].where + issues[0].reason


def test_card_vobject_rejects_is_salvaged_by_fallback(tmp_path: Path) -> None:
    text = crlf("""
BEGIN:VCARD
VERSION:3.0
FN:Salvaged Person
junk line without a colon from a broken exporter
EMAIL;TYPE="work:salvaged@example.com
ADR;TYPE=work;LABEL=Street 1^nTown: X:;;Street 1;Town;;12345;Land
END:VCARD
""")
    records, issues = parse(write(tmp_path, text.encode()))
    [record] = records
    assert record.title == "Salvaged Person"
    assert record.attributes["emails"] == ["salvaged@example.com"]
    assert [i.reason for i in issues] == ["1 unreadable line(s) skipped"]
    assert issues[0].where == "card 1"


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("BEGIN:VCARD\r\nFN:Cut Short\r\nBEGIN:VCARD\r\nFN:Next\r\nEND:VCARD\r\n", "card 1", "missing END"),
        ("BEGIN:VCARD\r\nFN:Next\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Truncat", "card 2", "end of file"),
    ],
)
def test_unterminated_cards(tmp_path: Path, text: str, where: str, reason: str) -> None:
    records, issues = parse(write(tmp_path, text.encode()))
    assert [r.title for r in records] == ["Next"]
    assert len(issues) == 1
    assert issues[0].where == where
    assert reason in issues[0].reason


def test_vcard21_agent_nested_card_is_skipped(tmp_path: Path) -> None:
    text = crlf("""
BEGIN:VCARD
VERSION:2.1
FN:Boss
AGENT:
BEGIN:VCARD
VERSION:2.1
FN:Assistant
END:VCARD
EMAIL:boss@example.com
END:VCARD
""")
    records, issues = parse(write(tmp_path, text.encode()))
    assert issues == []
    [record] = records
    assert record.title == "Boss"
    assert record.attributes["emails"] == ["boss@example.com"]


def test_hostile_parameter_line_does_not_hang(tmp_path: Path) -> None:
    # vobject's line regex backtracks exponentially on this (a dozen parameters take seconds).
    hostile = "X-EVIL" + ";A=b,c" * 40
    text = f"BEGIN:VCARD\r\nFN:Still Here\r\n{hostile}\r\nEND:VCARD\r\n"
    started = time.monotonic()
    records, issues = parse(write(tmp_path, text.encode()))
    assert time.monotonic() - started < 5
    assert [r.title for r in records] == ["Still Here"]
    assert [i.reason for i in issues] == ["1 unreadable line(s) skipped"]


@pytest.mark.parametrize(
    "hostile",
    [
        # Each unquoted "=" or "," in one parameter doubles the ways vobject's regex can split it when the
        # line then fails to match (here: an unclosed quote, an empty parameter name); 26 take minutes.
        "TEL;TYPE" + "=" * 26 + '"x:1',
        "TEL;TYPE=cell" + ",home" * 26 + ";:1",
    ],
    ids=["equals-run", "comma-run"],
)
def test_parameter_separator_run_does_not_hang(tmp_path: Path, hostile: str) -> None:
    text = f"BEGIN:VCARD\r\nFN:Still Here\r\n{hostile}\r\nEND:VCARD\r\n"
    started = time.monotonic()
    records, issues = parse(write(tmp_path, text.encode()))
    assert time.monotonic() - started < 5
    assert [r.title for r in records] == ["Still Here"]
    assert all(hostile[4:] not in i.reason for i in issues)


def test_external_id_without_uid_is_stable_and_content_based(tmp_path: Path) -> None:
    base = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nEMAIL:no.uid@example.com\r\n{extra}END:VCARD\r\n"
    first = parse(write(tmp_path, base.format(extra="REV:20200101T000000Z\r\n").encode(), "a.vcf"))[0]
    again = parse(write(tmp_path, base.format(extra="REV:20200101T000000Z\r\n").encode(), "b.vcf"))[0]
    re_exported = parse(
        write(
            tmp_path,
            base.format(extra="PRODID:-//Other//EN\r\nREV:20240101T000000Z\r\nPHOTO:data:x\r\n").encode(),
            "c.vcf",
        )
    )[0]
    changed = parse(write(tmp_path, base.format(extra="TEL:123\r\n").encode(), "d.vcf"))[0]
    assert first[0].external_id == again[0].external_id == re_exported[0].external_id
    assert first[0].external_id != changed[0].external_id


def test_duplicate_uid_in_one_file_gets_distinct_ids(tmp_path: Path) -> None:
    text = "".join(f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:same\r\nFN:{name}\r\nEND:VCARD\r\n" for name in ("One", "Two"))
    records, _ = parse(write(tmp_path, text.encode()))
    assert records[0].external_id == "same"
    assert records[1].external_id.startswith("sha256:")


def test_card_without_contact_fields_is_reported(tmp_path: Path) -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:only-uid\r\nX-CUSTOM:secret\r\nEND:VCARD\r\n"
    records, issues = parse(write(tmp_path, text.encode()))
    assert records == []
    assert [(i.where, i.reason) for i in issues] == [("card 1", "card has no contact fields, skipped")]


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    missing = list(ContactsConnector().parse(tmp_path / "missing.vcf"))
    assert len(missing) == 1 and missing[0].where == "file"
    empty = list(ContactsConnector().parse(write(tmp_path, b"")))
    assert empty == [ParseIssue(where="file", reason="no complete vCard found")]


def test_folder_of_vcf_files(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.vcf").write_text("BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n")
    (tmp_path / "book" / "b.vcf").write_text("BEGIN:VCARD\r\nFN:B\r\nEND:VCARD\r\nBEGIN:VCARD\r\n")
    records, issues = parse(tmp_path / "book")
    assert [r.title for r in records] == ["A", "B"]
    assert [i.where for i in issues] == ["file 2 card 2"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\n", True),
        (b"\r\n\r\nbegin:vcard\nVERSION:2.1\n", True),
        (b"\xef\xbb\xbfBEGIN:VCARD\r\n", True),
        ("BEGIN:VCARD\r\n".encode("utf-16"), True),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", False),
        (b"From: someone\r\n", False),
        (b"", False),
    ],
)
def test_recognizes(tmp_path: Path, head: bytes, expected: bool) -> None:
    assert ContactsConnector().recognizes(tmp_path / "x.bin", head) is expected


def test_recognizes_folder_is_false(tmp_path: Path) -> None:
    assert ContactsConnector().recognizes(tmp_path, b"") is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+49 (0)171 123-4567", "+4901711234567"),
        ("tel:+1-418-656-9254;ext=102", "+14186569254"),
        ("555-1234 x89", "5551234"),
        ("BusinessPhone", ""),
    ],
)
def test_normalise_phone(value: str, expected: str) -> None:
    assert normalise_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19800321", "1980-03-21"),
        ("1980-03-21T00:00:00Z", "1980-03-21"),
        ("--0415", "--04-15"),
        ("--02-29", "--02-29"),
        ("16040101", "--01-01"),  # CardBook/Apple "no year"
        ("1980-02-30", None),
        ("circa 1800", None),
    ],
)
def test_parse_birthday(value: str, expected: str | None) -> None:
    assert parse_birthday(value) == expected


def test_parse_revision() -> None:
    assert parse_revision("20121012T210525Z") == datetime(2012, 10, 12, 21, 5, 25, tzinfo=UTC)
    assert parse_revision("2008-01-01T12:00:00+01:00") == datetime(2008, 1, 1, 11, tzinfo=UTC)
    assert parse_revision("yesterday") is None


@pytest.mark.skipif(not CONTACT_SAMPLES.exists(), reason="shared samples not available")
def test_robustness_on_sample_exports() -> None:
    connector = ContactsConnector()
    files = sorted(p for p in CONTACT_SAMPLES.rglob("*.vcf") if p.is_file())
    assert files
    total_records = total_issues = 0
    for path in files:
        assert connector.recognizes(path, read_head(path)), path.name
        records, issues = parse(path)
        assert records or issues, path.name
        for record in records:
            assert record.external_id and record.title
        for issue in issues:
            assert issue.where.startswith(("card", "file", "line"))
        total_records += len(records)
        total_issues += len(issues)
    print(f"contacts samples: {len(files)} files, {total_records} records, {total_issues} issues")
    assert total_records > len(files)
