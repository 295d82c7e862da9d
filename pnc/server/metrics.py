"""Prometheus metrics in the text exposition format (version 0.0.4), hand-written: counters, gauges
and histograms with labels, plus gauges read at scrape time.

The bridge's own families are attributes of :class:`Metrics`; other parts of the service (the REST
API) register theirs with :meth:`Metrics.counter`, :meth:`Metrics.gauge` and
:meth:`Metrics.histogram`. Updates are cheap (a dict look-up and an addition under a lock), so they
sit on the hot path of every OCPP message.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Callable, Iterable, Sequence

# seconds: OCPP answers from a cache take well under a millisecond, an installation tens of ms
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Family:
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str]) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, values: Sequence[str]) -> tuple[str, ...]:
        if len(values) != len(self.label_names):
            raise ValueError(f"{self.name} has labels {self.label_names}, got {len(values)} values")
        return tuple(str(v) for v in values)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Family):
    """A monotonically growing count per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str]) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only grows")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class Gauge(_Family):
    """A value that goes up and down per label set."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str]) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, *labels: str, amount: float = 1.0) -> None:
        self.inc(*labels, amount=-amount)

    def set(self, *labels: str, value: float) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value

    def value(self, *labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class CallbackGauge(_Family):
    """A gauge without labels whose value is read when scraped."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        super().__init__(name, help_text, ())
        self._read = read

    def samples(self) -> list[str]:
        try:
            value = float(self._read())
        except Exception:  # a failing reader must not break the scrape of everything else
            return []
        return [f"{self.name} {_number(value)}"]


class Histogram(_Family):
    """Observations counted into cumulative buckets, with their sum and count, per label set."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labels: Sequence[str], buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))
        # per label set: counts per bucket (the last one is +Inf), sum
        self._values: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, *labels: str, value: float) -> None:
        key = self._key(labels)
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            entry = self._values.get(key)
            if entry is None:
                entry = self._values[key] = ([0] * (len(self.buckets) + 1), [0.0])
            entry[0][index] += 1
            entry[1][0] += value

    def count(self, *labels: str) -> int:
        entry = self._values.get(self._key(labels))
        return sum(entry[0]) if entry else 0

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._values.items())
        lines: list[str] = []
        for key, (counts, total) in items:
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {running}")
        return lines


def _resident_bytes() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _open_fds() -> float:
    return len(os.listdir("/proc/self/fd"))


class Metrics:
    """The metrics of one bridge process."""

    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}
        self._lock = threading.Lock()
        self.connections = self.gauge(
            "pnc_ocpp_connections",
            "Open OCPP connections of chargers.",
            ("ocpp_version", "security_profile"),
        )
        self.connections_refused = self.counter(
            "pnc_ocpp_connections_refused_total",
            "OCPP connection attempts refused before the websocket opened, by reason.",
            ("reason",),
        )
        self.messages = self.counter(
            "pnc_ocpp_messages_total",
            "OCPP calls handled: direction (received from the charger, sent to it, relayed upstream), "
            "action, version and outcome (a CallResult, or the CallError code).",
            ("direction", "action", "ocpp_version", "outcome"),
        )
        self.latency = self.histogram(
            "pnc_ocpp_call_duration_seconds",
            "Time from a call's arrival to its answer (received: the bridge's answer; sent: the "
            "charger's; relayed: the upstream CSMS's).",
            ("direction", "action", "ocpp_version"),
        )
        self.frames_rejected = self.counter(
            "pnc_ocpp_frames_rejected_total",
            "Frames answered with a CallError before any handler ran (malformed, oversized, ...).",
            ("reason",),
        )
        if os.path.exists("/proc/self/statm"):
            self.add(
                CallbackGauge(
                    "process_resident_memory_bytes", "Resident memory size in bytes.", _resident_bytes
                )
            )
            self.add(CallbackGauge("process_open_fds", "Number of open file descriptors.", _open_fds))

    def add(self, family: _Family) -> None:
        with self._lock:
            if family.name in self._families:
                raise ValueError(f"metric {family.name} is already registered")
            self._families[family.name] = family

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        family = Counter(name, help_text, labels)
        self.add(family)
        return family

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        family = Gauge(name, help_text, labels)
        self.add(family)
        return family

    def callback_gauge(self, name: str, help_text: str, read: Callable[[], float]) -> CallbackGauge:
        family = CallbackGauge(name, help_text, read)
        self.add(family)
        return family

    def histogram(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        family = Histogram(name, help_text, labels, tuple(buckets))
        self.add(family)
        return family

    def render(self) -> str:
        """Every family in the text exposition format."""
        with self._lock:
            families = list(self._families.values())
        lines: list[str] = []
        for family in families:
            lines += family.header()
            lines += family.samples()
        return "\n".join(lines) + "\n"


__all__ = ["LATENCY_BUCKETS", "CallbackGauge", "Counter", "Gauge", "Histogram", "Metrics"]
