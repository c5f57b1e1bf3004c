"""The path of one record, step by step, as plain functions over a :class:`Twin`.

inputs (register a file) → sync (parse, stage encrypted) → documents (classify,
route to the tier store) → embeddings (vector index). Dagster assets and CLI
commands are thin wrappers around these.
"""
