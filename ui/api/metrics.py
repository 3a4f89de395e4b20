"""Prometheus metrics of one app, in its own registry (several apps in one process never collide)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from assistant.llm.metered import TokenMeter


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "commerce_http_requests",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "commerce_http_request_seconds",
            "Time to the end of the response by route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.first_token = Histogram(
            "commerce_chat_first_token_seconds",
            "Time from a streamed chat request to its first token",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30),
        )
        self.slot_wait = Histogram(
            "commerce_worker_slot_wait_seconds",
            "Time a request waits for a worker thread, by pool (turn: chat turns; work: search and other short calls)",
            ["pool"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.turns_in_flight = Gauge("commerce_chat_turns_in_flight", "Chat turns running now", registry=self.registry)
        self.rejected = Counter(
            "commerce_http_rejected", "Requests refused at the front door", ["reason"], registry=self.registry
        )
        self.ready = Gauge("commerce_ready", "1 when every component is warm", registry=self.registry)
        self.stage = Histogram(
            "commerce_turn_stage_seconds",
            "Time a chat turn spends per stage (moderation, routing, retrieval, tools, generation)",
            ["stage"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.moderation_decisions = Counter(
            "commerce_moderation_decisions",
            "Moderation decisions on inputs by decision and where the input came from",
            ["decision", "source"],
            registry=self.registry,
        )
        self.review_pending = Gauge(
            "commerce_review_queue_pending", "Items waiting for a reviewer", registry=self.registry
        )

    def watch_llm(self, meter: TokenMeter) -> None:
        """Exports the LLM's running totals (read at each scrape)."""
        self.registry.register(_LLMCollector(meter))

    def observe_turn(self, timings_ms: dict[str, float], moderation: dict[str, Any] | None) -> None:
        """A finished chat turn: its stage timings and the decision on its input."""
        for stage, ms in timings_ms.items():
            if stage != "first_token":  # a point in time, not a stage (it has its own histogram)
                self.stage.labels(stage).observe(ms / 1000)
        if moderation and moderation.get("decision"):
            self.moderation_decisions.labels(moderation["decision"], "chat").inc()


class _LLMCollector(Collector):
    def __init__(self, meter: TokenMeter) -> None:
        self.meter = meter

    def collect(self) -> Iterator[Metric]:
        requests, tokens, failures = self.meter.snapshot()
        yield CounterMetricFamily("commerce_llm_requests", "Requests sent to the LLM", value=requests)
        yield CounterMetricFamily("commerce_llm_tokens", "Reply tokens streamed by the LLM", value=tokens)
        failed = CounterMetricFamily("commerce_llm_failures", "LLM requests that failed, by kind", labels=["kind"])
        for kind in ("timeout", "error"):
            failed.add_metric([kind], failures.get(kind, 0))
        yield failed
