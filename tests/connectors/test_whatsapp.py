from __future__ import annotations

import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.connectors.common import CENTRAL_COMPRESSION, CENTRAL_EXTRACT_VERSION, patch_central_headers, split
from twin_assets.connectors.base import read_head
from twin_assets.connectors.whatsapp import WhatsAppConnector, chat_name
from twin_assets.errors import ConfigError
from twin_assets.records import CHAT_MESSAGE, ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
WHATSAPP_SAMPLES = SAMPLES.resolve() / "chat" / "whatsapp"

LRM, NNBSP = "\u200e", "\u202f"


def parse(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    return split(WhatsAppConnector().parse(path))


def write(tmp_path: Path, text: str, name: str = "WhatsApp Chat with Alice.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("lines", "seconds"),
    [
        (["12/31/23, 9:41 PM - Alice: Hi", "1/2/24, 8:05 AM - Bob: Yo"], 0),  # Android, US
        (["[31.12.23, 21:41:05] Alice: Hi", "[02.01.24, 08:05:00] Bob: Yo"], 5),  # iOS, German
        (["31/12/2023, 21:41 - Alice: Hi", "02/01/2024, 08:05 - Bob: Yo"], 0),  # Android, UK
        (["2023-12-31 21:41 - Alice: Hi", "2024-01-02 08:05 - Bob: Yo"], 0),  # ISO
        ([f"{LRM}[12/31/23, 9:41:05{NNBSP}PM] Alice: Hi", f"[1/2/24, 8:05:00{NNBSP}AM] Bob: Yo"], 5),  # iOS 17
        (["31/12/2023, 9:41 p. m. - Alice: Hi", "02/01/2024, 8:05 a. m. - Bob: Yo"], 0),  # Spanish
        (["[2023/12/31, 21:41:05] ~ Alice: Hi", "[2024/1/2, 08:05:00] ~ Bob: Yo"], 5),
    ],
)
def test_locale_layouts(tmp_path: Path, lines: list[str], seconds: int) -> None:
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert WhatsAppConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert issues == []
    assert [r.body for r in records] == ["Hi", "Yo"]
    assert [r.parties for r in records] == [[Party(role="from", name="Alice")], [Party(role="from", name="Bob")]]
    assert records[0].event_time == datetime(2023, 12, 31, 21, 41, seconds, tzinfo=UTC)
    assert records[1].event_time == datetime(2024, 1, 2, 8, 5, tzinfo=UTC)
    assert records[0].kind == CHAT_MESSAGE and records[0].source == "whatsapp"
    assert records[0].original_tz == "UTC"


@pytest.mark.parametrize(
    ("later", "first_date"),
    [
        ("13/02/23, 10:00 - Bob: later", datetime(2023, 2, 1, 9, 0, tzinfo=UTC)),
        ("02/13/23, 10:00 - Bob: later", datetime(2023, 1, 2, 9, 0, tzinfo=UTC)),
    ],
)
def test_day_month_order_from_the_whole_file(tmp_path: Path, later: str, first_date: datetime) -> None:
    records, _ = parse(write(tmp_path, f"01/02/23, 09:00 - Alice: first\n{later}\n"))
    assert records[0].event_time == first_date


def test_multiline_system_media_and_deleted(tmp_path: Path) -> None:
    text = (
        "15.04.2016, 15:04 - Messages and calls are end-to-end encrypted. Tap for more info.\n"
        '15.04.2016, 15:05 - +49 170 1234567 created group "Family: trip"\n'
        "15.04.2016, 15:06 - Alice: first line\n"
        "second line\n"
        "\n"
        "third line after a blank\n"
        "15.04.2016, 15:07 - +49 170 1234567: <Media omitted>\n"
        f"[15.04.16, 15:08:00] Bob: {LRM}image omitted\n"
        f"15.04.2016, 15:09 - Bob: {LRM}<attached: 00000012-PHOTO-2016-04-15-15-09-00.jpg>\n"
        "15.04.2016, 15:10 - Alice: This message was deleted\n"
    )
    records, issues = parse(write(tmp_path, text))
    assert issues == []
    notice, created, multi, omitted, image, attached, deleted = records
    assert notice.attributes["system"] and notice.parties == []
    assert created.attributes["system"] and created.body.startswith("+49 170 1234567 created group")
    assert multi.body == "first line\nsecond line\n\nthird line after a blank"
    assert not multi.attributes["system"]
    assert omitted.attributes["media"] == "omitted"
    assert omitted.parties == [Party(role="from", name="+49 170 1234567", phone="+491701234567")]
    assert image.attributes["media"] == "image" and image.body == "image omitted"
    assert attached.attributes["attachment"] == "00000012-PHOTO-2016-04-15-15-09-00.jpg"
    assert deleted.attributes["deleted"] is True
    assert all(r.attributes["path"] == "Alice" for r in records)


def test_zone_from_environment_does_not_change_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "31/12/2023, 21:41 - Alice: Hi\n31/12/2023, 21:42 - Bob: Ho\n")
    utc_records, _ = parse(path)
    monkeypatch.setenv("TWIN_WHATSAPP_TZ", "Europe/Berlin")
    berlin_records, issues = parse(path)
    assert issues == []
    assert berlin_records[0].event_time == datetime(2023, 12, 31, 20, 41, tzinfo=UTC)
    assert berlin_records[0].original_tz == "Europe/Berlin"
    assert [r.external_id for r in berlin_records] == [r.external_id for r in utc_records]
    monkeypatch.setenv("TWIN_WHATSAPP_TZ", "Mars/Olympus")  # refused, not quietly read as UTC
    with pytest.raises(ConfigError, match="TWIN_WHATSAPP_TZ='Mars/Olympus' is not a known time zone"):
        parse(path)


