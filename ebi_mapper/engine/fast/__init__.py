"""The engine's fast path: one generated Python function per rule, behind :class:`FastPath`.

``compile_mapping(..., fast=True)`` (the default) builds a :class:`FastPath` for the
:class:`~ebi_mapper.engine.mapper.Mapper`; ``map_record``/``map_many`` use it when no trace is
asked for. It gives the interpreter's results (tests/engine/test_fast_path_differential.py) and
uses only the engine's public parts: the compiled rules (:mod:`..compiled`), the tail
(:func:`~ebi_mapper.engine.finish.finish_rule`, for rules with enrichers), the scopes,
:meth:`Mapper.map_bespoke`, :meth:`EventValidator.compiled_check` and each guard's declared fast
form (:class:`~ebi_mapper.extensions.FastGuard`). tests/engine/test_fast_guard_plugin.py proves
a plugin's guard keeps its rule on this path.

- :mod:`.codegen` writes a rule's runner, :mod:`.each` its `each` loop, :mod:`.guards` the
  guards, :mod:`.parts` the run-time helpers and facts about coercers;
- :mod:`.conformance` and :mod:`.proof` prove at compile time which values the schema accepts,
  so a proven event skips validation.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from ...outcomes import RecordResult
from ...rejection_codes import filtered
from ..compiled import CompiledRule, RuleRunner
from ..dispatch import decides_when
from ..finish import finish_rule, rule_failed
from .codegen import make_rule_runner
from .guards import plan_guards

if TYPE_CHECKING:
    from ..mapper import Mapper

__all__ = ["FastPath"]

_NO_RULE = filtered("no_rule")  # frozen, so one instance serves every unmatched record


class FastPath:
    """Every rule's generated runner, and the dispatcher's tables of runners."""

    def __init__(self, mapper: Mapper):
        self.mapper = mapper
        finish = partial(finish_rule, mapper)
        for crule in mapper.rules:
            options: dict[str, Any] = dict(
                tenant=mapper.mapping.tenant,
                tz=mapper.tz,
                dst=mapper.mapping.dst,
                validator=mapper.validator,
                guards=plan_guards(crule),
                finish=finish,
                mapping=mapper.mapping,
                catalog=mapper.catalog,
            )
            crule.run, crule.python_source = make_rule_runner(crule, **options)
            crule.run_dispatched = crule.run
            if crule.rule.when is not None and mapper.dispatch is not None and decides_when(crule.rule.when.source, mapper.dispatch.path):
                crule.run_dispatched, _ = make_rule_runner(crule, check_when=False, **options)
        self.all: tuple[RuleRunner, ...] = tuple(crule.run for crule in mapper.rules if crule.run is not None)  # file order, no dispatcher
        self.dispatch: Any = mapper.dispatch  # the dispatcher the tables below were built from
        self.table: dict[Any, tuple[RuleRunner, ...]] = {}  # discriminator value -> runners
        self.default: tuple[RuleRunner, ...] = ()  # runners for payloads whose discriminator is in no table
        self.key: str | None = None  # the discriminator's key when its path is one key long
        dispatch = self.dispatch
        if dispatch is not None:
            # A rule listed under value V because its `when` is exactly `path == 'V'` needs no check.
            self.table = {
                value: tuple(c.run_dispatched if c.run_dispatched is not c.run and decides_when(c.rule.when.source, dispatch.path) == value else c.run
                             for c in rules)
                for value, rules in dispatch.table.items()
            }
            self.default = tuple(c.run for c in dispatch.default)
            if len(dispatch.path) == 1:
                self.key = dispatch.path[0]

    def map(self, payload: Any, source: str, now: datetime) -> RecordResult:
        """The interpreter's ``map_record`` with each rule's generated runner; equal results, proven by test."""
        result = RecordResult()
        matched = False
        mapper = self.mapper
        dispatch = mapper.dispatch
        if dispatch is None:
            runners: Any = self.all
        elif dispatch is self.dispatch:
            key = self.key
            if key is not None:  # one-step discriminator (`type`): the dispatcher's get, inline
                value = payload.get(key) if type(payload) is dict else None
            else:
                value = dispatch.get(payload)
            runners = self.table.get(value, self.default) if type(value) is str else self.default
        else:  # someone swapped the dispatcher: follow it
            runners = [crule.run for crule in dispatch(payload)]
        for run in runners:
            try:  # free in 3.11 when nothing is raised
                if run(payload, result, source, now):
                    matched = True
            except Exception as exc:  # noqa: BLE001 - one rule's failure rejects this record only
                result.rejections.append(rule_failed(self.rule_of(run), exc, source))
                matched = True
        if mapper.bespoke:
            matched = mapper.map_bespoke(payload, result, source, None) or matched
        if not matched:
            result.filtered.append(_NO_RULE)
        return result

    def rule_of(self, run: RuleRunner) -> CompiledRule | None:
        """The compiled rule a generated runner belongs to (looked up only after a failure)."""
        return next((c for c in self.mapper.rules if run is c.run or run is c.run_dispatched), None)
