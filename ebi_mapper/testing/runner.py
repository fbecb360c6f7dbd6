"""Run the properties over a mapping: its example cases plus N generated payloads per rule.

:func:`run_generated` is what ``ebi-mapper test MAPPING --generate N`` and the pytest plugin
call; :func:`mapping_properties` turns it into a test function for a client's own test module.
Hypothesis does the generating and the shrinking, so the failure reported for a rule is the
smallest payload found that breaks a property.
"""

from __future__ import annotations

import inspect
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from ..app import compile_mapping
from ..engine import Mapper
from ..engine.cases import DEFAULT_CASE_NOW
from ..mapping.loader import parse_utc_timestamp
from ..mapping.model import Mapping
from ..outcomes import BespokeRow, Filtered, OotbEvent, RecordResult, Rejection
from .properties import PropertyFailure, check_all
from .shapes import rule_names
from .strategies import DEFECT_KINDS, GeneratedPayload, fragile_spots, generated_payloads, resolve_mapping, time_forms

__all__ = ["RuleReport", "GeneratedReport", "run_generated", "mapping_properties", "reaches", "hypothesis_storage"]

EXAMPLES_LABEL = "tests:"  # the pseudo-rule under which a mapping's own example cases are reported


@dataclass
class RuleReport:
    """What the generated payloads of one rule did, and the first (shrunk) failure if any."""

    rule: str
    examples: int = 0
    outcomes: Counter = field(default_factory=Counter)  # mapped / rejected / filtered
    valid: int = 0  # examples with nothing broken on purpose
    reached: int = 0  # examples that reached the rule: its `when` matched, so it produced something
    reached_valid: int = 0  # ... of them with nothing broken on purpose
    reached_by_cases: int = 0  # the mapping's own tests: cases that reached the rule
    failure: PropertyFailure | None = None
    error: str = ""  # Hypothesis could not run, or no generated payload reached the rule

    @property
    def passed(self) -> bool:
        return self.failure is None and not self.error

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "examples": self.examples,
            "valid": self.valid,
            "reached": self.reached,
            "reached_valid": self.reached_valid,
            "reached_by_cases": self.reached_by_cases,
            "outcomes": dict(self.outcomes),
            "passed": self.passed,
            "failure": self.failure.to_dict() if self.failure else None,
            "error": self.error,
        }


@dataclass
class GeneratedReport:
    """Counts per rule and the failures of one :func:`run_generated` run."""

    mapping: str
    examples_per_rule: int
    seed: int | None
    rules: list[RuleReport] = field(default_factory=list)

    @property
    def cases(self) -> int:
        """How many payloads were checked (example cases and generated ones, shrinking not counted)."""
        return sum(r.examples for r in self.rules)

    @property
    def failures(self) -> int:
        """How many rules (and the examples pseudo-rule) failed a property."""
        return sum(1 for r in self.rules if not r.passed)

    @property
    def first_failure(self) -> RuleReport | None:
        return next((r for r in self.rules if not r.passed), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "examples_per_rule": self.examples_per_rule,
            "seed": self.seed,
            "cases": self.cases,
            "failures": self.failures,
            "rules": [r.to_dict() for r in self.rules],
        }

    def render(self) -> str:
        """Counts per rule, then the first failure with its shrunk payload."""
        seed = f", seed {self.seed}" if self.seed is not None else ""
        lines = [f"generated: {self.mapping}: {self.examples_per_rule} payloads per rule{seed}"]
        width = max((len(r.rule) for r in self.rules), default=4)
        for r in self.rules:
            mix = ", ".join(f"{n} {k}" for k, n in sorted(r.outcomes.items())) or "nothing mapped"
            status = "ok" if r.passed else "FAIL"
            reach = "" if r.rule == EXAMPLES_LABEL else f", reached the rule: {r.reached} ({r.reached_valid} valid)"
            if r.rule != EXAMPLES_LABEL and not r.reached_valid and r.reached_by_cases:
                reach += f"; only the tests: cases reach it ({r.reached_by_cases})"
            lines.append(f"  {status:<4} {r.rule:<{width}}  {r.examples:>4} payloads ({r.valid} valid{reach}): {mix}")
        first = self.first_failure
        if first is not None:
            lines.append("")
            lines.append(f"first failure, rule {first.rule!r}" + (" (shrunk):" if first.failure else ":"))
            lines.append(first.failure.render() if first.failure else first.error)
        verdict = f"{self.failures} rule(s) failed" if self.failures else "all properties hold"
        lines.append(f"{self.cases} payloads checked, {verdict}")
        return "\n".join(lines)


