"""Fuzz every installed connector with random bytes and mutated small valid files.

    .venv/bin/python -m benchmarks.fuzz_connectors [--seconds 300] [--seed 1]

A case is one file handed to a connector's ``recognizes`` and ``parse``: it must not raise, must yield only
Records and ParseIssues, must stay within its parse budget (records, calendar occurrences, seconds) and must
write nothing outside its own scratch folder. Prints, per connector, the cases run and the crashes (the
exception type only, never the input) and exits 1 if any case failed. ``tests/test_fuzz_connectors.py`` runs
the same cases, bounded to about a minute, in ``make test``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from twin_assets.connectors.base import Connector, read_head
from twin_assets.records import ParseIssue, Record

# The budget every case runs under (small, so a case that expands without bound is caught fast).
FUZZ_ENV = {"TWIN_PARSE_MAX_OCCURRENCES": "2000", "TWIN_PARSE_MAX_SECONDS": "10"}
MAX_OCCURRENCES = 2000
MAX_SECONDS = 10.0


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


MBOX = (
    "From a@example.com Mon Jan 15 09:00:00 2024\nFrom: Ann <a@example.com>\nTo: b@example.com\n"
    "Subject: =?utf-8?q?Caf=C3=A9?= plans\nDate: Mon, 15 Jan 2024 09:00:00 +0000\nMessage-ID: <1@x>\n"
    'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain; '
    "charset=utf-8\n\nSee you at 10.\n>From the archive\n--b\nContent-Type: text/html\n\n<p>See you</p>\n--b--\n\n"
    "From b@example.com Tue Jan 16 10:00:00 2024\nFrom: b@example.com\nTo: a@example.com\nSubject: Re: plans\n"
    "Date: Tue, 16 Jan 2024 10:00:00 +0100\nIn-Reply-To: <1@x>\nMessage-ID: <2@x>\n\nOk.\n"
)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:weekly@x\r\nDTSTAMP:20240101T000000Z\r\n"
    "DTSTART;TZID=W. Europe Standard Time:20240101T100000\r\n"
    "DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO,WE\r\nEXDATE;TZID=W. Europe Standard Time:20240103T100000\r\n"
    "SUMMARY:Stand-up\r\nORGANIZER;CN=Ann:mailto:a@example.com\r\nATTENDEE;CN=Bob:mailto:b@example.com\r\n"
    "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:weekly@x\r\nRECURRENCE-ID;TZID=W. Europe Standard Time:20240108T100000\r\n"
    "DTSTART;TZID=W. Europe Standard Time:20240108T110000\r\nSUMMARY:Stand-up (moved)\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:day@x\r\nDTSTART;VALUE=DATE:20240301\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
VCF = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\nEMAIL;TYPE=work:a@example.com\r\n"
    "TEL;TYPE=cell:+49 170 1234567\r\nORG:Example GmbH\r\nBDAY:1980-02-03\r\nNOTE:met at a\\, conference\r\n"
    "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Bob\r\n"
    "TEL;HOME:030 123\r\nEND:VCARD\r\n"
)
WHATSAPP = (
    "12/31/23, 9:41 PM - Messages and calls are end-to-end encrypted.\n12/31/23, 9:41 PM - Alice: Hi\n"
    "1/2/24, 8:05 AM - Bob: Yo\nsecond line\n1/2/24, 8:06 AM - Bob: IMG-1.jpg (file attached)\n"
    "1/2/24, 8:07 AM - Alice: <Media omitted>\n"
)
TELEGRAM = json.dumps(
    {
        "name": "Ada",
        "type": "personal_chat",
        "id": 4242,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2024-01-15T10:30:00",
                "date_unixtime": "1705314600",
                "from": "Ada",
                "from_id": "user1",
                "text": "Hello!",
            },
            {
                "id": 2,
                "type": "message",
                "date": "2024-01-15T10:32:00",
                "from": "Bob",
                "from_id": "user2",
                "reply_to_message_id": 1,
                "text": ["See ", {"type": "text_link", "text": "this", "href": "https://x"}],
            },
        ],
    }
)
SLACK = {
    "users.json": json.dumps([{"id": "U1", "name": "ann", "real_name": "Ann"}, {"id": "B1", "name": "bot"}]),
    "channels.json": json.dumps([{"id": "C1", "name": "general"}]),
    "general/2024-01-02.json": json.dumps(
        [
            {"type": "message", "user": "U1", "ts": "1704193200.000001", "text": "hello <@U1> <#C1|general>"},
            {"type": "message", "subtype": "bot_message", "bot_id": "B1", "ts": "1704193201.0", "text": "beep"},
        ]
    ),
}
BANK_CSV = (
    "Umsatzanzeige;Datei erstellt am: 28.12.2018 16:57\n\nIBAN;DE12 3456 7890 1234 5678 90\n\n"
    "Buchung;Valuta;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Saldo;Währung;Betrag;Währung\n"
    "28.12.2018;28.12.2018;Bäckerei Müller;Lastschrift;Brötchen;1.150,00;EUR;-5,50;EUR\n"
    "27.12.2018;28.12.2018;Karl Karlsen;Gutschrift;Miete Januar;1.155,50;EUR;1.250,00;EUR\n"
)
OFX = (
    "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\nCHARSET:1252\r\n"
    "COMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0"
    "<SEVERITY>INFO</STATUS><DTSERVER>20240102120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n<BANKMSGSRSV1>"
    "<STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>999"
    "<ACCTID>123<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>20240101<DTEND>20240131\n"
    "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240105120000.000[-5:EST]\n<TRNAMT>-5.50\n<FITID>1\n<NAME>Bakery\n"
    "<MEMO>Bread\n</STMTTRN>\n</BANKTRANLIST>\n<LEDGERBAL><BALAMT>10.00<DTASOF>20240131</LEDGERBAL></STMTRS>"
    "</STMTTRNRS></BANKMSGSRSV1></OFX>\n"
)
NOTE = (
    "---\ntitle: Trip\ntags: [travel, 'x']\ndate: 2024-01-05\n---\n# Trip to [[Lisbon|the city]]\n\n"
    "With [[Ann Example]] #holiday, see ![[photo.png]] and [link](other%20note.md).\n\n- [ ] pack\n"
)

#: Small valid inputs per connector kind: (file name, bytes). Mutations start from these.
SEEDS: dict[str, list[tuple[str, bytes]]] = {
    "email": [("inbox.mbox", MBOX.encode()), ("one.eml", MBOX.split("\n", 1)[1].split("\n\nFrom b")[0].encode())],
    "calendar": [("cal.ics", ICS.encode())],
    "contacts": [("cards.vcf", VCF.encode())],
    "whatsapp": [
        ("WhatsApp Chat with Alice.txt", WHATSAPP.encode()),
        ("WhatsApp Chat - Alice.zip", _zip({"_chat.txt": WHATSAPP, "IMG-1.jpg": "x"})),
    ],
    "telegram": [("result.json", TELEGRAM.encode())],
    "slack": [("slack.zip", _zip(SLACK))],
    "bank_csv": [("umsatz.csv", BANK_CSV.encode("utf-8")), ("umsatz-latin1.csv", BANK_CSV.encode("latin-1"))],
    "ofx": [("statement.ofx", OFX.encode())],
    "notes": [("Trip.md", NOTE.encode())],
}
#: Pieces that tend to matter to parsers, spliced into mutated inputs.
TOKENS = [
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\n\n",
    b"\r",
    b"\xe9",
    b"\xc3",
    b"\\",
    b'"',
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b"<",
    b">",
    b":",
    b";",
    b",",
    b"=",
    b"--",
    b"From ",
    b"BEGIN:VEVENT\r\n",
    b"END:VEVENT\r\n",
    b"RRULE:FREQ=SECONDLY\r\n",
    b"RRULE:FREQ=MINUTELY;COUNT=100000\r\n",
    b"BEGIN:VCARD\r\n",
    b"=?utf-8?b?",
    b"Content-Type: multipart/mixed; boundary=x\n",
    b"<STMTTRN>",
    b"---\n",
    b"[[",
    b"]]",
    b"9999",
    b"-1",
    b"1e309",
    b"NaN",
    b"(file attached)",
    b"19700101T000000Z",
    b"99991231",
    b"\t",
    b" " * 64,
    b"A" * 256,
]


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """A few random edits of ``data``: flips, spliced tokens, cut or repeated slices, another seed mixed in."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        at = rng.randint(0, len(out))
        if op == 0 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 1:
            out[at:at] = rng.choice(TOKENS)
        elif op == 2:
            end = min(len(out), at + rng.randint(1, 64))
            del out[at:end]
        elif op == 3:
            end = min(len(out), at + rng.randint(1, 40))
            out[at:at] = bytes(out[at:end]) * rng.randint(2, 200)
        elif op == 4:
            del out[at:]
        elif op == 5:
            other = rng.choice(others)
            start = rng.randint(0, len(other))
            out[at:at] = other[start : start + rng.randint(1, 400)]
        else:
            out[at:at] = rng.choice(TOKENS) * rng.randint(2, 2000)
    return bytes(out)


