from __future__ import annotations

import json
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import twin_assets.connectors.slack as slack_module
from tests.connectors.common import CENTRAL_COMPRESSION, CENTRAL_EXTRACT_VERSION, patch_central_headers, split
from twin_assets.connectors.base import read_head
from twin_assets.connectors.slack import SlackConnector, parse_ts
from twin_assets.records import CHAT_MESSAGE, ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
SLACK_SAMPLES = SAMPLES.resolve() / "chat" / "slack"

USERS = [
    {
        "id": "U1",
        "name": "ada",
        "real_name": "Ada Lovelace",
        "profile": {"real_name": "Ada Lovelace", "display_name": "ada", "email": "ada@example.org"},
    },
    {"id": "U2", "name": "bob", "profile": {"real_name": "Bob Byte", "display_name": "bobby"}},
]
CHANNELS = [{"id": "C1", "name": "general"}]
DMS = [{"id": "D1", "members": ["U1", "U2"]}]
GENERAL_DAY1 = [
    {"type": "message", "subtype": "channel_join", "user": "U2", "text": "<@U2> has joined", "ts": "1704189600.000100"},
    {
        "type": "message",
        "user": "U1",
        "ts": "1704189660.000200",
        "text": "Hi <@U2>, see <https://example.org/doc|the doc> &amp; <#C1|general> <!here>",
        "reactions": [{"name": "tada", "users": ["U2"], "count": 1}, {"name": "+1", "users": ["U1", "U2"], "count": 2}],
    },
    {
        "type": "message",
        "user": "U2",
        "ts": "1704189720.000300",
        "thread_ts": "1704189660.000200",
        "text": "Thanks!",
        "files": [{"name": "notes.pdf", "mimetype": "application/pdf", "url_private": "https://x"}],
    },
    {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B1",
        "username": "deploybot",
        "text": "",
        "attachments": [{"fallback": "Deploy finished"}],
        "ts": "1704189780.000400",
    },
]
GENERAL_DAY2 = [
    {
        "type": "message",
        "user": "U3",
        "ts": "1704276000.000001",
        "text": "new person",
        "user_profile": {"real_name": "Cy Unknown"},
    }
]
DM_DAY = [{"type": "message", "user": "U2", "ts": "1704193200.000001", "text": "private hello"}]


def export_files() -> dict[str, bytes]:
    return {
        "users.json": json.dumps(USERS).encode(),
        "channels.json": json.dumps(CHANNELS).encode(),
        "dms.json": json.dumps(DMS).encode(),
        "general/2024-01-02.json": json.dumps(GENERAL_DAY1).encode(),
        "general/2024-01-03.json": json.dumps(GENERAL_DAY2).encode(),
        "D1/2024-01-02.json": json.dumps(DM_DAY).encode(),
        "integration_logs.json": b"[]",
    }


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name, data)
    return path


