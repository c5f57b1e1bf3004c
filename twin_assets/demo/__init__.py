"""The demo persona: a deterministic, synthetic life rendered as real export formats.

``generate(out_dir, seed=..., people=..., years=..., volume=...)`` writes an mbox, an iCalendar
file, a vCard address book, an Obsidian vault, a bank CSV and an OFX statement, a Slack export and
a WhatsApp export, plus ``ground_truth.json`` listing everything that was planted in them.
"""

from twin_assets.demo.generator import generate

__all__ = ["generate"]