def run_case(connector: Connector, name: str, data: bytes, scratch: Path) -> str | None:
    """Run one input through ``connector``; the failure in words (types and counts only), or None."""
    case = scratch / "case"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    path = case / name
    path.write_bytes(data)
    started = time.monotonic()
    records = 0
    try:
        if not isinstance(connector.recognizes(path, read_head(path)), bool):
            return "recognizes() returned a non-bool"
        for item in connector.parse(path):
            if isinstance(item, Record):
                records += 1
            elif not isinstance(item, ParseIssue):
                return f"parse() yielded a {type(item).__name__}"
            if records > max(len(data), MAX_OCCURRENCES):
                return f"more than {max(len(data), MAX_OCCURRENCES)} records: over the budget"
    except Exception as exc:
        return f"raised {type(exc).__name__}"
    if time.monotonic() - started > MAX_SECONDS * 1.5:
        return "took longer than its time budget"
    left = sorted(p.name for p in case.iterdir())
    if left != [name]:
        return f"wrote {len(left) - 1} file(s) beside its input"
    return None


def outside_writes(scratch: Path) -> list[str]:
    """Files in the scratch folder other than the case folder: what a connector wrote to TMPDIR or HOME."""
    return sorted(
        str(p.relative_to(scratch))
        for p in scratch.rglob("*")
        if "case" not in p.relative_to(scratch).parts and p.is_file()
    )


