"""Key sources: a passphrase (argon2id, verified) and the OS keyring, besides the key file and env."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keyring
import keyring.backend
import pytest
from typer.testing import CliRunner

from tests.privacy_scan import scan
from twin_query.cli import app

runner = CliRunner()


def _secrets_in_file(path) -> list:
    data = json.loads(path.read_text())
    return [k.get("secret") for k in data["keys"] if k.get("secret")]


# ---- passphrase -----------------------------------------------------------------------
def test_passphrase_right_opens_wrong_is_refused(settings, monkeypatch):
    from twin_assets.errors import KeyFileError
    from twin_assets.keys import WRONG_PASSPHRASE
    from twin_assets.twin import open_twin

    monkeypatch.setenv("TWIN_PASSPHRASE", "correct horse battery staple")
    result = runner.invoke(app, ["init", "--passphrase"])
    assert result.exit_code == 0, result.output
    keys = settings.keys_dir
    master = json.loads((keys / "master.json").read_text())
    assert master["wrap"] == "passphrase" and not _secrets_in_file(keys / "master.json")
    assert not (keys / "index.key").exists()  # the index secret is wrapped too
    kdf = json.loads((keys / "kdf.json").read_text())
    assert kdf["kdf"] == "argon2id" and kdf["salt"] and kdf["verifier"]
    twin = open_twin(settings)
    blob = twin.keyring.encrypt(b"hello")
    assert twin.store("HIGH").count() == 0
    twin.close()

    monkeypatch.setenv("TWIN_PASSPHRASE", "wrong horse")
    with pytest.raises(KeyFileError) as exc:
        open_twin(settings)
    assert exc.value.message == WRONG_PASSPHRASE == "passphrase does not open this twin"
    monkeypatch.setenv("TWIN_PASSPHRASE", "correct horse battery staple")
    assert open_twin(settings).keyring.decrypt(blob) == b"hello"


def test_a_service_derives_the_passphrase_key_once_for_all_its_handles(settings, monkeypatch):
    import threading

    from twin_assets import keys
    from twin_query.service import QueryService

    monkeypatch.setenv("TWIN_PASSPHRASE", "once is enough")
    assert runner.invoke(app, ["init", "--passphrase"]).exit_code == 0
    derived: list[int] = []
    real = keys._argon2id
    monkeypatch.setattr(keys, "_argon2id", lambda *a: derived.append(1) or real(*a))
    opened: list[bytes] = []
    with QueryService(settings) as service:
        first = service.twin()
        other = threading.Thread(
            target=lambda: opened.append(service.twin().keyring.decrypt(first.keyring.encrypt(b"x")))
        )
        other.start()
        other.join()
    assert opened == [b"x"] and len(derived) == 1  # the first handle's; the other thread's shares its keyring


def test_wrong_passphrase_is_one_line_on_the_command_line(settings, monkeypatch):
    monkeypatch.setenv("TWIN_PASSPHRASE", "right one")
    assert runner.invoke(app, ["init", "--passphrase"]).exit_code == 0
    env = {**os.environ, "TWIN_PASSPHRASE": "not it"}
    proc = subprocess.run(
        [sys.executable, "-m", "twin_query.cli", "audit"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["error: passphrase does not open this twin (check TWIN_PASSPHRASE)"], proc.stderr


def test_missing_passphrase_says_how_to_give_it(settings, monkeypatch):
    from twin_assets.errors import KeyFileError
    from twin_assets.twin import open_twin

    monkeypatch.setenv("TWIN_PASSPHRASE", "pw one two")
    assert runner.invoke(app, ["init", "--passphrase"]).exit_code == 0
    monkeypatch.delenv("TWIN_PASSPHRASE")
    with pytest.raises(KeyFileError) as exc:
        open_twin(settings)
    assert "TWIN_PASSPHRASE" in str(exc.value)


def test_init_prompts_for_the_passphrase(settings, monkeypatch):
    from twin_assets.keys import _passphrase_override
    from twin_assets.twin import open_twin

    result = runner.invoke(app, ["init", "--passphrase"], input="typed secret\ntyped secret\n")
    assert result.exit_code == 0, result.output
    assert "typed secret" not in result.stdout
    assert _passphrase_override.get() is None, "the command forgets the passphrase when it ends"
    monkeypatch.setenv("TWIN_PASSPHRASE", "typed secret")
    assert open_twin(settings).keyring.active_id == "k1"


def test_rotation_keeps_keys_wrapped_under_the_passphrase(settings, monkeypatch):
    from twin_assets.keys import load_keyring
    from twin_assets.lifecycle.rotate import rotate_keys

    monkeypatch.setenv("TWIN_PASSPHRASE", "rotate me")
    assert runner.invoke(app, ["init", "--passphrase"]).exit_code == 0
    report = rotate_keys(settings)
    assert report.target == "k2" and report.retired == ["k1"]
    master = settings.keys_dir / "master.json"
    assert json.loads(master.read_text())["wrap"] == "passphrase" and not _secrets_in_file(master)
    assert load_keyring(settings).key_ids == ["k2"]


# ---- OS keyring -----------------------------------------------------------------------
class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend keeping passwords in a dict (tests only)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self.passwords.pop((service, username), None)


@pytest.fixture
def os_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keyring_source_keeps_the_secret_out_of_the_home(settings, monkeypatch, os_keyring):
    from twin_assets.errors import KeyFileError
    from twin_assets.keys import KEYRING_SERVICE, describe_keys
    from twin_assets.twin import open_twin

    monkeypatch.setenv("TWIN_KEY_SOURCE", "keyring")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    stored = os_keyring.passwords[(KEYRING_SERVICE, str(settings.home_path))]
    master = settings.keys_dir / "master.json"
    assert json.loads(master.read_text())["wrap"] == "keyring" and not _secrets_in_file(master)
    assert not any(scan([settings.home_path], [stored]).values())
    twin = open_twin(settings)
    assert twin.keyring.decrypt(twin.keyring.encrypt(b"x")) == b"x"
    twin.store("MEDIUM").count()
    twin.close()
    assert describe_keys(settings)["source"] == "keyring"
    monkeypatch.delenv("TWIN_KEY_SOURCE")  # the home remembers its source
    assert open_twin(settings).keyring.active_id == "k1"

    os_keyring.passwords[(KEYRING_SERVICE, str(settings.home_path))] = "A" * 43 + "="
    with pytest.raises(KeyFileError) as exc:
        open_twin(settings)
    assert "does not open this twin" in str(exc.value)
    del os_keyring.passwords[(KEYRING_SERVICE, str(settings.home_path))]
    with pytest.raises(KeyFileError) as exc:
        open_twin(settings)
    assert "holds no key" in str(exc.value)


def test_unusable_keyring_is_a_clear_error(settings, monkeypatch):
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setenv("TWIN_KEY_SOURCE", "keyring")
        result = runner.invoke(app, ["init"])
        assert result.exit_code != 0
        assert "OS keyring is not usable" in str(result.exception)
        assert not (settings.keys_dir / "master.json").exists()
    finally:
        keyring.set_keyring(previous)


def test_unknown_key_source_is_refused(settings, monkeypatch):
    monkeypatch.setenv("TWIN_KEY_SOURCE", "usb-stick")
    result = runner.invoke(app, ["init"])
    assert result.exit_code != 0 and "TWIN_KEY_SOURCE" in str(result.exception)
