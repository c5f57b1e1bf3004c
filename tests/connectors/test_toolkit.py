"""The connectors' shared toolkit: decoding, head sniffing, zones."""

from __future__ import annotations

import codecs
from datetime import timedelta

import pytest

from twin_assets.connectors.toolkit import (
    configured_zone,
    decode,
    guess_encoding,
    head_text,
    is_utf8,
    normalise_charset,
    wide_encoding,
    zone_named,
    zone_or_offset,
)

WESTERN = "Café crème, dépôt à la réception"


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        (codecs.BOM_UTF8 + "Grüße".encode(), "Grüße", "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "Grüße".encode("utf-16-le"), "Grüße", "utf-16"),
        (codecs.BOM_UTF32_LE + "Grüße".encode("utf-32-le"), "Grüße", "utf-32"),
        (b"plain", "plain", "utf-8"),  # ASCII is named utf-8 so a stream opened with it reads on
        ("Grüße".encode(), "Grüße", "utf-8"),
    ],
)
def test_decode_bom_ascii_and_utf8(data, text, encoding):
    assert decode(data) == (text, encoding)


def test_utf8_beats_a_declaration_unless_it_is_trusted():
    data = "Grüße".encode()
    assert decode(data, "cp1252").text == "Grüße"  # exports declare cp1252 and write UTF-8
    assert decode(data, "cp1252", trust_declared=True).text == "GrÃ¼ÃŸe"  # MIME says what it is


def test_a_declaration_decodes_what_utf8_cannot():
    assert decode(WESTERN.encode("cp1252"), "Windows-1252") == (WESTERN, "cp1252")
    assert decode("Привет".encode("koi8-r"), ["nonsense", "KOI8-R"], trust_declared=True).text == "Привет"


def test_fallback_before_guessing_and_guess_is_pluggable():
    data = WESTERN.encode("cp1252")
    assert decode(data, fallback="latin-1").encoding == "latin-1"
    assert decode(data, guess=lambda _: "cp1252") == (WESTERN, "cp1252")


def test_western_prefers_cp1252_over_a_latin_guess():
    data = WESTERN.encode("cp1252")
    assert decode(data, guess=lambda _: "iso8859_2", western=True) == (WESTERN, "cp1252")
    assert decode(data, guess=lambda _: "iso8859_2").encoding == "iso8859_2"


def test_undecodable_bytes_are_replaced_never_raised():
    out = decode(b"\x81\x8d\x8f\x90\x9d" * 3, guess=lambda _: None)
    assert out.encoding == "utf-8" and "\ufffd" in out.text


def test_guess_reads_cyrillic():
    data = "Привет, мир! Это тестовая строка для проверки кодировки".encode("cp1251")
    assert data.decode(guess_encoding(data)).startswith("Привет")


def test_normalise_charset():
    assert normalise_charset(' "ISO-8859-1" ') == "iso8859-1"
    assert normalise_charset("base64") is None  # bytes-to-bytes, no text codec
    assert normalise_charset("x-unknown") is None


def test_sniffing_helpers():
    assert is_utf8("ü".encode()[:1], truncated=True) and not is_utf8("ü".encode()[:1])
    assert wide_encoding("BEGIN:VCARD\r\n".encode("utf-16-le")) == "utf-16-le"
    assert wide_encoding(b"BEGIN:VCARD\r\n") is None
    assert head_text(codecs.BOM_UTF8 + b'{"name": 1}') == '{"name": 1}'
    assert head_text("BEGIN:VCARD".encode("utf-16")) == "BEGIN:VCARD"


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "../etc", "a" * 300])
def test_an_unusable_configured_zone_is_utc_with_a_problem(name):
    zone = configured_zone(name, "TWIN_X_TZ")
    assert (str(zone.zone), zone.name) == ("UTC", "UTC")
    assert zone.problem == "TWIN_X_TZ is not a known time zone; using UTC"


def test_zones():
    assert configured_zone(" Europe/Berlin ", "TWIN_X_TZ") == (zone_named("Europe/Berlin"), "Europe/Berlin", None)
    assert configured_zone(None, "TWIN_X_TZ").name == "UTC"
    assert zone_or_offset("-05:30").utcoffset(None) == -timedelta(hours=5, minutes=30)
    assert zone_or_offset("Asia/Tokyo") == zone_named("Asia/Tokyo")
    assert zone_or_offset("floating") is None
