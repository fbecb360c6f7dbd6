"""A record of what the engine did for one payload, for ``ebi-mapper explain``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Trace", "TraceStep"]


@dataclass(frozen=True)
class TraceStep:
    rule: str
    kind: str  # when | item | field | coerced | step (guard/enricher)
    name: str
    expression: str = ""
    state: str = ""
    value: Any = None


@dataclass
class Trace:
    """Steps appended by the engine while it maps one payload with ``trace=`` given."""

    steps: list[TraceStep] = field(default_factory=list)

    def when(self, rule: str, expression: str, value: Any) -> None:
        self.steps.append(TraceStep(rule, "when", "when", expression, "", value))

    def field(self, rule: str, name: str, expression: str, state: str, value: Any) -> None:
        self.steps.append(TraceStep(rule, "field", name, expression, state, value))

    def coerced(self, rule: str, name: str, value: Any) -> None:
        self.steps.append(TraceStep(rule, "coerced", name, "", "", value))

    def step(self, rule: str, name: str, value: Any) -> None:
        self.steps.append(TraceStep(rule, "step", name, "", "", value))

    def item(self, rule: str, index: int, key: str) -> None:
        """The `each` element whose steps follow (explain prints a header per element)."""
        self.steps.append(TraceStep(rule, "item", f"item {index}", "", "", {"index": index, "key": key}))

    def for_rule(self, rule: str) -> list[TraceStep]:
        return [s for s in self.steps if s.rule == rule]
