"""NotesConnector: Obsidian vaults and Markdown files, front-matter, links and tags."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.connectors.common import split
from twin_assets.connectors.base import read_head
from twin_assets.connectors.notes import (
    MAX_NOTE_BYTES,
    NotesConnector,
    code_free,
    inline_tags,
    link_targets,
    wikilink_target,
)
from twin_assets.records import ParseIssue, Record

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
NOTE_SAMPLES = SAMPLES.resolve() / "notes"


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def parse(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    return split(NotesConnector().parse(path))


def by_id(records: list[Record]) -> dict[str, Record]:
    return {r.external_id: r for r in records}


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    write(root, ".obsidian/app.json", "{}")
    write(root, ".obsidian/workspace.md", "# not a note")
    write(root, ".trash/deleted.md", "# deleted")
    write(root, ".hidden/secret.md", "# hidden")
    write(root, "attachments/picture.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    return root


def test_front_matter(vault: Path) -> None:
    write(
        vault,
        "Projects/Plan.md",
        """---
title: The Plan
tags: [project, "#work"]
aliases:
  - Master plan
  - Plan A
date: 2023-05-06
publish: true
meta:
  reviewed: 2023-05-07T08:09:10+02:00
  score: .nan
---
# Heading that is not the title

Body text.
""",
    )
    records, issues = parse(vault)
    assert issues == []
    note = by_id(records)["Projects/Plan.md"]
    assert note.source == "notes"
    assert note.kind == "note"
    assert note.title == "The Plan"
    assert note.body.startswith("# Heading that is not the title")
    assert "title:" not in note.body
    assert note.attributes["tags"] == ["project", "work"]
    assert note.attributes["aliases"] == ["Master plan", "Plan A"]
    assert note.attributes["published"] is True
    assert note.attributes["path"] == "Projects/Plan.md"
    assert note.event_time == datetime(2023, 5, 6, tzinfo=UTC)
    front = note.attributes["front_matter"]
    assert front["date"] == "2023-05-06"
    assert front["meta"] == {"reviewed": "2023-05-07T08:09:10+02:00", "score": "nan"}
    json.loads(json.dumps(front, allow_nan=False))


def test_invalid_front_matter_is_reported_and_note_kept(vault: Path) -> None:
    raw = "---\naString: {{var}}\ntags: [ 'tag', '{{varTag}}' ]\n---\n\nSecret body with #inline tag.\n"
    write(vault, "Template.md", raw)
    records, issues = parse(vault)
    [note] = records
    assert note.body == raw.strip()
    assert note.attributes["front_matter"] == {}
    assert note.attributes["tags"] == ["inline"]
    assert len(issues) == 1
    assert issues[0].where == "note 1"
    assert issues[0].reason.startswith("invalid front-matter: ")
    assert "var" not in issues[0].reason and "Secret" not in issues[0].reason


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[[Target]]", ["Target"]),
        ("[[Target|alias text]]", ["Target"]),
        ("[[Target#Some heading]]", ["Target"]),
        ("[[Target#^block-id|alias]]", ["Target"]),
        ("![[Target]]", ["Target"]),
        ("![[diagram.png]]", ["diagram.png"]),
        ("[[  Target  ]]", ["Target"]),
        ("[[Target.md]]", ["Target"]),
        ("[[folder/Target]]", ["folder/Target"]),
        ("[[#Heading in this note]]", []),
        ("[[unclosed link", []),
        ("[text](sub/Other%20Note.md#part)", ["sub/Other Note"]),
        ("[text](<./Other Note.md>)", ["Other Note"]),
        ("[web](https://example.com/page.md)", []),
        ("[image](picture.png)", []),
        ("`[[In inline code]]`", []),
        ("```\n[[In a code block]]\n```", []),
        ("[[A]] then [b](B.md) then ![[C]] and [[A|again]]", ["A", "B", "C"]),
    ],
)
def test_links(tmp_path: Path, markdown: str, expected: list[str]) -> None:
    write(tmp_path, "note.md", markdown + "\n")
    [note], _ = parse(tmp_path / "note.md")
    assert [link for link in note.links if not link.startswith("#")] == expected


def test_tags_inline_and_front_matter_not_in_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tags.md",
        """---
