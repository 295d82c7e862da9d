"""The result of ``pnc demo``: each step of the journey, what it should do, what it did, how long
it took, and whether the two agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    """One step of the journey."""

    name: str
    expected: str
    observed: str = ""
    ok: bool = False
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "ok": self.ok,
            "ms": round(self.seconds * 1000, 1),
            "expected": self.expected,
            "observed": self.observed,
            "details": self.details,
        }


@dataclass
class DemoReport:
    """Every step of one ``pnc demo`` run."""

    protocol: str
    plug_and_charge: bool
    home: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None  # why the journey stopped early, if it did

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def summary(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "plug_and_charge": self.plug_and_charge,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "home": self.home,
            "error": self.error,
            "steps": [s.summary() for s in self.steps],
        }


__all__ = ["DemoReport", "Step"]
