"""The README's configuration table, rendered from the settings model (a test keeps the two equal).

``python -m twin_assets.settings_doc`` prints it, to paste into the README's "Configuration" section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from twin_assets.settings import fields_by_variable

HEADER = "| variable | default | meaning |\n| --- | --- | --- |"


def default_text(field: FieldInfo) -> str:
    """The default as the table shows it: words where it is computed, on/off for switches, else the value."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "doc_default" in extra:
        return str(extra["doc_default"])
    value: Any = field.default
    if value is PydanticUndefined or value is None:
        return "unset"
    if isinstance(value, bool):
        return "`on`" if value else "`off`"
    if value == "":
        return "empty"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, Path):
        return f"`{value.as_posix()}`"
    return f"`{value}`"


def rows() -> dict[str, str]:
    """Each variable's table row, in the model's order."""
    return {
        name: f"| `{name}` | {default_text(field)} | {field.description} |"
        for name, field in fields_by_variable().items()
    }


def markdown_table() -> str:
    return "\n".join([HEADER, *rows().values()])


if __name__ == "__main__":
    print(markdown_table())