tags: alpha, beta/gamma
---
# A heading is not a tag
#start-of-line tag and #inline/nested and #Alpha again (case-insensitive duplicate)
not#this, ()#nor-this, #123 is a number, issue #42, C# too, https://example.com/#anchor
[[Note#heading]] [link](#anchor)
`#in-inline-code`

```python
# comment #in-fence
```

~~~
#in-tilde-fence
~~~
%% #in-obsidian-comment %%
final #last_one
""",
    )
    [note], issues = parse(tmp_path / "tags.md")
    assert issues == []
    expected = ["alpha", "beta/gamma", "start-of-line", "inline/nested", "last_one"]
    assert note.attributes["tags"] == expected
    assert [link for link in note.links if link.startswith("#")] == [f"#{t}" for t in expected]


def test_daily_note_date_and_front_matter_dates(vault: Path) -> None:
    write(vault, "Daily/2024-03-05.md", "Went for a walk.\n")
    write(vault, "Daily/2024-02-30.md", "Not a real date.\n")
    write(vault, "Daily/2024-03-06.md", "---\ncreated: 2021-10-01T02:00:00+02:00\n---\nOverride.\n")
    write(vault, "Zoned.md", "---\ndate: 2021-11-01T01:00:00[Europe/Paris]\n---\nx\n")
    write(vault, "Vague.md", "---\ndate: March 5\n---\nx\n")
    write(vault, "Undated.md", "x\n")
    notes = by_id(parse(vault)[0])
    assert notes["Daily/2024-03-05.md"].event_time == datetime(2024, 3, 5, tzinfo=UTC)
    assert notes["Daily/2024-02-30.md"].event_time is None
    assert notes["Daily/2024-03-06.md"].event_time == datetime(2021, 10, 1, 0, 0, tzinfo=UTC)
    zoned = notes["Zoned.md"]
    assert zoned.event_time == datetime(2021, 11, 1, 0, 0, tzinfo=UTC)
    assert zoned.original_tz == "Europe/Paris"
    assert notes["Vague.md"].event_time is None  # the year would depend on when it is imported
    assert notes["Undated.md"].event_time is None


def test_hidden_and_trash_folders_ignored(vault: Path) -> None:
    write(vault, "Visible.md", "# Visible\n")
    write(vault, "sub/.hidden-note.md", "# hidden file\n")
    write(vault, "sub/Deeper.markdown", "Deeper\n=====\n\ntext\n")
    records, issues = parse(vault)
    assert issues == []
    assert sorted(r.external_id for r in records) == ["Visible.md", "sub/Deeper.markdown"]
    assert by_id(records)["sub/Deeper.markdown"].title == "Deeper"  # setext heading


def test_symlink_loop_and_links_out_of_vault(tmp_path: Path, vault: Path) -> None:
    write(vault, "sub/Inside.md", "# Inside\n")
    outside = tmp_path / "outside"
    write(outside, "Private.md", "# Must not be imported\n")
    try:
        os.symlink(vault, vault / "sub" / "loop")
        os.symlink(outside, vault / "escape")
        os.symlink(outside / "Private.md", vault / "Escaped note.md")
        os.symlink(vault / "sub" / "Inside.md", vault / "Alias.md")
    except (OSError, NotImplementedError):
        pytest.skip("symlinks not supported here")
    records, issues = parse(vault)
    assert [r.external_id for r in records] == ["sub/Inside.md"]
    assert issues == [ParseIssue(where="vault", reason="2 symbolic link(s) leaving the vault not followed")]


def test_title_fallbacks_and_stable_ids(tmp_path: Path) -> None:
    write(tmp_path, "With H1.md", "Intro\n\n```\n# not a heading\n```\n\n# Real Title #\n")
    write(tmp_path, "No heading.md", "## Second level only\n")
    first = by_id(parse(tmp_path)[0])
    second = by_id(parse(tmp_path)[0])
    assert first["With H1.md"].title == "Real Title"
    assert first["No heading.md"].title == "No heading"
    for key in first:
        assert first[key].canonical_content() == second[key].canonical_content()
    # A single file is identified relative to its folder.
    [single], _ = parse(tmp_path / "With H1.md")
    assert single.external_id == "With H1.md"


def test_non_utf8_note_decoded(tmp_path: Path) -> None:
    write(tmp_path, "legacy.md", "# Grüße\n\nSchöne Größe aus Köln.\n".encode("latin-1"))
    write(tmp_path, "wide.md", "# Ünïcödé\n\n#tag\n".encode("utf-16"))
    notes = by_id(parse(tmp_path)[0])
    assert notes["legacy.md"].title == "Grüße"
    assert "Schöne Größe aus Köln." in notes["legacy.md"].body
    assert notes["wide.md"].title == "Ünïcödé"
    assert notes["wide.md"].attributes["tags"] == ["tag"]


def test_huge_note_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "small.md", "ok\n")
    with (tmp_path / "huge.md").open("wb") as fh:
        fh.truncate(MAX_NOTE_BYTES + 1)  # sparse: no real disk use
    records, issues = parse(tmp_path)
    assert [r.external_id for r in records] == ["small.md"]
    assert [(i.where, i.reason) for i in issues] == [("note 1", "larger than 20 MiB, skipped")]


def test_front_matter_alias_bomb_is_bounded(tmp_path: Path) -> None:
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb += f"{name}: &{name} [{', '.join('*' + previous for _ in range(10))}]\n"
    bomb += "---\nbody\n"
    write(tmp_path, "bomb.md", bomb)
    records, issues = parse(tmp_path / "bomb.md")
    assert [r.body for r in records] == [bomb.strip()]
    assert [i.reason for i in issues] == ["front-matter too large or too deeply nested"]


def test_unclosed_front_matter_is_a_horizontal_rule(tmp_path: Path) -> None:
    write(tmp_path, "rule.md", "---\n\nJust text after a rule.\n")
    [note], issues = parse(tmp_path / "rule.md")
    assert issues == []
    assert "Just text after a rule." in note.body


def test_empty_folder_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert parse(tmp_path / "empty") == ([], [ParseIssue(where="file", reason="no Markdown note found")])
    assert parse(tmp_path / "missing")[1][0].where == "file"


def test_recognizes(tmp_path: Path, vault: Path) -> None:
    connector = NotesConnector()
    assert connector.recognizes(vault, b"")  # .obsidian/ even without notes yet
    plain = tmp_path / "plain"
    for i in range(3):
        write(plain, f"n{i}.md", "text")
    write(plain, "image.png", b"\x89PNG")
    assert connector.recognizes(plain, b"")
    random = tmp_path / "random"
    for name in ("a.csv", "b.jpg", "c.txt", "readme.md"):
        write(random, name, "x")
    assert not connector.recognizes(random, b"")
    md = write(tmp_path, "one.md", "# hi")
    assert connector.recognizes(md, read_head(md))
    binary = write(tmp_path, "fake.md", b"\x00\x01\x02binary")
    assert not connector.recognizes(binary, read_head(binary))
    txt = write(tmp_path, "notes.txt", "# hi")
    assert not connector.recognizes(txt, read_head(txt))


def test_helpers() -> None:
    assert wikilink_target(" foo#^abc |foo > ^abc") == "foo"
    assert wikilink_target("Table link\\|alias") == "Table link"
    scan = code_free("a `#x` b\n````\n```\n#y\n````\n#z")
    assert inline_tags(scan) == ["z"]
    assert link_targets(code_free("[[a]] `[[b]]` %% [[c]] %% <!-- [[d]] -->")) == ["a"]


@pytest.mark.skipif(not NOTE_SAMPLES.exists(), reason="shared samples not available")
def test_robustness_on_sample_vaults() -> None:
    connector = NotesConnector()
    vaults = sorted(p for p in NOTE_SAMPLES.iterdir() if p.is_dir())
    assert vaults
    total_records = total_issues = 0
    for path in vaults:
        assert connector.recognizes(path, b""), path.name
        records, issues = parse(path)
        assert records, path.name
        ids = [r.external_id for r in records]
        assert len(ids) == len(set(ids))
        for issue in issues:
            assert issue.where.startswith(("note", "vault", "file"))
        total_records += len(records)
        total_issues += len(issues)
        # Every single Markdown file parses on its own too.
        for md in path.rglob("*.md"):
            assert any(isinstance(o, Record) for o in connector.parse(md)), md.name
    print(f"notes samples: {len(vaults)} vaults, {total_records} notes, {total_issues} issues")
    assert total_issues >= 2  # the sample set holds two notes with invalid front-matter
