from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import twin_assets.connectors.telegram as telegram_module
from tests.connectors.common import split
from twin_assets.connectors.base import read_head
from twin_assets.connectors.telegram import TelegramConnector, flatten_text
from twin_assets.records import CHAT_MESSAGE, ParseIssue, Party, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
TELEGRAM_SAMPLES = SAMPLES.resolve() / "chat" / "telegram"

SINGLE = {
    "name": 'Ada {curly} "quoted"',
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
            "type": "service",
            "date": "2024-01-15T10:31:00",
            "date_unixtime": "1705314660",
            "actor": "Ada",
            "action": "phone_call",
            "text": "",
        },
        {
            "id": 3,
            "type": "message",
            "date": "2024-01-15T10:32:00",
            "date_unixtime": "1705314720",
            "from": "Bob",
            "from_id": "user2",
            "reply_to_message_id": 1,
            "text": [
                "See ",
                {"type": "text_link", "text": "this", "href": "https://example.org/x"},
                " and ",
                {"type": "bold", "text": "that"},
                {"type": "link", "text": "https://example.com"},
            ],
        },
        # No unixtime: the zone-less local date is read in TWIN_TELEGRAM_TZ.
        {
            "id": 4,
            "type": "message",
            "date": "2024-07-01T12:00:00",
            "from": "Ada",
            "from_id": "user1",
            "text": "",
            "photo": "photos/p.jpg",
            "file": "files/Report Q2.pdf",
            "media_type": "document",
        },
    ],
}


def write_json(tmp_path: Path, data: object, name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def parse(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    return split(TelegramConnector().parse(path))


def test_single_chat_export(tmp_path: Path) -> None:
    path = write_json(tmp_path, SINGLE)
    assert TelegramConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert issues == []
    assert [r.external_id for r in records] == ["4242/1", "4242/3", "4242/4"]  # service message skipped
    hello, reply, photo = records
    assert hello.kind == CHAT_MESSAGE and hello.source == "telegram"
    assert hello.body == "Hello!"
    assert hello.event_time == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert hello.original_tz is None
    assert hello.parties == [Party(role="from", name="Ada", handle="user1")]
    assert hello.attributes["chat"] == 'Ada {curly} "quoted"'
    assert hello.attributes["chat_type"] == "personal_chat"
    assert reply.body == "See this and thathttps://example.com"
    assert reply.links == ["https://example.org/x", "https://example.com"]
    assert reply.thread_id == "4242/1" and reply.attributes["reply_to"] == "1"
    assert photo.event_time == datetime(2024, 7, 1, 12, 0, tzinfo=UTC) and photo.original_tz == "UTC"
    assert photo.attributes["file"] == "Report Q2.pdf" and photo.attributes["photo"] is True


def test_unixtime_is_preferred_and_zone_applies_to_local_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_TELEGRAM_TZ", "Europe/Berlin")
    records, issues = parse(write_json(tmp_path, SINGLE))
    assert issues == []
    assert records[0].event_time == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)  # from date_unixtime
    assert records[2].event_time == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 CEST
    assert records[2].original_tz == "Europe/Berlin"


FULL = {
    "about": "Here is the data you requested.",
    "personal_information": {"user_id": 1, "first_name": "Me"},
    "frequent_contacts": {"list": [{"id": 999, "type": "user", "name": "Decoy"}]},
    "chats": {
        "about": "chats",
        "list": [
            {
                "name": "Group A",
                "type": "private_group",
                "id": 10,
                "messages": [
                    {
                        "id": 1,
                        "type": "message",
                        "date_unixtime": "1700000000",
                        "from": "X",
                        "from_id": "user5",
                        "text": 'a1 with "messages": [ inside',
                    },
                    {
                        "id": 2,
                        "type": "message",
                        "date_unixtime": "1700000060",
                        "from": "Y",
                        "from_id": "user6",
                        "text": ["]}", {"type": "code", "text": '{"id": 7}'}],
                    },
                ],
            },
            {
                "type": "saved_messages",
                "messages": [
                    {
                        "id": 5,
                        "type": "message",
                        "date_unixtime": "1700000100",
                        "from": "Me",
                        "from_id": "user1",
                        "text": "note to self",
                    },
                ],
            },
        ],
    },
    "left_chats": {
        "about": "left",
        "list": [
            {
                "name": "Old",
                "type": "public_supergroup",
                "id": -100123,
                "messages": [
                    {
                        "id": 9,
                        "type": "message",
                        "date_unixtime": "1600000000",
                        "from": None,
                        "from_id": "user7",
                        "text": "bye",
                    },
                ],
            },
        ],
    },
}


def test_full_export(tmp_path: Path) -> None:
    path = write_json(tmp_path, FULL)
    assert TelegramConnector().recognizes(path, read_head(path))
    records, issues = parse(path)
    assert issues == []
    ids = [r.external_id for r in records]
    assert ids[:2] == ["10/1", "10/2"] and ids[3] == "-100123/9"
    assert ids[2].startswith("name:") and ids[2].endswith("/5")  # saved messages have no id
    assert records[1].body == ']}{"id": 7}'
    assert records[3].parties == [Party(role="from", name=None, handle="user7")]


@pytest.mark.parametrize("data", [SINGLE, FULL], ids=["single", "full"])
@pytest.mark.parametrize("chunk", [7, 4096])
def test_streaming_matches_json_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: dict, chunk: int) -> None:
    path = write_json(tmp_path, data)
    loaded = [r.to_json() for r in TelegramConnector().parse(path)]
    monkeypatch.setattr(telegram_module, "STREAM_THRESHOLD", -1)
    monkeypatch.setattr(telegram_module, "CHUNK_CHARS", chunk)
    streamed = [r.to_json() for r in TelegramConnector().parse(path)]
    assert streamed == loaded


