"""The processing layer: plain functions over :class:`~twin_assets.records.Document` values.

Each module does one job and returns dataclasses that carry ``tier`` (the highest tier of their
evidence, invariant 2) and ``evidence`` (document ids). Nothing here touches Dagster, a database
or the file system; the assets that store the results live elsewhere.

* :mod:`.text` — quoted replies, signatures and boilerplate as offset ranges; language; passages.
* :mod:`.entities` — people, organisations, places and projects mentioned by each document.
* :mod:`.resolution` — merges those mentions into entities (union-find over strong keys, guarded names).
* :mod:`.sentiment` — VADER per document and per relationship per month.
* :mod:`.timeline` — events in UTC with their original zone, recurring series, life events.
* :mod:`.topics` — clusters of document vectors with c-TF-IDF labels and monthly trends.
"""
