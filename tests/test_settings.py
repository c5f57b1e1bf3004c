"""One settings model: every TWIN_* variable typed and bounded, bad values one line at start, the README's table
the model's own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.conftest import REPO
from twin_assets.errors import ConfigError
from twin_assets.settings import (
    ParseSettings,
    TwinSettings,
    fields_by_variable,
    get_settings,
    invalid_settings_message,
)
from twin_assets.settings_doc import default_text, rows
from twin_query import cli

# (variable, bad value, what the one line says after "error: VARIABLE='value' ")
BAD = [
    ("TWIN_API_RATE", "abc", "is not a number (requests per second: a number >= 0)"),
    ("TWIN_API_BURST", "0.5", "is too small (requests: a number >= 1)"),
    ("TWIN_PARSE_WORKERS", "many", "is not a whole number (processes: a whole number >= 0 and <= 64)"),
    ("TWIN_API_WARM", "perhaps", "is not on or off (on/off, true/false, yes/no or 1/0)"),
    ("TWIN_EMBEDDING_BACKEND", "onnx-int4", "is not allowed (one of torch, onnx, onnx-int8)"),
    ("TWIN_KEY_SOURCE", "usb-stick", "is not allowed (one of file, passphrase, keyring)"),
    ("TWIN_WHATSAPP_TZ", "Mars/Olympus", "is not a known time zone (an IANA name such as Europe/Berlin)"),
    ("TWIN_BANK_CSV_COLUMNS", "{not json", "is not valid JSON"),
    ("TWIN_LLM_URL", "llm.local:8080", "is not an http(s)://host:port URL"),
    ("TWIN_CALENDAR_WINDOW_END", "next year", "is not an ISO date or date-time (e.g. 2020-01-31)"),
    ("TWIN_CHROMA_IDLE_SECONDS", "0", "is too small (seconds: a number > 0)"),
]


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``twin ARGS`` through the console entry point: its exit status and stderr."""
    monkeypatch.setattr(sys, "argv", ["twin", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(("variable", "value", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_value_stops_the_cli_with_one_line(variable, value, says, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    for command in (["audit"], ["serve", "--port", "1"]):
        code, err = run_main(monkeypatch, capsys, *command)
        assert (code, err) == (2, f"error: {variable}={value!r} {says}\n")


def test_several_bad_values_are_still_one_line(monkeypatch):
    monkeypatch.setenv("TWIN_API_RATE", "fast")
    monkeypatch.setenv("TWIN_TELEGRAM_TZ", "Nowhere/Else")
    with pytest.raises(ConfigError) as exc:
        get_settings()
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("TWIN_API_RATE='fast' is not a number") and "; TWIN_TELEGRAM_TZ='Nowhere/Else'" in message


def test_a_secret_is_never_echoed():
    with pytest.raises(ValidationError) as exc:
        TwinSettings.model_validate({"keys": {"TWIN_MASTER_KEY": 1234567890}})
    message = invalid_settings_message(exc.value)
    assert message.startswith("TWIN_MASTER_KEY=(hidden) ") and "1234567890" not in message


def test_a_password_in_a_url_is_never_echoed(monkeypatch):
    monkeypatch.setenv("TWIN_DATABASE_URL", "postgresql://bob:hunter2@db:port/twin")
    with pytest.raises(ConfigError) as exc:
        get_settings()
    assert str(exc.value).startswith("TWIN_DATABASE_URL='postgresql://***@db:port/twin' is not a database URL")
    assert "hunter2" not in str(exc.value)


def test_a_cross_field_rule_names_both_variables(monkeypatch):
    monkeypatch.setenv("TWIN_CALENDAR_WINDOW_START", "2024-01-01")
    monkeypatch.setenv("TWIN_CALENDAR_WINDOW_END", "2023-01-01")
    with pytest.raises(ConfigError, match="TWIN_CALENDAR_WINDOW_START must be before TWIN_CALENDAR_WINDOW_END"):
        get_settings()


def test_the_dagster_code_location_exits_with_the_line():
    env = {"TWIN_API_RATE": "abc", "TWIN_HOME": str(REPO / ".no-home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "import twin_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert proc.stderr == "error: TWIN_API_RATE='abc' is not a number (requests per second: a number >= 0)\n"


def test_public_names_and_values_reach_the_groups(monkeypatch):
    values = {
        "TWIN_API_RATE": "0",
        "TWIN_ACCESS_LOG": "off",
        "TWIN_CORS_ORIGINS": "https://a.example, https://b.example,",
        "TWIN_CALENDAR_WINDOW_START": "2020-02-01",
        "TWIN_WHATSAPP_TZ": " Europe/Berlin ",
        "TWIN_BANK_CSV_COLUMNS": '{"date": "When", "amount": "How much"}',
        "TWIN_PARSE_WORKERS": "2",
        "TWIN_KEY_SOURCE": "Keyring",
        "TWIN_EMBEDDING_BACKEND": "ONNX-int8",
        "TWIN_LLM_URL": "http://127.0.0.1:8080/v1/",
        "TWIN_LLM_ALLOW_REMOTE": "1",
        "TWIN_PASSPHRASE": "",  # empty counts as unset
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    s = get_settings()
    assert (s.api.rate, s.api.access_log, s.api.cors_origins) == (0, False, ["https://a.example", "https://b.example"])
    assert s.calendar.window_start is not None and s.calendar.window_start.isoformat() == "2020-02-01T00:00:00"
    assert (s.whatsapp.tz, s.telegram.tz) == ("Europe/Berlin", "UTC")
    assert s.bank_csv.columns == {"date": "When", "amount": "How much"}
    assert (s.parse.workers, s.keys.source, s.keys.passphrase, s.embedding.backend) == (2, "keyring", None, "onnx-int8")
    assert (s.llm.url, s.llm.allow_remote) == ("http://127.0.0.1:8080/v1", True)


def test_arguments_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TWIN_HOME", str(tmp_path / "from-env"))
    assert TwinSettings(home=tmp_path / "given").home_path == tmp_path / "given"


def test_every_setting_is_typed_described_and_named_twin():
    for name, field in fields_by_variable().items():
        assert re.fullmatch(r"TWIN_[A-Z0-9_]+", name), name
        assert field.annotation is not None and field.description, name


def _readme_rows() -> dict[str, str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n#", 1)[0]
    found = {}
    for line in section.splitlines():
        if m := re.match(r"\| `(TWIN_[A-Z0-9_]+)` \|", line):
            found[m.group(1)] = line
    return found


def test_readme_configuration_table_is_the_model():
    documented, model = _readme_rows(), rows()
    assert sorted(documented.keys() - model.keys()) == [], "in the README but not a setting"
    assert sorted(model.keys() - documented.keys()) == [], "a setting the README does not list"
    changed = [name for name in model if documented[name] != model[name]]
    assert changed == [], "rows differ from `python -m twin_assets.settings_doc`"


def test_computed_defaults_are_said_in_words():
    fields = fields_by_variable()
    assert default_text(fields["TWIN_API_WARM"]) == "`on`"
    assert default_text(fields["TWIN_CHROMA_URL"]) == "empty"
    assert default_text(fields["TWIN_EMBEDDING_CACHE"]).startswith("`$XDG_CACHE_HOME")
    assert "SQLite" in default_text(fields["TWIN_DATABASE_URL"])


def test_the_cli_check_runs_before_any_command(monkeypatch):
    monkeypatch.setenv("TWIN_PARSE_WORKERS", "-1")
    result = CliRunner().invoke(cli.app, ["tokens", "list"])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    assert not get_settings_home().exists(), "nothing ran"


def get_settings_home() -> Path:
    return TwinSettings(parse=ParseSettings(workers=0)).home_path
