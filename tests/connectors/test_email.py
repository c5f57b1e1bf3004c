"""EmailConnector: mbox, maildir, .eml and the mess real mailboxes contain."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from twin_assets.connectors import email as email_mod
from twin_assets.connectors.base import read_head
from twin_assets.connectors.email import EmailConnector, decode_rfc2047, iter_mbox
from twin_assets.records import ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
EMAIL_SAMPLES = SAMPLES.resolve() / "email"

CONNECTOR = EmailConnector()


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def parse_one(path: Path) -> Record:
    items = list(CONNECTOR.parse(path))
    assert len(items) == 1, items
    assert isinstance(items[0], Record), items[0]
    return items[0]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def simple_message(msg_id: str = "<Abc.123@Example.COM>", subject: str = "Hello", body: str = "Hi there.") -> str:
    return (
        "From: Alice Example <Alice@Example.com>\n"
        'To: bob@example.org, "Carol, C." <carol@example.net>\n'
        f"Subject: {subject}\n"
        "Date: Tue, 05 Mar 2024 10:15:00 +0100\n"
        f"Message-ID: {msg_id}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        f"{body}\n"
    )


# --- single messages -------------------------------------------------------


def test_plain_message_fields(tmp_path: Path) -> None:
    rec = parse_one(write(tmp_path, "m.eml", crlf(simple_message())))
    assert rec.source == "email" and rec.kind == "message"
    assert rec.external_id == "Abc.123@example.com"  # brackets gone, domain lowercased, local part kept
    assert rec.title == "Hello"
    assert rec.body == "Hi there."
    assert rec.event_time == datetime(2024, 3, 5, 9, 15, tzinfo=UTC)
    assert rec.original_tz == "+01:00"
    assert Party("from", "Alice Example", "alice@example.com") in rec.parties
    assert Party("to", None, "bob@example.org") in rec.parties
    assert Party("to", "Carol, C.", "carol@example.net") in rec.parties
    assert rec.thread_id == "Abc.123@example.com"
    assert rec.attributes["folder"] is None
    assert rec.attributes["attachments"] == []
    json.dumps(rec.to_json())  # attributes must stay JSON-serialisable


def test_multipart_alternative_prefers_plain(tmp_path: Path) -> None:
    raw = (
        "From: a@example.com\nTo: b@example.com\nSubject: alt\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        "Message-ID: <alt@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="BB"\n\n'
        "--BB\nContent-Type: text/plain; charset=utf-8\n\nPlain version wins.\n"
        "--BB\nContent-Type: text/html; charset=utf-8\n\n<p>HTML <b>version</b> loses.</p>\n"
        "--BB--\n"
    )
    rec = parse_one(write(tmp_path, "alt.eml", crlf(raw)))
    assert rec.body == "Plain version wins."
    assert rec.attributes["attachments"] == []


def test_html_only_becomes_text_without_script_or_style(tmp_path: Path) -> None:
    raw = (
        "From: a@example.com\nTo: b@example.com\nSubject: html\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        "Message-ID: <html@x>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><style>.x{color:red}</style><script>alert('hidden')</script></head>"
        "<body><p>Visible <b>words</b></p><div>Second&nbsp;line</div></body></html>\n"
    )
    rec = parse_one(write(tmp_path, "h.eml", crlf(raw)))
    assert "Visible" in rec.body and "words" in rec.body and "Second line" in rec.body
    assert "alert" not in rec.body and "color" not in rec.body and "<" not in rec.body


def test_wrong_declared_charset_falls_back(tmp_path: Path) -> None:
    head = (
        b"From: a@example.com\nTo: b@example.com\nSubject: charset\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        b"Message-ID: <cs@x>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n\n"
    )
    body = "Le café était très crème, déjà vu à la française.\n".encode("latin-1")
    rec = parse_one(write(tmp_path, "cs.eml", head + body))
    assert "café" in rec.body and "crème" in rec.body
    assert "\ufffd" not in rec.body


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        ("=?utf-8?q?Caf=C3=A9_cr=C3=A8me?=", "Café crème"),
        ("=?ISO-8859-1?B?SGVsbG8g5A==?=", "Hello ä"),
        # a UTF-8 character split across two adjacent words, whitespace between them dropped
        ("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"),
        ("Re: =?utf-8?q?na=C3=AFve?= text", "Re: naïve text"),
        ("=?x-unknown-charset?q?plain?=", "plain"),
        ("=?utf-8?b?!!!broken?=", None),  # must not raise; content kept in some form
    ],
)
def test_rfc2047_subjects(tmp_path: Path, encoded: str, expected: str | None) -> None:
    path = write(tmp_path, "s.eml", crlf(simple_message(subject=encoded)))
    rec = parse_one(path)
    if expected is not None:
        assert rec.title == expected
        assert decode_rfc2047(encoded) == expected
    else:
        assert isinstance(rec.title, str)


def test_raw_8bit_subject_is_decoded(tmp_path: Path) -> None:
    raw = simple_message(subject="PLACEHOLDER").encode("ascii").replace(b"PLACEHOLDER", "Grüße".encode("latin-1"))
    rec = parse_one(write(tmp_path, "8bit.eml", raw))
    assert rec.title == "Grüße"


def test_broken_date_falls_back_to_received(tmp_path: Path) -> None:
    raw = (
        "Received: from mx.example.org by mail.example.com; Wed, 07 Feb 2024 08:30:00 -0500\n"
        "Received: from older.example.org; Tue, 06 Feb 2024 01:00:00 +0000\n"
        "From: a@example.com\nTo: b@example.com\nSubject: when\nDate: sometime last week, probably\n"
        "Message-ID: <date@x>\n\nbody\n"
    )
    rec = parse_one(write(tmp_path, "d.eml", crlf(raw)))
    assert rec.event_time == datetime(2024, 2, 7, 13, 30, tzinfo=UTC)
    assert rec.original_tz == "-05:00"


def test_no_date_anywhere_keeps_record(tmp_path: Path) -> None:
    raw = "From: a@example.com\nTo: b@example.com\nSubject: undated\nMessage-ID: <nodate@x>\n\nbody\n"
    rec = parse_one(write(tmp_path, "n.eml", crlf(raw)))
    assert rec.event_time is None and rec.original_tz is None


def test_date_without_zone_is_utc(tmp_path: Path) -> None:
    raw = simple_message().replace("Tue, 05 Mar 2024 10:15:00 +0100", "5 Mar 2024 10:15:00")
    rec = parse_one(write(tmp_path, "z.eml", crlf(raw)))
    assert rec.event_time == datetime(2024, 3, 5, 10, 15, tzinfo=UTC)
    assert rec.original_tz is None


def test_missing_message_id_gets_stable_hash_id(tmp_path: Path) -> None:
    text = simple_message().replace("Message-ID: <Abc.123@Example.COM>\n", "")
    first = parse_one(write(tmp_path, "a.eml", crlf(text)))
    again = parse_one(write(tmp_path, "b.eml", text.encode()))  # same message, LF line endings
    other = parse_one(write(tmp_path, "c.eml", crlf(text.replace("Subject: Hello", "Subject: Other"))))
    assert first.external_id.startswith("sha256:") and len(first.external_id) == 7 + 64
    assert first.external_id == again.external_id
    assert first.external_id != other.external_id
    assert first.attributes["message_id"] is None


def test_attachments_are_listed_not_stored(tmp_path: Path) -> None:
    secret = b"%PDF-1.4 SECRET-ATTACHMENT-BYTES " * 20
    raw = (
        "From: a@example.com\nTo: b@example.com\nSubject: report\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        "Message-ID: <att@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="MM"\n\n'
        "--MM\nContent-Type: text/plain; charset=utf-8\n\nSee attached.\n"
        '--MM\nContent-Type: application/pdf; name="report.pdf"\n'
        'Content-Disposition: attachment; filename="=?utf-8?q?R=C3=A9port.pdf?="\n'
        "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(secret).decode() + "--MM--\n"
    )
    rec = parse_one(write(tmp_path, "att.eml", crlf(raw)))
    assert rec.body == "See attached."
    assert rec.attributes["attachments"] == [
        {"filename": "Réport.pdf", "content_type": "application/pdf", "size": len(secret)}
    ]
    assert "SECRET-ATTACHMENT-BYTES" not in json.dumps(rec.to_json())


def test_threading_and_list_attributes(tmp_path: Path) -> None:
    raw = (
        "From: list-bot@lists.example.org\nTo: dev@lists.example.org\nSubject: Re: Re: plan\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <c@X.ORG>\n"
        "In-Reply-To: <b@X.ORG>\nReferences: <root@X.ORG>\n <b@X.ORG>\n"
        "List-Id: Developers <dev.lists.example.org>\n"
        "List-Unsubscribe: <mailto:leave@lists.example.org>\nPrecedence: Bulk\n"
        "Auto-Submitted: auto-generated\n\nx\n"
    )
    rec = parse_one(write(tmp_path, "l.eml", crlf(raw)))
    assert rec.thread_id == "root@x.org"
    assert rec.attributes["references"] == ["root@x.org", "b@x.org"]
    assert rec.attributes["in_reply_to"] == "b@x.org"
    assert rec.attributes["list_id"] == "dev.lists.example.org"
    assert rec.attributes["list_unsubscribe"] is True
    assert rec.attributes["precedence"] == "bulk"
    assert rec.attributes["auto_submitted"] == "auto-generated"


def test_broken_address_headers_are_tolerated(tmp_path: Path) -> None:
    raw = (
        'From: "Broken <quote" <<Weird@Example.com>\n'
        "To: undisclosed-recipients:;\n"
        "Cc: =?utf-8?q?J=C3=BCrgen?= <JUERGEN@example.de>, , just-a-name\n"
        "Bcc: hidden@example.com\nReply-To: replies@example.com\n"
        "Subject: addresses\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <addr@x>\n\nx\n"
    )
    rec = parse_one(write(tmp_path, "a.eml", crlf(raw)))
    by_role = {(p.role, p.email) for p in rec.parties}
    assert ("from", "weird@example.com") in by_role
    assert Party("cc", "Jürgen", "juergen@example.de") in rec.parties
    assert ("bcc", "hidden@example.com") in by_role
    assert ("reply_to", "replies@example.com") in by_role
    assert all(p.email is None or p.email == p.email.lower() for p in rec.parties)


def test_deep_nesting_is_an_issue(tmp_path: Path) -> None:
    depth = email_mod.MAX_MIME_DEPTH + 5
    parts = [f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)]
    inner = "Content-Type: text/plain\n\ndeep\n"
    closing = "".join(f"--b{i}--\n" for i in reversed(range(depth)))
    raw = "From: a@example.com\nSubject: deep\nMessage-ID: <deep@x>\nMIME-Version: 1.0\n" + "".join(parts)
    items = list(CONNECTOR.parse(write(tmp_path, "deep.eml", (raw + inner + closing).encode())))
    assert len(items) == 1 and isinstance(items[0], ParseIssue)
    assert "nesting" in items[0].reason


# --- mbox ------------------------------------------------------------------


def test_mbox_with_garbage_message(tmp_path: Path) -> None:
    good1 = simple_message("<one@x>", "First", "Body one.\n>From the archive, escaped.")
    good3 = simple_message("<three@x>", "Third", "Body three.\nFrom here on no blank line precedes this.")
    garbage = "\x00\x01\x02 binary junk \xff without any header\n\x03\x04 more junk\n"
    data = (
        "From alice@example.com Tue Mar  5 10:15:00 2024\n" + good1 + "\n"
        "From MAILER-DAEMON Tue Mar  5 10:16:00 2024\n" + garbage + "\n"
        "From bob@example.com Tue Mar  5 10:17:00 2024\n" + good3
    ).encode("utf-8", "surrogateescape")
    path = write(tmp_path, "archive", data)
    assert CONNECTOR.recognizes(path, read_head(path))
    items = list(CONNECTOR.parse(path))
    records = [i for i in items if isinstance(i, Record)]
    issues = [i for i in items if isinstance(i, ParseIssue)]
    assert [r.external_id for r in records] == ["one@x", "three@x"]
    assert issues == [ParseIssue("message 2", "no RFC 822 headers found")]
    assert records[0].body == "Body one.\nFrom the archive, escaped."  # mboxrd unescaping
    assert "From here on" in records[1].body  # unescaped "From " inside a body does not split


def test_mbox_oversized_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_mod, "MAX_MESSAGE_BYTES", 2000)
    big = simple_message("<big@x>", "Big", "x" * 5000)
    data = "From a Tue Mar  5 10:15:00 2024\n" + big + "\nFrom b Tue Mar  5 10:15:00 2024\n" + simple_message()
    items = list(CONNECTOR.parse(write(tmp_path, "big.mbox", data.encode())))
    assert isinstance(items[0], ParseIssue) and items[0].where == "message 1"
    assert isinstance(items[1], Record) and items[1].title == "Hello"


def _mixed_mbox(n: int) -> bytes:
    """``n`` messages, with a broken one and an oversized one among them."""
    parts = []
    for i in range(n):
        body = "x" * 5000 if i == 7 else f"Message number {i}."
        msg = "not a message at all\n" if i == 3 else simple_message(f"<m{i}@x>", f"Subject {i}", body)
        parts.append(f"From a Tue Mar  5 10:15:00 2024\n{msg}\n")
    return "".join(parts).encode()


@pytest.mark.parametrize("workers", [2, 3])
def test_a_large_mbox_parsed_in_worker_processes_gives_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(email_mod, "MAX_MESSAGE_BYTES", 2000)
    path = write(tmp_path, "big.mbox", _mixed_mbox(700))  # several chunks per worker
    monkeypatch.setenv("TWIN_PARSE_WORKERS", "1")
    alone = list(CONNECTOR.parse(path))
    monkeypatch.setattr(email_mod, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(email_mod, "_CHUNK_MESSAGES", 50)
    monkeypatch.setenv("TWIN_PARSE_WORKERS", str(workers))
    calls: list[int] = []
    real = email_mod._parse_parallel
    monkeypatch.setattr(email_mod, "_parse_parallel", lambda *a: calls.append(a[2]) or real(*a))
    together = list(CONNECTOR.parse(path))
    assert calls == [workers]
    assert together == alone and len(alone) == 700
    assert [i.where for i in together if isinstance(i, ParseIssue)] == ["message 4", "message 8"]


def test_a_worker_pool_that_breaks_loses_no_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures.process import BrokenProcessPool

    path = write(tmp_path, "big.mbox", _mixed_mbox(300))
    monkeypatch.setenv("TWIN_PARSE_WORKERS", "1")
    alone = list(CONNECTOR.parse(path))
    monkeypatch.setattr(email_mod, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(email_mod, "_CHUNK_MESSAGES", 20)
    monkeypatch.setenv("TWIN_PARSE_WORKERS", "2")
    real = email_mod._result
    seen = {"n": 0}

    def breaks_on_the_third(chunk, future, folder):
        seen["n"] += 1
        if seen["n"] == 3:
            raise BrokenProcessPool("a worker died")
        return real(chunk, future, folder)

    monkeypatch.setattr(email_mod, "_result", breaks_on_the_third)
    assert list(CONNECTOR.parse(path)) == alone


def test_iter_mbox_splits_long_lines_without_losing_bytes(tmp_path: Path) -> None:
    long_line = "y" * (email_mod.LINE_CHUNK + 10)
    data = f"From a Tue Mar  5 10:15:00 2024\nSubject: s\n\n{long_line}\nFrom b\n".encode()
    path = write(tmp_path, "long.mbox", data)
    with path.open("rb") as fh:
        chunks = list(iter_mbox(fh))
    assert len(chunks) == 1 and chunks[0] is not None
    assert long_line.encode() in chunks[0] and b"From b" in chunks[0]


# --- maildir and folders ---------------------------------------------------


def test_maildir_same_message_in_two_folders(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (root / sub).mkdir(parents=True)
    msg = crlf(simple_message("<dup@Example.com>", "Duplicate"))
    (root / "cur" / "1700000000.1.host:2,S").write_bytes(msg)
    (root / ".Sent" / "cur" / "1700000001.2.host:2,S").write_bytes(msg)
    (root / "new" / "1700000002.3.host").write_bytes(crlf(simple_message("<other@x>", "Other")))
    (root / "tmp" / "partial").write_bytes(b"From: half-delivered")
    assert CONNECTOR.recognizes(root, b"")
    records = [i for i in CONNECTOR.parse(root) if isinstance(i, Record)]
    dups = [r for r in records if r.external_id == "dup@example.com"]
    assert sorted(r.attributes["folder"] for r in dups) == ["INBOX", "Sent"]
    assert dups[0].canonical_content() == dups[1].canonical_content()
    assert len(records) == 3  # tmp/ is skipped


def test_folder_of_eml_files(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write(folder, "a.eml", crlf(simple_message("<a@x>")))
    write(folder, "sub/b.eml", crlf(simple_message("<b@x>")))
    write(folder, "notes.txt", b"just some text, not mail\n")
    assert CONNECTOR.recognizes(folder, b"")
    records = [i for i in CONNECTOR.parse(folder) if isinstance(i, Record)]
    assert {(r.external_id, r.attributes["folder"]) for r in records} == {("a@x", None), ("b@x", "sub")}


# --- detection -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbf\n\nFrom a@b Tue Mar  5 10:15:00 2024\nFrom: a@b\nSubject: x\n\nbody\n", True),
        (crlf(simple_message()), True),
        (b"Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <a@b>\n\nx", True),
        (b"BEGIN:VCARD\nVERSION:3.0\nFN:Someone\nEMAIL:a@b.c\nEND:VCARD\n", False),
        (b"BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", False),
        (b"Date,Amount,Description\n2024-01-01,1.00,Coffee\n", False),
        (b"---\ntitle: note\ndate: 2024-01-01\n---\n# Heading\n", False),
        (b"HTTP/1.1 200 OK\nDate: Mon, 1 Jan 2024 00:00:00 GMT\nContent-Type: text/html\n\n<html>", False),
        (b"From the desk of the editor: nothing to see\nhere.\n", False),
        (b"", False),
    ],
)
def test_recognizes_files(tmp_path: Path, content: bytes, expected: bool) -> None:
    path = write(tmp_path, "input.bin", content)
    assert CONNECTOR.recognizes(path, read_head(path)) is expected


def test_recognizes_rejects_unrelated_folder(tmp_path: Path) -> None:
    write(tmp_path / "vault", "note.md", b"# Title\n\nSome note.\n")
    assert not CONNECTOR.recognizes(tmp_path / "vault", b"")


def test_missing_path_is_a_file_issue(tmp_path: Path) -> None:
    assert list(CONNECTOR.parse(tmp_path / "nope")) == [ParseIssue("file", "not a file or folder")]


def test_issues_never_quote_content(tmp_path: Path) -> None:
    secret = "TopSecretSubjectLine"
    depth = email_mod.MAX_MIME_DEPTH + 2
    nested = "".join(f'Content-Type: multipart/mixed; boundary="{secret}{i}"\n\n--{secret}{i}\n' for i in range(depth))
    data = (
        f"From {secret}@example.com Tue Mar  5 10:15:00 2024\n{secret} garbage line\n\n"
        f"From x Tue Mar  5 10:15:00 2024\nFrom: {secret}@example.com\nSubject: {secret}\nMIME-Version: 1.0\n" + nested
    )
    items = list(CONNECTOR.parse(write(tmp_path, f"{secret}.mbox", data.encode())))
    issues = [i for i in items if isinstance(i, ParseIssue)]
    assert len(issues) == 2
    for issue in issues:
        assert secret.lower() not in (issue.where + issue.reason).lower()


# --- robustness over real sample exports ------------------------------------


@pytest.mark.skipif(not EMAIL_SAMPLES.exists(), reason="shared samples not available")
@pytest.mark.parametrize("sub", ["eml", "mbox", "maildir", "enron_maildir"])
def test_samples_never_raise(sub: str) -> None:
    root = EMAIL_SAMPLES / sub
    if not root.exists():
        pytest.skip(f"{sub} samples absent")
    records = issues = 0
    for item in CONNECTOR.parse(root):
        if isinstance(item, Record):
            records += 1
            assert item.external_id and item.kind == "message"
            assert item.event_time is None or item.event_time.tzinfo is not None
            json.dumps(item.attributes)
        else:
            assert isinstance(item, ParseIssue)
            issues += 1
    print(f"email samples {sub}: {records} records, {issues} issues")
    assert records > 0


@pytest.mark.skipif(not EMAIL_SAMPLES.exists(), reason="shared samples not available")
def test_sample_files_individually_never_raise() -> None:
    files = [p for p in sorted(EMAIL_SAMPLES.rglob("*")) if p.is_file() and "enron_maildir" not in p.parts]
    recognised = parsed = 0
    for path in files:
        if CONNECTOR.recognizes(path, read_head(path)):
            recognised += 1
            items = list(CONNECTOR.parse(path))
            assert items, path.name
            parsed += any(isinstance(i, Record) for i in items)
    print(f"email sample files: {len(files)} files, {recognised} recognised, {parsed} with records")
    assert recognised > 0


def _records_with(policy, paths: list[Path], monkeypatch) -> list:
    import twin_assets.connectors.email as mod

    monkeypatch.setattr(mod, "MODERN_POLICY", policy)
    out = []
    for path in paths:
        out += [i.to_json() if isinstance(i, Record) else (i.where, i.reason) for i in CONNECTOR.parse(path)]
    return out


def test_structure_header_cache_parses_exactly_like_the_default_policy(tmp_path, monkeypatch) -> None:
    """The cached Content-* headers are a speed-up only: records match ``email.policy.default`` byte for byte,
    over the samples when present and over a multipart message with folded and odd structure headers."""
    import email.policy

    import twin_assets.connectors.email as mod

    crafted = (
        b"From: A <a@example.org>\nTo: b@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <x1@example.org>\n"
        b"Date: Tue, 3 Mar 2026 10:00:00 +0100\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed;\n boundary="BB"\n\n'
        b'--BB\nContent-Type: multipart/alternative; boundary="AA"\n\n'
        b"--AA\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        b'Gr=FC=DFe\n--AA\nContent-Type: text/html; charset="utf-8"\n\n<p>Gr\xc3\xbc\xc3\x9fe</p>\n--AA--\n'
        b'--BB\nContent-Type: application/pdf; name="r.pdf"\nContent-Disposition: attachment;\n filename="r.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\nJVBERi0=\n--BB--\n"
    )
    paths = [write(tmp_path, "crafted.eml", crafted)]
    if EMAIL_SAMPLES.exists():
        paths += [p for p in sorted(EMAIL_SAMPLES.iterdir()) if p.name != "enron_maildir"]
    cached = _records_with(mod.MODERN_POLICY, paths, monkeypatch)
    plain = _records_with(email.policy.default, paths, monkeypatch)
    assert cached == plain
    assert "Grüße" in cached[0]["body"] and cached[0]["title"] == "café"
