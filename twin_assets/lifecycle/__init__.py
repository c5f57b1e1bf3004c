"""The twin's data over its life: key rotation, forgetting, audit.

* :mod:`.rotate` — ``twin keys rotate``: re-encrypt everything under a new key, resumably;
* :mod:`.forget` — ``twin forget``: remove a record, a source or an entity from every store;
* :mod:`.audit` — ``twin audit``: what is stored where, at which tier, under which key, and why.

These sit above the pipeline (forgetting rebuilds the views through it), so the pipeline never imports them;
what both need lives in the pipeline: the suppression list (:mod:`twin_assets.pipeline.suppress`) and the blind
index over MEDIUM fields (:mod:`twin_assets.pipeline.blind_index`).
"""