class _Hung(BaseException):
    """A case past its hang limit (BaseException: run_case's own handler must not take it for a parse error)."""


def _hung(signum: int, frame: object) -> None:
    raise _Hung


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="total fuzzing time (split across connectors)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="twin-fuzz-"))
    os.environ.update(FUZZ_ENV, HOME=str(scratch / "home"), TMPDIR=str(scratch / "tmp"))
    (scratch / "home").mkdir()
    (scratch / "tmp").mkdir()
    tempfile.tempdir = str(scratch / "tmp")
    from twin_assets.connectors.registry import connectors

    signal.signal(signal.SIGALRM, _hung)
    rng = random.Random(args.seed)
    installed = connectors()
    all_seeds = [data for seeds in SEEDS.values() for _, data in seeds]
    cases: Counter[str] = Counter()
    crashes: Counter[tuple[str, str]] = Counter()
    per_kind = args.seconds / max(len(installed), 1)
    for kind, connector in sorted(installed.items()):
        seeds = SEEDS.get(kind) or [("input.bin", b"")]
        deadline = time.monotonic() + per_kind
        while time.monotonic() < deadline:
            name, seed = rng.choice(seeds)
            random_bytes = rng.random() < 0.2
            data = rng.randbytes(rng.randint(0, 4096)) if random_bytes else mutate(rng, seed, all_seeds)
            cases[kind] += 1
            signal.alarm(int(MAX_SECONDS * 3))  # a connector stuck inside one case is counted, not waited for
            try:
                failure = run_case(connector, name, data, scratch)
            except _Hung:
                failure = f"hung for more than {int(MAX_SECONDS * 3)} s"
            finally:
                signal.alarm(0)
            if failure:
                crashes[(kind, failure)] += 1
    written = outside_writes(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'connector':<10} {'cases':>7} {'crashes':>7}")
    for kind in sorted(cases):
        print(f"{kind:<10} {cases[kind]:>7} {sum(n for (k, _), n in crashes.items() if k == kind):>7}")
    print(f"{'total':<10} {sum(cases.values()):>7} {sum(crashes.values()):>7}")
    for (kind, failure), n in sorted(crashes.items()):
        print(f"  {kind}: {failure} ({n}x)")
    print(f"files written outside the case folder (TMPDIR, HOME): {len(written)}")
    return 1 if crashes or written else 0


if __name__ == "__main__":
    sys.exit(main())
