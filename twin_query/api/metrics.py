"""Prometheus text exposition at GET /metrics: request counts and latency per route template and status.

Labels are only the method, the route *template* (``/v1/entities/{entity_id}``,
never an id or a query), the status code and fixed WebSocket message types, so
nothing scraped can carry content. Counters live in this process.
"""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WS_TYPES = frozenset(
    {"auth", "search", "ask", "subscribe", "unsubscribe", "ping", "record", "insights_changed", "error", "other"}
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.ws_messages: dict[tuple[str, str], int] = defaultdict(int)  # (direction, type)
        self.ws_open = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            key = (method, route)
            counts = self.buckets.setdefault(key, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def ws_message(self, direction: str, kind: str) -> None:
        with self._lock:
            self.ws_messages[(direction, kind if kind in WS_TYPES else "other")] += 1

    def ws_connections(self, delta: int) -> None:
        with self._lock:
            self.ws_open += delta

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP twin_http_requests_total Requests by method, route template and status.",
                "# TYPE twin_http_requests_total counter",
            ]
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'twin_http_requests_total{{method="{method}",route="{_label(route)}",status="{status}"}} {n}'
                )
            lines += [
                "# HELP twin_http_request_duration_seconds Request latency by method and route template.",
                "# TYPE twin_http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self.buckets.items()):
                labels = f'method="{method}",route="{_label(route)}"'
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(f'twin_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}')
                total = self.counts[(method, route)]
                lines.append(f'twin_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}')
                lines.append(f"twin_http_request_duration_seconds_sum{{{labels}}} {self.sums[(method, route)]:.6f}")
                lines.append(f"twin_http_request_duration_seconds_count{{{labels}}} {total}")
            lines += [
                "# HELP twin_ws_messages_total WebSocket messages by direction and type.",
                "# TYPE twin_ws_messages_total counter",
            ]
            for (direction, kind), n in sorted(self.ws_messages.items()):
                lines.append(f'twin_ws_messages_total{{direction="{direction}",type="{kind}"}} {n}')
            lines += [
                "# HELP twin_ws_connections Open WebSocket connections.",
                "# TYPE twin_ws_connections gauge",
                f"twin_ws_connections {self.ws_open}",
            ]
        return "\n".join(lines) + "\n"
