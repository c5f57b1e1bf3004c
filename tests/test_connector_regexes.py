"""Every compiled pattern at module level in a connector (and the toolkit) runs in about linear time on long
adversarial text: a run of one character, or of a repeated pair, 50,000 long. A super-linear pattern (like the
WhatsApp "file attached" one was) takes seconds here and fails."""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
import time

import pytest

import twin_assets.connectors as connectors_package

LENGTH = 20_000
# A text that takes this long is timed again four times longer: linear time grows ~4x, quadratic ~16x.
NOTICEABLE_SECONDS = 0.01
GROWTH_LIMIT = 9.0
# An absolute bound too, generous for a loaded machine.
SECONDS_PER_STRING = 1.5
CHARS = set(" \t\n\r:;,./-_=@<>[](){}\"'`0aAxX\\+|#*~é\u00a0")
PAIRS = [a + b for a in "a0 .:(<`" for b in " \n:/-.,@<[(`"]
#: Patterns applied only to text of a bounded length, tested at that length (the caller guards it).
BOUNDED = {"twin_assets.connectors.notes._INLINE_CODE": 4096}


def _patterns() -> list[tuple[str, re.Pattern]]:
    found = []
    for info in pkgutil.walk_packages(connectors_package.__path__, connectors_package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{module.__name__}.{name}", value))
    return sorted(found, key=lambda item: item[0])


PATTERNS = _patterns()


def _adversarial(pattern: re.Pattern, length: int) -> list[str | bytes]:
    source = pattern.pattern.decode("latin-1") if isinstance(pattern.pattern, bytes) else pattern.pattern
    chars = CHARS | {c for c in source if c in string.printable}
    texts = [c * length for c in sorted(chars)] + [p * (length // 2) for p in PAIRS]
    if isinstance(pattern.pattern, bytes):
        return [t.encode() for t in texts]
    return list(texts)


def test_the_connectors_patterns_are_found() -> None:
    names = {name for name, _ in PATTERNS}
    assert len(PATTERNS) > 40 and "twin_assets.connectors.whatsapp.ATTACHED_RE" in names


@pytest.mark.parametrize(
    ("name", "pattern"), PATTERNS, ids=[name.rsplit(".", 2)[-2] + "." + name.rsplit(".", 1)[-1] for name, _ in PATTERNS]
)
def test_pattern_is_linear_on_long_adversarial_text(name: str, pattern: re.Pattern) -> None:
    length = BOUNDED.get(name, LENGTH)
    slow = []
    for text in _adversarial(pattern, length):
        took = _timed(pattern, text)
        if took > SECONDS_PER_STRING:
            slow.append(f"{text[:2]!r}… {took:.2f} s at length {length}")
        elif name not in BOUNDED and took >= NOTICEABLE_SECONDS:  # a bounded one never sees longer text
            longer = _timed(pattern, text * 4)
            if longer > SECONDS_PER_STRING or (longer > 0.05 and longer / took > GROWTH_LIMIT):
                slow.append(f"{text[:2]!r}… {took:.2f} s, 4x longer {longer:.2f} s")
        if slow:  # one is proof enough; more would only make a failing run slow
            break
    assert not slow, f"{name} is super-linear on: {'; '.join(slow)}"


def _timed(pattern: re.Pattern, text: str | bytes) -> float:
    started = time.monotonic()
    pattern.search(text)
    return time.monotonic() - started
