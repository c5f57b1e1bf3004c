"""Telemetry of every library the twin loads is off, in every process, before any of them is imported.

- ONNX Runtime (the embedder) otherwise writes a device id and a telemetry database (executable path, OS, CPU)
  to ``$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime``. Only ``ORT_DISABLE_TELEMETRY``, read when the
  library is first imported, stops that file; ``onnxruntime.disable_telemetry_events()`` does not (1.32).
- Chroma: ``anonymized_telemetry=False`` in the client's settings (``stores.chroma_client``) and
  ``ANONYMIZED_TELEMETRY`` for any Settings built elsewhere, the home's server process included.
- Hugging Face Hub: no usage pings (the model is local anyway; the home runs offline).
- Dagster: ``telemetry: enabled: false`` in the home's ``dagster.yaml`` (``twin_assets.home``).

Values are forced, not defaulted: the twin promises this whatever the environment says.
"""

from __future__ import annotations

from twin_assets.settings import force_env

OFF = {
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def switch_off() -> None:
    """Set every library's telemetry switch to off in this process (and so in the processes it starts)."""
    force_env(OFF)