def _settings(examples: int, seed: int | None) -> settings:
    return settings(
        max_examples=max(1, examples),
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


def _hypothesis_run(mapper: Mapper, report: RuleReport, strategy: Any, *, examples: int, seed: int | None, now: datetime) -> None:
    """Check every property on ``examples`` payloads of ``strategy``; record the shrunk failure in ``report``."""
    failures: list[PropertyFailure] = []

    @_settings(examples, seed)
    @given(strategy)
    def prop(generated: GeneratedPayload) -> None:
        try:
            result = check_all(mapper, generated, now=now)
        except PropertyFailure as failure:
            failures.append(failure)
            raise
        if not failures:  # count generation only, not the replays of shrinking
            report.examples += 1
            report.valid += generated.valid
            report.outcomes[result.outcome] += 1
            if reaches(result, report.rule):
                report.reached += 1
                report.reached_valid += generated.valid

    if seed is not None:
        prop = hypothesis_seed(seed)(prop)
    try:
        prop()
    except PropertyFailure as failure:
        report.examples += 1
        report.failure = failures[-1] if failures else failure  # the last failing call is the shrunk one
    except Exception as exc:  # noqa: BLE001 - Hypothesis' own errors become a failed rule, not a crash
        report.error = f"could not generate payloads for rule {report.rule!r}: {type(exc).__name__}: {exc}"


def reaches(result: RecordResult, rule: str) -> bool:
    """Whether the rule's `when` matched the payload: the rule produced an event, a bespoke row, a
    filter of its own (an empty `each`, before go_live) or a rejection other than of its `when`."""
    units: list[OotbEvent | BespokeRow | Filtered | Rejection] = [
        *result.events, *result.bespoke, *result.filtered, *(r for r in result.rejections if r.field != "when")]
    return any(u.rule == rule for u in units)


def _judge_coverage(report: RuleReport, mapping: Mapping, cases_reaching: int) -> None:
    """A rule that no valid generated payload (nor any tests: case) reached was not tested: a failure."""
    report.reached_by_cases = cases_reaching
    if not report.passed or report.examples == 0 or report.reached_valid > 0 or (report.valid == 0 and report.reached > 0):
        return
    if cases_reaching:
        return  # the properties held on the cases that reach it; the text line says only they did
    when = _when_source(mapping, report.rule)
    report.error = (
        f"rule {report.rule!r} was never reached: none of the {report.examples} generated payloads "
        f"({report.valid} valid, {report.reached} reaching it) matched its `when`"
        + (f" ({when})" if when else "")
        + ", and no tests: case reaches it, so nothing about it was tested (the condition may never hold, or the "
        "kit did not understand it). Add a tests: case that reaches the rule, give the payload shape with "
        "--source-schema, or write the condition with ==, !=, ||, &&, !(...), number comparisons, "
        "contains([...], path) or starts_with"
    )


def _when_source(mapping: Mapping, rule: str) -> str:
    rules = list(mapping.rules) + (list(mapping.bespoke.rules) if mapping.bespoke else [])
    found = next((r for r in rules if r.name == rule), None)
    return found.when.source if found is not None and found.when is not None else ""


SWEEP_EXAMPLES = 3  # payloads per (spot, defect) of the single-fault sweep
FORM_SWEEP_EXAMPLES = 2  # payloads per time form of the time-form sweep (any one instant shows a zone bug)


def _case_reach(mapper: Mapper) -> Counter:
    """How many of the mapping's tests: cases reach each rule."""
    reach: Counter = Counter()
    for case in mapper.mapping.tests:
        now = (parse_utc_timestamp(case.now) if case.now else None) or DEFAULT_CASE_NOW
        try:
            result = mapper.map_record(case.payload, source="tests", now=now)
        except Exception:  # noqa: BLE001 - the cases' own run reports it (never_raises)
            continue
        for name in rule_names(mapper.mapping):
            reach[name] += reaches(result, name)
    return reach


def _run_rule(
    mapper: Mapper,
    rule: str,
    *,
    examples: int,
    seed: int | None,
    now: datetime,
    source_schema: dict | None = None,
    validity: float = 0.5,
    case_reach: Counter | None = None,
) -> RuleReport:
    """Random payloads first; then a time-form sweep: valid payloads with every time written in one
    form (naive ISO, epoch ms, a DST edge...), two payloads per form; then, unless a source schema
    fixes what is valid, a single-fault sweep: each spot read by a computed expression broken alone
    (missing, null, wrong), a few payloads each.

    Hypothesis draws few distinct combinations in a small budget, and favours the first of a
    choice (ISO with Z, for times): the sweeps make sure every time form reaches the rule in a
    valid payload, and every computed expression meets each kind of bad input, at least once.
    """
    report = _sweeps(mapper, rule, examples=examples, seed=seed, now=now, source_schema=source_schema, validity=validity)
    _judge_coverage(report, mapper.mapping, (case_reach if case_reach is not None else _case_reach(mapper))[rule])
    return report


def _sweeps(mapper: Mapper, rule: str, *, examples: int, seed: int | None, now: datetime, source_schema: dict | None, validity: float) -> RuleReport:
    report = RuleReport(rule)
    mapping = mapper.mapping
    strategy = generated_payloads(mapping, rule, source_schema=source_schema, validity=validity)
    _hypothesis_run(mapper, report, strategy, examples=examples, seed=seed, now=now)
    for form in time_forms(mapping, rule) if report.passed else ():
        in_form = generated_payloads(mapping, rule, source_schema=source_schema, validity=1.0, time_form=form)
        _hypothesis_run(mapper, report, in_form, examples=FORM_SWEEP_EXAMPLES, seed=seed, now=now)
        if not report.passed:
            return report
    if source_schema is not None or not report.passed:
        return report
    for spot in fragile_spots(mapping, rule):
        for what in DEFECT_KINDS:
            single = generated_payloads(mapping, rule, broken={spot: what})
            _hypothesis_run(mapper, report, single, examples=SWEEP_EXAMPLES, seed=seed, now=now)
            if not report.passed:
                return report
    return report


def _run_examples(mapper: Mapper) -> RuleReport:
    report = RuleReport(EXAMPLES_LABEL)
    for case in mapper.mapping.tests:
        now = (parse_utc_timestamp(case.now) if case.now else None) or DEFAULT_CASE_NOW
        try:
            result = check_all(mapper, case.payload, now=now)
        except PropertyFailure as failure:
            failure.message = f"example case {case.name!r} ({case.loc}): {failure.message}"
            report.failure = PropertyFailure(failure.prop, failure.message, failure.payload, failure.rule, failure.field, failure.diff)
            report.examples += 1
            break
        report.examples += 1
        report.valid += 1
        report.outcomes[result.outcome] += 1
    return report


def run_generated(
    mapper: Mapper,
    *,
    examples: int = 100,
    seed: int | None = None,
    rules: list[str] | tuple[str, ...] | None = None,
    source_schema: dict | None = None,
    validity: float = 0.5,
    include_cases: bool = True,
    now: datetime | None = None,
) -> GeneratedReport:
    """Check every property on the mapping's example cases and on ``examples`` generated payloads per rule.

    :param seed: makes the run reproducible (the same payloads in the same order).
    :param rules: only these rules (names); default every OOTB and bespoke rule.
    :param source_schema: a JSON Schema of the client's payloads, to narrow generation to it.
    :param validity: the share of generated payloads with nothing broken on purpose.
    :param include_cases: also check the properties on the mapping's ``tests:`` payloads.
    """
    mapping = mapper.mapping
    names = list(rules) if rules is not None else rule_names(mapping)
    report = GeneratedReport(mapping.path or mapping.client, examples, seed)
    if include_cases and mapping.tests and rules is None:
        report.rules.append(_run_examples(mapper))
    case_reach = _case_reach(mapper)
    for name in names:
        report.rules.append(
            _run_rule(mapper, name, examples=examples, seed=seed, now=now or DEFAULT_CASE_NOW, source_schema=source_schema, validity=validity, case_reach=case_reach)
        )
    return report


@contextmanager
def hypothesis_storage(directory: str | Path | None = None) -> Iterator[Path]:
    """Hypothesis keeps its files (the literal-constants cache) in ``directory``, by default a
    temporary one removed afterwards, instead of ``.hypothesis/`` in the working directory.

    The runs use no example database (``database=None``); this covers what Hypothesis writes anyway.
    """
    from hypothesis import configuration

    previous = vars(configuration).get("__hypothesis_home_directory")  # restored after: a test session may have set it
    chosen = tempfile.TemporaryDirectory(prefix="ebi-mapper-hypothesis-") if directory is None else nullcontext(str(directory))
    with chosen as folder:
        where = Path(folder)
        configuration.set_hypothesis_home_dir(where)
        try:
            yield where
        finally:
            configuration.set_hypothesis_home_dir(previous)


def _caller_dir(depth: int = 2) -> Path:
    frame = inspect.stack()[depth]
    filename = frame.frame.f_globals.get("__file__")
    return Path(filename).resolve().parent if filename else Path.cwd()


def mapping_properties(
    path_or_mapping: str | Path | Mapping | Mapper,
    *,
    max_examples: int = 100,
    seed: int | None = None,
    source_schema: dict | str | Path | None = None,
    validity: float = 0.5,
) -> Callable[..., None]:
    """A test function checking every property of a mapping, one test per rule under pytest.

    Write ``test_mapping = mapping_properties("mappings/acme.yaml")`` in a test module: a relative
    path is read from the test module's folder (else the working directory). ``source_schema`` may
    be a JSON Schema dict or the path of a JSON file holding one.
    """
    if isinstance(path_or_mapping, (str, Path)):
        path = Path(path_or_mapping)
        if not path.is_absolute():
            beside = _caller_dir() / path
            path = beside if beside.exists() else Path.cwd() / path
        path_or_mapping = path
    schema_doc: dict[str, Any] | None = None if isinstance(source_schema, (str, Path)) else source_schema
    if isinstance(source_schema, (str, Path)):
        import json

        schema_path = Path(source_schema)
        if not schema_path.is_absolute():
            beside = _caller_dir() / schema_path
            schema_path = beside if beside.exists() else schema_path
        schema_doc = json.loads(schema_path.read_text(encoding="utf-8"))
    mapping = resolve_mapping(path_or_mapping)
    mapper = path_or_mapping if isinstance(path_or_mapping, Mapper) else compile_mapping(mapping)
    names = ([EXAMPLES_LABEL] if mapping.tests else []) + rule_names(mapping)

    def test_mapping_properties(rule: str) -> None:
        """The mapping's properties hold for its example cases and for generated payloads."""
        if rule == EXAMPLES_LABEL:
            result = _run_examples(mapper)
        else:
            result = _run_rule(mapper, rule, examples=max_examples, seed=seed, now=DEFAULT_CASE_NOW, source_schema=schema_doc, validity=validity)
        if result.failure is not None:
            raise result.failure
        if result.error:
            raise AssertionError(result.error)

    try:
        import pytest
    except ImportError:  # outside pytest: one call checks every rule
        def test_all_rules() -> None:
            for name in names:
                test_mapping_properties(name)

        return test_all_rules
    return pytest.mark.parametrize("rule", names, ids=[n if n != EXAMPLES_LABEL else "examples" for n in names])(test_mapping_properties)
