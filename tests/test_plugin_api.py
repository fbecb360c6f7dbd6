"""Keep the plugin API honest: every hook is tested, documented with its exact signature, and validated."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pluggy
import pytest

import ebi_mapper
from ebi_mapper import EbiMapperError, FunctionDef, GuardDef, PluginError, hookimpl, hookspecs, make_registry

ROOT = Path(__file__).resolve().parents[1]
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]


def test_there_are_four_hooks():
    assert sorted(HOOKS) == ["register_enrichers", "register_functions", "register_guards", "register_sinks"]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook):
    doc = (ROOT / "docs" / "writing-plugins.md").read_text()
    signature = f"{hook}{inspect.signature(getattr(hookspecs, hook))}".replace("register: Callable", "register")
    assert f"### `{hook}(register)`" in doc
    assert re.search(rf"def {hook}\(register\) -> None:", doc), signature


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook):
    kind = hook.removeprefix("register_")
    files = [*(ROOT / "tests").rglob("test_*.py"), *(ROOT / "plugins").rglob("test_*.py")]
    tests = "\n".join(p.read_text() for p in files)
    assert re.search(rf"def {hook}\(", tests) or f"registry.{kind}" in tests


@pytest.mark.parametrize("hook", HOOKS)
def test_builtins_register_through_every_hook(hook):
    kind = hook.removeprefix("register_")
    registry = make_registry(entry_points=False)
    providers = {p for (k, _), p in registry.provided_by.items() if k == kind}
    assert providers and all(p.startswith("ebi_mapper.default_plugins.") for p in providers)


def test_a_misspelt_hook_fails_loudly():
    class Typo:
        @hookimpl
        def register_guard(self, register):  # missing "s"
            pass

    with pytest.raises(PluginError, match="register_guard"):
        make_registry(plugins=[Typo()], entry_points=False)


def test_two_plugins_cannot_register_the_same_name():
    class One:
        @hookimpl
        def register_functions(self, register):
            register(FunctionDef("twice", lambda x: x, (("any",),)))

    class Two(One):
        pass

    with pytest.raises(PluginError, match="registered twice"):
        make_registry(plugins=[One(), Two()], entry_points=False)


def test_registering_the_wrong_type_is_refused():
    class Wrong:
        @hookimpl
        def register_guards(self, register):
            register(FunctionDef("oops", lambda x: x, (("any",),)))

    with pytest.raises(PluginError, match="expected GuardDef"):
        make_registry(plugins=[Wrong()], entry_points=False)


def test_each_registry_is_fresh():
    class Extra:
        @hookimpl
        def register_guards(self, register):
            register(GuardDef("only_here", lambda o, m: (lambda e, c: ())))

    assert "only_here" in make_registry(plugins=[Extra()], entry_points=False).guards
    assert "only_here" not in make_registry(entry_points=False).guards


def test_public_api_all_is_complete_and_importable():
    for name in ebi_mapper.__all__:
        assert hasattr(ebi_mapper, name), name
    public = {n for n, v in vars(ebi_mapper).items() if not n.startswith("_") and not inspect.ismodule(v)} - {"annotations"}
    assert public <= set(ebi_mapper.__all__)


def test_one_exception_root_with_natural_builtins():
    assert issubclass(ebi_mapper.MappingError, (EbiMapperError, ValueError))
    assert issubclass(ebi_mapper.UnknownNameError, LookupError)
    assert issubclass(PluginError, EbiMapperError)
    assert isinstance(pluggy.__version__, str)


def test_the_package_namespace_is_its_public_api():
    """Issue #14: `annotations` (from a __future__ import) leaked into dir(ebi_mapper)."""
    import ebi_mapper

    public = {name for name in dir(ebi_mapper) if not name.startswith("_")}
    submodules = {name for name in public if type(getattr(ebi_mapper, name)).__name__ == "module"}
    assert public - submodules <= set(ebi_mapper.__all__), sorted(public - submodules - set(ebi_mapper.__all__))