def parse(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    return split(SlackConnector().parse(path))


def test_folder_export(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "export", export_files())
    assert SlackConnector().recognizes(root, b"")
    records, issues = parse(root)
    assert issues == []
    by_id = {r.external_id: r for r in records}
    # The join is housekeeping and skipped; the DM folder is named by its id.
    assert sorted(by_id) == [
        "C1/1704189660.000200",
        "C1/1704189720.000300",
        "C1/1704189780.000400",
        "C1/1704276000.000001",
        "D1/1704193200.000001",
    ]
    hello = by_id["C1/1704189660.000200"]
    assert hello.kind == CHAT_MESSAGE and hello.title == ""
    assert hello.body == "Hi @bobby, see the doc & #general @here"
    assert hello.links == ["https://example.org/doc"]
    assert hello.event_time == datetime(2024, 1, 2, 10, 1, 0, 200, tzinfo=UTC)
    assert hello.parties == [
        Party(role="from", name="Ada Lovelace", handle="U1", email="ada@example.org"),
        Party(role="mention", name="bobby", handle="U2"),
    ]
    assert hello.attributes == {
        "channel": "general",
        "channel_id": "C1",
        "subtype": None,
        "reactions": 3,
        "files": [],
        "is_dm": False,
        "is_bot": False,
    }
    reply = by_id["C1/1704189720.000300"]
    assert reply.thread_id == "1704189660.000200"
    assert reply.attributes["files"] == [{"name": "notes.pdf", "mimetype": "application/pdf"}]
    bot = by_id["C1/1704189780.000400"]
    assert bot.attributes["is_bot"] and bot.attributes["subtype"] == "bot_message"
    assert bot.body == "Deploy finished"
    assert bot.parties == [Party(role="from", name="deploybot", handle="B1")]
    stranger = by_id["C1/1704276000.000001"]
    assert stranger.parties == [Party(role="from", name="Cy Unknown", handle="U3")]
    dm = by_id["D1/1704193200.000001"]
    assert dm.attributes["is_dm"] and dm.attributes["channel_id"] == "D1"


@pytest.mark.parametrize("prefix", ["", "My Workspace Slack export/"])
def test_zip_matches_folder(tmp_path: Path, prefix: str) -> None:
    folder_records, _ = parse(write_folder(tmp_path / "export", export_files()))
    archive = write_zip(tmp_path / "export.zip", export_files(), prefix)
    assert SlackConnector().recognizes(archive, read_head(archive))
    zip_records, issues = parse(archive)
    assert issues == []
    assert [r.to_json() for r in zip_records] == [r.to_json() for r in folder_records]


def test_zip_bomb_member_is_refused_and_the_rest_is_read(tmp_path: Path) -> None:
    files = export_files()
    # ~4 MiB of one repeated message compresses far beyond 100:1.
    files["general/2024-01-04.json"] = json.dumps(
        [{"type": "message", "user": "U1", "ts": "1704362400.000001", "text": " " * (4 * 1024 * 1024)}]
    ).encode()
    archive = write_zip(tmp_path / "bomb.zip", files)
    info = zipfile.ZipFile(archive).getinfo("general/2024-01-04.json")
    assert info.file_size > 100 * info.compress_size
    records, issues = parse(archive)
    assert len(records) == 5
    assert len(issues) == 1
    assert issues[0].where.startswith("zip member ")
    assert "zip bomb" in issues[0].reason and "general" not in issues[0].reason


def test_zip_total_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_zip(tmp_path / "big.zip", export_files())
    monkeypatch.setattr(slack_module, "MAX_TOTAL_UNCOMPRESSED", 100)
    records, issues = parse(archive)
    assert records == []
    assert [i.where for i in issues] == ["file"] and "zip bomb" in issues[0].reason


def test_bad_day_file_and_bad_messages_are_issues(tmp_path: Path) -> None:
    files = export_files()
    files["general/2024-01-03.json"] = b'[{"type": "message", "text": "SECRET broken'
    files["general/2024-01-05.json"] = json.dumps(
        [
            {"type": "message", "user": "U1", "text": "SECRET no ts"},
            "SECRET not an object",
            {"type": "message", "user": "U1", "ts": "1704448800.000001", "text": "fine"},
        ]
    ).encode()
    files["general/2024-01-06.json"] = b"[" * 100_000 + b"]" * 100_000
    records, issues = parse(write_folder(tmp_path / "export", files))
    assert "C1/1704448800.000001" in {r.external_id for r in records}
    wheres = [i.where for i in issues]
    assert wheres == [
        "channel 2 day 2",
        "channel 2 day 3 message 1",
        "channel 2 day 3 message 2",
        "channel 2 day 4",
    ]
    assert issues[0].reason.startswith("not valid JSON")
    for issue in issues:
        assert "SECRET" not in issue.where + issue.reason


@pytest.mark.parametrize(
    "files",
    [
        {"_chat.txt": b"12/31/23, 9:41 PM - Alice: hi\n"},
        {"readme.txt": b"hello"},
        {"users.json": b"[]"},  # metadata alone is not an export
    ],
)
def test_other_zips_are_not_slack(tmp_path: Path, files: dict[str, bytes]) -> None:
    archive = write_zip(tmp_path / "other.zip", files)
    assert not SlackConnector().recognizes(archive, read_head(archive))


def test_unreadable_inputs(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    assert [i.where for i in SlackConnector().parse(fake)] == ["file"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not SlackConnector().recognizes(empty, b"")
    assert [i.where for i in SlackConnector().parse(empty)] == ["file"]


def test_zip_claiming_an_unsupported_version_is_an_issue(tmp_path: Path) -> None:
    # zipfile raises NotImplementedError on opening it (found by benchmarks/fuzz_connectors.py).
    archive = write_zip(tmp_path / "slack.zip", export_files())
    patch_central_headers(archive, CENTRAL_EXTRACT_VERSION, bytes([99]))
    records, issues = parse(archive)
    assert records == []
    assert [(i.where, i.reason) for i in issues] == [("file", "not a readable zip: NotImplementedError")]


def test_members_with_an_unsupported_compression_method_are_issues(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "slack.zip", export_files())
    patch_central_headers(archive, CENTRAL_COMPRESSION, (99).to_bytes(2, "little"))
    records, issues = parse(archive)
    assert records == []
    assert issues and {i.reason for i in issues} == {"unreadable: NotImplementedError"}


def test_member_with_an_empty_name_is_skipped(tmp_path: Path) -> None:
    # ZipInfo.is_dir() raises IndexError on an empty name (found by benchmarks/fuzz_connectors.py).
    archive = write_zip(tmp_path / "slack.zip", export_files())
    with zipfile.ZipFile(archive, "a") as zf:
        unnamed = zipfile.ZipInfo("x")
        zf.writestr(unnamed, b"[]")
        unnamed.filename = ""  # the central directory is written from this at close
    assert "" in zipfile.ZipFile(archive).namelist()
    records, issues = parse(archive)
    expected, _ = parse(write_zip(tmp_path / "plain.zip", export_files()))
    assert [r.external_id for r in records] == [r.external_id for r in expected] and records
    assert issues == []


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("1704189660.000200", datetime(2024, 1, 2, 10, 1, 0, 200, tzinfo=UTC)),
        ("1704189660", datetime(2024, 1, 2, 10, 1, tzinfo=UTC)),
        ("not a ts", None),
        (None, None),
    ],
)
def test_parse_ts(ts: object, expected: datetime | None) -> None:
    assert parse_ts(ts) == expected


@pytest.mark.samples
@pytest.mark.skipif(not SLACK_SAMPLES.exists(), reason="shared samples not available")
def test_robust_over_sample_slack_exports() -> None:
    connector = SlackConnector()
    counts: Counter[str] = Counter()
    candidates = sorted(SLACK_SAMPLES.rglob("*.zip")) + sorted(p.parent for p in SLACK_SAMPLES.rglob("users.json"))
    assert candidates
    for path in candidates:
        assert connector.recognizes(path, read_head(path)), path.name
        out = list(connector.parse(path))
        assert out
        records = [r for r in out if isinstance(r, Record)]
        counts["exports"] += 1
        counts["records"] += len(records)
        counts["bot_messages"] += sum(1 for r in records if r.attributes["is_bot"])
        counts["issues"] += len(out) - len(records)
    print("slack samples:", dict(counts))
    assert counts["records"] > 100