def test_ids_stable_distinct_for_duplicates_and_per_chat(tmp_path: Path) -> None:
    text = "31/12/2023, 21:41 - Alice: ok\n31/12/2023, 21:41 - Alice: ok\n31/12/2023, 21:42 - Bob: ok\n"
    path = write(tmp_path, text)
    first, _ = parse(path)
    again, _ = parse(path)
    ids = [r.external_id for r in first]
    assert all(i.startswith("sha256:") for i in ids) and len(set(ids)) == 3
    assert ids == [r.external_id for r in again]
    # A copy under another name is the same chat: same ids, and the name stays out of the content hash.
    copy, _ = parse(write(tmp_path, text, "renamed.txt"))
    assert [r.external_id for r in copy] == ids
    assert copy[0].canonical_content() == first[0].canonical_content()
    other, _ = parse(write(tmp_path, "30/12/2023, 10:00 - Carol: hey\n" + text, "other.txt"))
    assert not set(ids) & {r.external_id for r in other}


def test_zip_with_chat_txt(tmp_path: Path) -> None:
    text = "[31.12.23, 21:41:05] Alice: Hi\n[31.12.23, 21:42:05] Bob: Ho\n"
    txt_records, _ = parse(write(tmp_path, text))
    archive = tmp_path / "WhatsApp Chat - Alice.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", text)
        zf.writestr("00000001-PHOTO.jpg", b"\xff\xd8")
    assert WhatsAppConnector().recognizes(archive, read_head(archive))
    records, issues = parse(archive)
    assert issues == []
    assert [r.external_id for r in records] == [r.external_id for r in txt_records]
    assert records[0].attributes["path"] == "Alice"


def test_zip_bomb_chat_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", "31/12/2023, 21:41 - Alice: " + "a" * (4 * 1024 * 1024) + "\n")
    records, issues = parse(archive)
    assert records == []
    assert [i.where for i in issues] == ["file"] and "zip bomb" in issues[0].reason


CHAT = "31/12/2023, 21:41 - Alice: Hi\n31/12/2023, 21:42 - Bob: Ho\n"


def chat_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", CHAT)
        zf.writestr("IMG-1.jpg", b"\xff\xd8")
    return path


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        # zipfile raises NotImplementedError on opening it (found by benchmarks/fuzz_connectors.py).
        (CENTRAL_EXTRACT_VERSION, bytes([99]), "not a readable zip: NotImplementedError"),
        (CENTRAL_COMPRESSION, (99).to_bytes(2, "little"), "unreadable zip member: NotImplementedError"),
    ],
)
def test_damaged_zip_is_an_issue(tmp_path: Path, offset: int, value: bytes, reason: str) -> None:
    archive = chat_zip(tmp_path / "WhatsApp Chat - Alice.zip")
    patch_central_headers(archive, offset, value)
    records, issues = parse(archive)
    assert records == []
    assert [(i.where, i.reason) for i in issues] == [("file", reason)]


