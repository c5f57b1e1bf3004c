"""Optional: let an OpenAI-compatible chat endpoint phrase the answer. Off by default.

Enabled only when ``TWIN_LLM_URL`` is set (e.g. a llama.cpp or Ollama server on
this machine, ``http://127.0.0.1:8080/v1``). The model sees only the question,
the reasoning steps and the evidence the caller may already read, and must
cite record ids; an answer citing anything else is discarded. Non-loopback
endpoints are refused unless ``TWIN_LLM_ALLOW_REMOTE=on``: sending your records
to someone else's server is a decision to make explicitly. Any failure falls
back to the rule-based answer; nothing is logged but the failure's type.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from twin_assets.settings import get_settings

log = logging.getLogger("twin.ask")

SYSTEM = (
    "You answer questions about the user's own life using ONLY the evidence given. "
    "Cite every claim with the record ids in square brackets, e.g. [r12ab]. "
    "If the evidence does not answer the question, say so. Be brief."
)


@dataclass(frozen=True)
class LlmConfig:
    url: str
    model: str
    api_key: str | None
    timeout: float = 30.0


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_from_env() -> LlmConfig | None:
    """The endpoint of ``TWIN_LLM_*``, or None when none is set or a remote one is not allowed."""
    llm = get_settings().llm
    url = llm.url  # validated: empty or an http(s) URL without a trailing slash
    if not url:
        return None
    if not _loopback(urlparse(url).hostname) and not llm.allow_remote:
        log.warning("TWIN_LLM_URL is not a loopback address and TWIN_LLM_ALLOW_REMOTE is off: LLM answers off")
        return None
    api_key = llm.api_key.get_secret_value() if llm.api_key is not None else None
    return LlmConfig(url, llm.model, api_key)


def build_messages(question: str, result: dict[str, Any]) -> list[dict[str, str]]:
    evidence = [{k: e.get(k) for k in ("id", "timestamp", "source", "title", "snippet")} for e in result["evidence"]]
    steps = [{"text": s["text"], "evidence": s["evidence"]} for s in result["reasoning"]]
    user = json.dumps(
        {"question": question, "draft_answer": result["answer"], "reasoning": steps, "evidence": evidence},
        ensure_ascii=False,
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def rephrase(question: str, result: dict[str, Any], config: LlmConfig) -> str | None:
    """The model's answer, or None (then the rule-based answer stands)."""
    import httpx

    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    body = {"model": config.model, "messages": build_messages(question, result), "temperature": 0}
    try:
        r = httpx.post(f"{config.url}/chat/completions", json=body, headers=headers, timeout=config.timeout)
        r.raise_for_status()
        text = r.json()["choices"][0]["message"]["content"]
    except Exception as exc:  # any failure: fall back; the message could quote content, so type only
        log.warning("LLM answer failed: %s", type(exc).__name__)
        return None
    if not isinstance(text, str) or not text.strip():
        return None
    allowed = {e["id"] for e in result["evidence"]}
    cited = set(re.findall(r"\[([A-Za-z0-9_]+)\]", text))
    if not cited or not cited <= allowed:
        return None
    return text.strip()
