"""pytest plugin (entry point ``pytest11``): mapping files as tests, and fixtures for mapping tests.

**Collection.** A YAML file becomes a test file when its name matches one of the globs of the ini
option ``ebi_mapping_files`` (default ``*.ebi.yaml *.ebi.yml``; a glob with a ``/`` is matched
against the path relative to the rootdir, e.g. ``mappings/*.yaml``) *and* its top level has an
``ebi_mapping:`` key. Each of its ``tests:`` cases (and its sibling ``<name>.tests.yaml``) is one
test item; each rule gets one ``properties[<rule>]`` item running the generated properties
(``ebi_mapper_examples`` payloads per rule, default 50; a sibling ``<name>.source.json`` JSON
Schema narrows them). Nothing inside the installed ``ebi_mapper`` package is ever collected.

**Fixtures.** ``ebi_mapper_mapping(path)`` loads a mapping (relative to the test module's folder,
else the rootdir); ``ebi_mapper_mapper(path_or_mapping)`` compiles one.

The plugin imports nothing heavy until a mapping file matches or a fixture is used, so installing
ebi-mapper costs other test suites nothing.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = ["DEFAULT_GLOBS", "MappingFile", "MappingCaseItem", "MappingPropertiesItem", "is_mapping_file"]

DEFAULT_GLOBS = ("*.ebi.yaml", "*.ebi.yml")
DEFAULT_EXAMPLES = 50
_TOP_LEVEL_KEY = re.compile(rb"^ebi_mapping[ \t]*:", re.MULTILINE)
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("ebi_mapping_files", type="args", default=list(DEFAULT_GLOBS), help="globs of mapping files to collect as tests (default: *.ebi.yaml *.ebi.yml)")
    parser.addini("ebi_mapper_examples", default=str(DEFAULT_EXAMPLES), help="generated payloads per rule for collected mapping files")
    group = parser.getgroup("ebi-mapper", "ebi-mapper mapping tests")
    group.addoption("--ebi-examples", type=int, default=None, help="generated payloads per rule (overrides the ebi_mapper_examples ini option)")
    group.addoption("--ebi-seed", type=int, default=None, help="seed for generated payloads, for a reproducible run")


def is_mapping_file(path: Path, globs: tuple[str, ...] | list[str], rootpath: Path) -> bool:
    """Whether ``path`` is a mapping file to collect: matching a glob, outside our package, with ``ebi_mapping:`` on top."""
    if path.suffix not in (".yaml", ".yml") or path.name.endswith((".tests.yaml", ".tests.yml")):
        return False
    try:
        relative = path.resolve().relative_to(rootpath.resolve()).as_posix()
    except ValueError:
        relative = path.as_posix()
    if not any(fnmatch.fnmatch(relative if "/" in glob else path.name, glob) for glob in globs):
        return False
    if _PACKAGE_DIR in path.resolve().parents:
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(256 * 1024)
    except OSError:
        return False
    return _TOP_LEVEL_KEY.search(head) is not None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):  # the cheap test first: this runs for every file
        return None
    config = parent.config
    if not is_mapping_file(file_path, config.getini("ebi_mapping_files"), config.rootpath):
        return None
    return MappingFile.from_parent(parent, path=file_path)


def _examples(config: pytest.Config) -> int:
    option = config.getoption("ebi_examples", None)
    if option is not None:
        return option
    try:
        return int(config.getini("ebi_mapper_examples"))
    except ValueError:
        raise pytest.UsageError(f"ebi_mapper_examples must be an integer, not {config.getini('ebi_mapper_examples')!r}") from None


class MappingFile(pytest.File):
    """A mapping file: its example cases and one generated-properties item per rule."""

    def collect(self):
        from ..app import load
        from .shapes import rule_names

        loaded = load(self.path)
        mapping, mapper = loaded.mapping, loaded.mapper
        for case in mapping.tests:
            yield MappingCaseItem.from_parent(self, name=case.name, mapper=mapper, case=case)
        schema_path = self.path.with_name(self.path.name.rsplit(".", 1)[0].removesuffix(".ebi") + ".source.json")
        schema = json.loads(schema_path.read_text(encoding="utf-8")) if schema_path.is_file() else None
        for name in rule_names(mapping):
            yield MappingPropertiesItem.from_parent(self, name=f"properties[{name}]", mapper=mapper, rule=name, source_schema=schema)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from ..errors import MappingError

        if isinstance(excinfo.value, MappingError):
            findings = [f"  {f.loc}: {f.severity} {f.code} {f.message}" for f in excinfo.value.findings]
            return "\n".join([str(excinfo.value), *findings])
        return super().repr_failure(excinfo)


class CaseFailed(AssertionError):
    """An example case did not produce what its ``expect`` says."""


class MappingCaseItem(pytest.Item):
    """One ``tests:`` case of a mapping file."""

    def __init__(self, *, mapper: Any, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mapper = mapper
        self.case = case

    def runtest(self) -> None:
        from ..engine.cases import run_case

        result = run_case(self.mapper, self.case)
        if not result.passed:
            raise CaseFailed(f"{result.location}: case {result.name!r} did not produce what it expects\n{result.diff}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.case.loc.line - 1, 0), f"mapping case: {self.case.name}"


class MappingPropertiesItem(pytest.Item):
    """The generated properties of one rule of a mapping file."""

    def __init__(self, *, mapper: Any, rule: str, source_schema: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mapper = mapper
        self.rule = rule
        self.source_schema = source_schema

    def runtest(self) -> None:
        from .runner import run_generated

        report = run_generated(
            self.mapper,
            examples=_examples(self.config),
            seed=self.config.getoption("ebi_seed", None),
            rules=[self.rule],
            source_schema=self.source_schema,
        )
        rule = report.rules[0]
        if rule.failure is not None:
            raise rule.failure
        if rule.error:
            raise AssertionError(rule.error)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from .properties import PropertyFailure

        if isinstance(excinfo.value, PropertyFailure):
            return f"rule {self.rule!r} of {self.path.name}: shrunk failing example\n{excinfo.value.render()}"
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"mapping properties: {self.rule}"


def _resolver(request: pytest.FixtureRequest) -> Callable[[Any], Path]:
    here = Path(request.path).parent

    def resolve(path: Any) -> Path:
        candidate = Path(path)
        if candidate.is_absolute():
            return candidate
        beside = here / candidate
        return beside if beside.exists() else request.config.rootpath / candidate

    return resolve


@pytest.fixture
def ebi_mapper_mapping(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """``ebi_mapper_mapping(path) -> Mapping``: load (and lint) a mapping file, once per test."""
    from ..app import load_mapping

    resolve = _resolver(request)
    cache: dict[Path, Any] = {}

    def load(path: Any) -> Any:
        target = resolve(path)
        if target not in cache:
            cache[target] = load_mapping(target)
        return cache[target]

    return load


@pytest.fixture
def ebi_mapper_mapper(ebi_mapper_mapping: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``ebi_mapper_mapper(path_or_mapping) -> Mapper``: a compiled mapper, ready for ``map_record``."""
    from ..app import compile_mapping
    from ..mapping import Mapping

    def make(path_or_mapping: Any) -> Any:
        mapping = path_or_mapping if isinstance(path_or_mapping, Mapping) else ebi_mapper_mapping(path_or_mapping)
        return compile_mapping(mapping)

    return make
