"""Compile a loaded mapping once: :func:`compile_mapping` makes the :class:`~.mapper.Mapper`.

Everything that can be done once is done here: expressions, coercers, the enabled guards (their
reference checks and declared fast forms, :class:`~ebi_mapper.extensions.FastGuard`), enrichers,
the dispatcher and, with ``fast`` (the default), each rule's generated runner (:mod:`.fast`).
The registry of plugins is the caller's; without one, the mapping's own is built
(fresh per call: no state is shared between mappings, tests/test_plugin_api.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..catalog import load_catalog
from ..catalog.model import Catalog, Param
from ..errors import MappingError
from ..expressions import compile_expression
from ..extensions import FastGuard, GuardCheck
from ..mapping.model import FieldSpec, Mapping
from ..plugins import Registry
from .coerce import make_coercer
from .compiled import CompiledBespoke, CompiledRule, ContextField
from .dispatch import make_dispatcher
from .fast import FastPath
from .fields import compile_field
from .mapper import Mapper
from .profiles import delta_settings
from .validate import EventValidator
from .versioning import make_version_reader

__all__ = ["compile_mapping"]

_UTC = UTC


def _required(param: Param, channels: set[str]) -> bool:
    return param.cls == "mandatory" or param.primary_key or (param.cls == "channel" and bool(channels.intersection(param.channels)))


def _functions_for(mapping: Mapping, registry: Registry) -> dict[str, Any]:
    """The extra JMESPath functions, with the ones that need the mapping (lookup) bound to it."""
    out = {}
    for name, fdef in registry.functions.items():
        if fdef.bind is not None:
            fdef = replace(fdef, fn=fdef.bind(mapping), bind=None)
        out[name] = fdef
    return out


def _guards_for(mapping: Mapping, registry: Registry) -> tuple[list[GuardCheck], tuple[str, ...], tuple[FastGuard | None, ...]]:
    """The enabled guards: their reference checks, registered names (for traces and guard_failed
    rejections) and declared fast forms (None for a guard without one)."""
    guards, names, fast = [], [], []
    for name, gdef in registry.guards.items():
        setting = mapping.guards.get(name, gdef.default_on)
        if setting is False or (setting is None):
            continue
        options = setting if isinstance(setting, dict) else {}
        guards.append(gdef.factory(options, mapping))
        names.append(name)
        fast.append(gdef.fast(options, mapping) if gdef.fast is not None else None)
    return guards, tuple(names), tuple(fast)


def compile_mapping(
    mapping: Mapping,
    *,
    registry: Registry,
    catalog: Catalog | None = None,
    clock: Callable[[], datetime] | None = None,
    fast: bool = True,
) -> Mapper:
    """Compile a loaded mapping once; the result maps payloads with no further parsing.

    With ``fast`` (the default) each rule also gets a generated runner (:mod:`.fast`) that
    gives the same results as the reference interpreter, which ``fast=False`` keeps using.
    ``registry`` comes from the application edge (:func:`ebi_mapper.compile_mapping` builds one
    when not given): the engine never loads plugins itself.
    """
    catalog = catalog or load_catalog()
    functions = _functions_for(mapping, registry)
    channels = set(mapping.channels)
    guards, guard_names, guard_fast = _guards_for(mapping, registry)
    enrichers = [(name, registry.enricher(name).factory(options, mapping)) for name, options in mapping.enrichers]
    tz = ZoneInfo(mapping.source_timezone)

    completable = delta_settings(catalog)[1]
    rules = []
    for rule in mapping.rules:
        event = catalog.event(rule.event)
        # A partial profile update is completed after mapping (engine/profiles.py): the channel
        # params it lacks are not the rule's to reject (a null in one still is: it would clear it).
        rule_channels = set() if rule.event in completable else channels
        context = []
        for key, spec in rule.context.items():
            param = event.params.get(key)
            if param is None:  # lint rejects this; a mapping loaded with lint=False still must not crash
                raise MappingError(f"{rule.loc}: rule {rule.name!r}: {key!r} is not a param of {event.key}")
            context.append(
                ContextField(
                    field=compile_field(key, spec, functions),
                    param=param,
                    coerce=make_coercer(param, tz=tz, dst=mapping.dst),
                    required=_required(param, channels),
                    completable=_required(param, channels) and not _required(param, rule_channels),
                    nulls=spec.nulls or rule.nulls or mapping.nulls,
                )
            )
        unmapped = [p for p in event.params.values() if p.key not in rule.context and _required(p, rule_channels)]
        rules.append(
            CompiledRule(
                rule=rule,
                event=event,
                when=compile_expression(rule.when.source, functions) if rule.when else None,
                each=compile_expression(rule.each.source, functions) if rule.each else None,
                customer=compile_field("customer", rule.customer, functions),
                timestamp=compile_field("timestamp", rule.timestamp, functions),
                currency=compile_expression(rule.currency.source, functions) if rule.currency else None,
                context=context,
                unmapped_required=unmapped,
                guards=guards,
                guard_names=guard_names,
                guard_fast=guard_fast,
                enrichers=enrichers,
                monetary_keys=frozenset(k for k in rule.context if event.params[k].monetary),
                version=make_version_reader(compile_field("version", FieldSpec(rule.version), functions), rule=rule.name,
                                            event=event.key, tz=tz, dst=mapping.dst) if rule.version else None,
                lets=[compile_field(name, spec, functions) for name, spec in rule.lets.items()],
                each_inner=compile_expression(rule.each_inner.source, functions) if rule.each_inner else None,
            )
        )
    bespoke = []
    if mapping.bespoke is not None:
        for brule in mapping.bespoke.rules:
            bespoke.append(
                CompiledBespoke(
                    rule=brule,
                    when=compile_expression(brule.when.source, functions) if brule.when else None,
                    each=compile_expression(brule.each.source, functions) if brule.each else None,
                    customer=compile_field("customer", brule.customer, functions),
                    timestamp=compile_field("timestamp", brule.timestamp, functions),
                    attributes=[(k, compile_field(k, s, functions)) for k, s in brule.attributes.items()],
                    each_inner=compile_expression(brule.each_inner.source, functions) if brule.each_inner else None,
                )
            )
    mapper = Mapper(
        mapping=mapping,
        catalog=catalog,
        registry=registry,
        rules=rules,
        bespoke=bespoke,
        validator=EventValidator(mapping.vertical),
        clock=clock or (lambda: datetime.now(_UTC)),
        tz=tz,
        dispatch=make_dispatcher(rules),
    )
    if fast:
        mapper.fast_path = FastPath(mapper)
        mapper.fast = True
    return mapper
