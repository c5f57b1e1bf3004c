"""Embedding backends: ONNX matches sentence-transformers, the export is cached, homes keep to one backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin_assets import embedding
from twin_assets.errors import ConfigError

TEXTS = [
    "Lunch with Priya on Thursday?",
    "",
    "Invoice 4411 from Northwind, due 2024-03-01, amount 129.00 EUR",
    "Quarterly planning: budget, hiring, the roadmap and the offsite. " * 40,  # past 256 tokens: truncated
    "ünïcödé, 日本語 and an emoji 😀",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per test session (about 15 s on 2 cores: fp32 export, then int8 quantisation)."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(embedding.CACHE_ENV, str(cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        for backend in ("onnx", "onnx-int8"):
            embedding.ensure_onnx(backend)
    return cache


@pytest.fixture
def onnx_env(onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(embedding.CACHE_ENV, str(onnx_cache))
    return onnx_cache


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(onnx_env):
    ref = embedding.embed(TEXTS, backend="torch")
    fp32 = embedding.embed(TEXTS, backend="onnx")
    int8 = embedding.embed(TEXTS, backend="onnx-int8")
    for vectors in (fp32, int8):
        assert vectors.shape == (len(TEXTS), embedding.DIM) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _cosines(fp32, ref).min() >= 0.999
    # int8 moves vectors a little (benchmarks/embeddings.py: mean cosine ~0.99); a broken graph lands far lower.
    assert _cosines(int8, ref).min() >= 0.95


@pytest.mark.slow
def test_onnx_batching_keeps_each_text_its_own_vector(onnx_env):
    one_by_one = embedding.embed(TEXTS, backend="onnx", batch_size=1)
    batched = embedding.embed(TEXTS, backend="onnx", batch_size=3)  # sorted by length, padded per batch
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    query = embedding.embed_query(TEXTS[2], backend="onnx")
    np.testing.assert_allclose(query, one_by_one[2], atol=1e-4)


@pytest.mark.slow
def test_second_load_reuses_the_cached_export(onnx_env, monkeypatch):
    paths = {b: embedding.ensure_onnx(b) for b in ("onnx", "onnx-int8")}
    stamps = {b: p.stat().st_mtime_ns for b, p in paths.items()}

    def no_export(*_args):
        raise AssertionError("exported again")

    monkeypatch.setattr(embedding, "_export_fp32", no_export)
    monkeypatch.setattr(embedding, "_quantize", no_export)
    for backend, path in paths.items():
        assert embedding.ensure_onnx(backend) == path
        assert path.stat().st_mtime_ns == stamps[backend]
        assert path.parent == onnx_env
    assert paths["onnx"] != paths["onnx-int8"]


def test_failed_export_leaves_no_file_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(embedding.CACHE_ENV, str(tmp_path / "cache"))

    def half_export(dest: Path) -> None:
        dest.write_bytes(b"half a model")
        raise RuntimeError("disk full")

    monkeypatch.setattr(embedding, "_export_fp32", half_export)
    with pytest.raises(ConfigError) as err:
        embedding.ensure_onnx("onnx")
    assert "TWIN_EMBEDDING_BACKEND=torch" in str(err.value)
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []


def test_unknown_backend_is_a_clear_error(monkeypatch):
    with pytest.raises(ConfigError, match=r"unknown embedding backend 'tensorflow'.*torch, onnx, onnx-int8"):
        embedding.embed(["x"], backend="tensorflow")
    monkeypatch.setenv("TWIN_EMBEDDING_BACKEND", "onnx-int4")
    with pytest.raises(ConfigError, match=r"TWIN_EMBEDDING_BACKEND='onnx-int4'.*torch, onnx, onnx-int8"):
        embedding.embed_query("x")


def test_backend_comes_from_the_setting(monkeypatch):
    assert embedding.resolve_backend() in embedding.BACKENDS
    monkeypatch.setenv("TWIN_EMBEDDING_BACKEND", "torch")
    assert embedding.resolve_backend() == "torch"
    assert embedding.resolve_backend("ONNX") == "onnx"


def test_home_records_its_backend_and_refuses_another(settings):
    record = settings.stores_dir / embedding.HOME_RECORD
    assert embedding.check_home_backend(settings, "onnx-int8", write=False) == "onnx-int8"
    assert not record.exists()  # a query against an empty home pins nothing

    assert embedding.check_home_backend(settings, "onnx-int8") == "onnx-int8"
    saved = json.loads(record.read_text())
    assert saved["backend"] == "onnx-int8" and saved["model"] == embedding.MODEL_NAME and saved["dim"] == 384
    assert embedding.check_home_backend(settings, "onnx-int8") == "onnx-int8"

    for other in ("torch", "onnx"):
        with pytest.raises(ConfigError) as err:
            embedding.check_home_backend(settings, other, write=False)
        message = str(err.value)
        assert "'onnx-int8'" in message and f"'{other}'" in message
        assert "TWIN_EMBEDDING_BACKEND=onnx-int8" in message
    assert json.loads(record.read_text())["backend"] == "onnx-int8"  # the record is not overwritten


def test_torch_and_fp32_onnx_vectors_share_a_home(settings):
    embedding.check_home_backend(settings, "torch")
    assert embedding.check_home_backend(settings, "onnx") == "onnx"
    assert json.loads((settings.stores_dir / embedding.HOME_RECORD).read_text())["backend"] == "torch"


def test_home_with_unrecorded_vectors_counts_as_torch(monkeypatch):
    from twin_assets.settings import get_settings

    monkeypatch.setenv("TWIN_EMBEDDING_BACKEND", "onnx-int8")
    settings = get_settings()
    with pytest.raises(ConfigError, match="made by embedding backend 'torch', but 'onnx-int8'"):
        embedding.check_home_backend(settings, existing_vectors=True)
    assert embedding.check_home_backend(settings, "torch") == "torch"


def test_home_refuses_vectors_of_another_model_file(settings):
    record = settings.stores_dir / embedding.HOME_RECORD
    embedding.check_home_backend(settings, "torch")
    record.write_text(json.dumps({**json.loads(record.read_text()), "model_sha256": "0" * 64}))
    with pytest.raises(ConfigError, match="different all-MiniLM-L6-v2 model file"):
        embedding.check_home_backend(settings, "torch")


def test_models_load_once_per_owner(monkeypatch):
    """An owner (the query service, a run's resource) loads each model once; another owner, or none, loads its own."""
    loads: list[tuple[str, int]] = []
    monkeypatch.setattr(embedding, "_load", lambda name, seq, threads: loads.append((name, seq)) or object())
    mine, theirs = embedding.EmbeddingModels(), embedding.EmbeddingModels()

    assert mine.get(256, "onnx") is embedding.load_model(256, "onnx", models=mine)
    assert mine.get(128, "onnx") is not mine.get(256, "onnx")
    assert theirs.get(256, "onnx") is not mine.get(256, "onnx")
    assert embedding.load_model(256, "onnx") is not embedding.load_model(256, "onnx")
    assert loads == [("onnx", 256), ("onnx", 128), ("onnx", 256), ("onnx", 256), ("onnx", 256)]
