"""Importing libraries without their optional machine-learning stacks."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def without_optional_ml() -> Iterator[None]:
    """Import presidio (directly, or through the spaCy factory it registers) without ``transformers`` and
    ``torch``.

    presidio imports both at module level for its optional transformer NLP engine (and thinc for spaCy's
    torch device), which we never use: 6.3 s and ~140 MB per process, against 1.2 s without. spaCy loads
    every registered factory's entry point when it builds a pipeline, presidio's among them, so even a blank
    spaCy pipeline paid it (5.0 s against 1.4 s). Both import ``transformers``/``torch`` inside
    ``try/except ImportError``, so a ``None`` entry in ``sys.modules`` makes them skip it. Modules already
    imported (the torch embedding backend) are left alone, and the entries are removed afterwards, so a later
    ``import torch`` works as usual.
    """
    blocked = [name for name in ("transformers", "torch") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