def test_truncated_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(SINGLE, indent=1)
    path = tmp_path / "result.json"
    path.write_text(text[: text.index('"id": 4,')], encoding="utf-8")
    records, issues = parse(path)
    assert records == [] and issues[0].where == "file" and issues[0].reason.startswith("not valid JSON")
    monkeypatch.setattr(telegram_module, "STREAM_THRESHOLD", -1)
    records, issues = parse(path)
    # Streaming keeps everything before the cut.
    assert [r.external_id for r in records] == ["4242/1", "4242/3"]
    assert len(issues) == 1 and "Ada" not in issues[0].reason


def test_bad_messages_are_issues_without_content(tmp_path: Path) -> None:
    data = {
        "name": "C",
        "type": "personal_chat",
        "id": 1,
        "messages": [
            {"id": 1, "type": "message", "text": "SECRET no date"},
            "SECRET string",
            {"type": "message", "date_unixtime": "1700000000", "text": "SECRET no id"},
            {"id": 4, "type": "message", "date_unixtime": "1700000000", "text": "fine"},
        ],
    }
    records, issues = parse(write_json(tmp_path, data))
    assert [r.external_id for r in records] == ["1/4"]
    assert [i.where for i in issues] == ["chat 1 message 1", "chat 1 message 2", "chat 1 message 3"]
    assert all("SECRET" not in i.where + i.reason for i in issues)


@pytest.mark.parametrize(
    "content",
    [
        b'[{"sender_id": -1, "text": "hi", "date": "2023-05-15T19:30:49+00:00", "message.id": 1}]',
        b'{"guild": {}, "channel": {}, "messages": [{"id": "1", "type": "Default", "timestamp": "x"}]}',
        b"[]",
        b"not json at all",
    ],
)
def test_other_json_is_not_telegram(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    assert not TelegramConnector().recognizes(path, read_head(path))
    out = list(TelegramConnector().parse(path))
    assert all(isinstance(i, ParseIssue) for i in out) and len(out) >= 1


def test_flatten_text() -> None:
    assert flatten_text("plain") == ("plain", [])
    assert flatten_text(["a", {"type": "mention", "text": "@b"}, 5, None]) == ("a@b", [])
    assert flatten_text(None) == ("", [])


@pytest.mark.samples
@pytest.mark.skipif(not TELEGRAM_SAMPLES.exists(), reason="shared samples not available")
def test_robust_over_sample_exports() -> None:
    connector = TelegramConnector()
    counts: Counter[str] = Counter()
    files = [p for p in sorted(TELEGRAM_SAMPLES.rglob("*")) if p.is_file()]
    assert files
    for path in files:
        out = list(connector.parse(path))
        assert out, path.name
        records = [r for r in out if isinstance(r, Record)]
        recognized = connector.recognizes(path, read_head(path))
        assert recognized == bool(records), path.name
        counts["files_with_records" if records else "files_with_issues_only"] += 1
        counts["records"] += len(records)
        counts["issues"] += len(out) - len(records)
    print("telegram samples:", dict(counts))
    assert counts["records"] >= 10