def test_member_with_an_empty_name_is_skipped(tmp_path: Path) -> None:
    archive = chat_zip(tmp_path / "WhatsApp Chat - Alice.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        unnamed = zipfile.ZipInfo("x.txt")
        zf.writestr(unnamed, b"")
        unnamed.filename = ""  # the central directory is written from this at close
    records, issues = parse(archive)
    assert [r.body for r in records] == ["Hi", "Ho"]
    assert issues == []


def test_giant_line_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import twin_assets.connectors.whatsapp as wa

    monkeypatch.setattr(wa, "MAX_LINE_CHARS", 50)
    text = "31/12/2023, 21:41 - Alice: " + "SECRET" * 40 + "\n31/12/2023, 21:42 - Bob: short\n"
    records, issues = parse(write(tmp_path, text))
    assert [r.body for r in records][1] == "short"
    assert [i.where for i in issues] == ["line 1"]
    assert "SECRET" not in issues[0].reason


def test_preamble_lines_are_reported_without_content(tmp_path: Path) -> None:
    records, issues = parse(write(tmp_path, "SECRET junk\n31/12/2023, 21:41 - Alice: Hi\n"))
    assert len(records) == 1
    assert issues == [ParseIssue("file", "1 line(s) before the first message header skipped")]


@pytest.mark.parametrize(
    "content",
    [
        b"Date,Description,Amount\n2024-01-01,Coffee,-3.00\n",
        b"just some notes\n12/31/23, 9:41 PM - Alice: Hi\n",
        b"",
        b"\x00\x01",
    ],
)
def test_does_not_recognize_other_text(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    assert not WhatsAppConnector().recognizes(path, read_head(path))


def test_slack_zip_is_not_whatsapp(tmp_path: Path) -> None:
    archive = tmp_path / "slack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("general/2024-01-01.json", "[]")
    assert not WhatsAppConnector().recognizes(archive, read_head(archive))
    assert [i.where for i in WhatsAppConnector().parse(archive)] == ["file"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WhatsApp Chat with Alice.txt", "Alice"),
        ("WhatsApp-Chat mit Bob.txt", "Bob"),
        ("WhatsApp Chat - Family.zip", "Family"),
        ("_chat.txt", "_chat"),
    ],
)
def test_chat_name(name: str, expected: str) -> None:
    assert chat_name(Path(name)) == expected


@pytest.mark.samples
@pytest.mark.skipif(not WHATSAPP_SAMPLES.exists(), reason="shared samples not available")
def test_robust_over_sample_chats() -> None:
    connector = WhatsAppConnector()
    counts: Counter[str] = Counter()
    files = sorted(WHATSAPP_SAMPLES.rglob("*.txt"))
    assert files
    for path in files:
        assert connector.recognizes(path, read_head(path)), path.name
        out = list(connector.parse(path))
        records = [r for r in out if isinstance(r, Record)]
        assert records, path.name
        counts["files"] += 1
        counts["records"] += len(records)
        counts["system"] += sum(1 for r in records if r.attributes["system"])
        counts["issues"] += len(out) - len(records)
        assert len({r.external_id for r in records}) == len(records)
    print("whatsapp samples:", dict(counts))
    assert counts["records"] > 3000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IMG-20200101-WA0001.jpg (file attached)", "IMG-20200101-WA0001.jpg"),
        ("look IMG-1.jpg (file attached) nice", "IMG-1.jpg"),
        ("<attached: 00000012-PHOTO.jpg>", "00000012-PHOTO.jpg"),
        ("see (file attached)", None),
        ("no name (file attached) then a.pdf (file attached)", "a.pdf"),
        ("just words", None),
    ],
)
def test_attachment_names(text: str, expected: str | None) -> None:
    from twin_assets.connectors.whatsapp import attachment_name

    assert attachment_name(text) == expected


@pytest.mark.parametrize(
    "body",
    [
        "a" * 200_000,  # one run of non-space characters: the old pattern was quadratic in it
        "a" * 200_000 + " (file attached)",
        "<attached: " * 20_000,
        ("x.jpg" * 10 + " (file attached)") * 4_000,
    ],
    ids=["run", "run-then-marker", "open-markers", "many-markers"],
)
def test_attachment_markers_are_linear_on_adversarial_lines(tmp_path: Path, body: str) -> None:
    import time

    # Generous bound: linear code takes ~0.1 s here, the quadratic pattern took minutes on 200k characters.
    text = "31/12/2023, 21:41 - Alice: " + body + "\n"
    started = time.perf_counter()
    records, _ = parse(write(tmp_path, text))
    assert time.perf_counter() - started < 20
    assert len(records) <= 1
