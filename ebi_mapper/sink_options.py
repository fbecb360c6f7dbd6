"""Reading a sink's options: typed, with defaults, and loud about misspelt names.

Options arrive from a mapping's ``delivery:`` section (YAML types) or from the command line
(strings), so numbers and booleans are accepted in either form. The run loop may pass the
mapping's ``client``, ``tenant`` and ``vertical`` to every sink; a sink that has no use for them
ignores them rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DeliveryError

__all__ = ["Option", "CONTEXT_OPTIONS", "read_options", "option_help"]

# Passed by the run loop to every sink; never an error when a sink does not use them.
CONTEXT_OPTIONS = frozenset({"client", "tenant", "vertical"})


@dataclass(frozen=True)
class Option:
    """One option: its converter (``str``, ``float``, ``int``, ``bool``), default and help line."""

    convert: Callable[[Any], Any]
    default: Any = None
    help: str = ""
    required: bool = False


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def read_options(sink: str, options: Mapping[str, Any] | None, spec: Mapping[str, Option]) -> dict[str, Any]:
    """Check ``options`` against ``spec``; return every option converted, defaults filled in.

    :raises DeliveryError: an unknown option name, a missing required one, or a value of the
        wrong type, each naming the sink and the option.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(spec) - CONTEXT_OPTIONS)
    if unknown:
        raise DeliveryError(f"sink {sink!r}: unknown option(s) {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(spec))})")
    out: dict[str, Any] = {}
    for name, opt in spec.items():
        if name not in options or options[name] is None:
            if opt.required:
                raise DeliveryError(f"sink {sink!r}: option {name!r} is required ({opt.help})")
            out[name] = opt.default
            continue
        convert = _to_bool if opt.convert is bool else opt.convert
        try:
            out[name] = convert(options[name])
        except (TypeError, ValueError) as exc:
            raise DeliveryError(f"sink {sink!r}: option {name!r}: {exc}") from exc
    for name in CONTEXT_OPTIONS & set(options):
        out.setdefault(name, options[name])
    return out


def option_help(spec: Mapping[str, Option]) -> dict[str, str]:
    """``{name: help}`` for :class:`~ebi_mapper.extensions.SinkDef`'s ``options``."""
    return {name: opt.help for name, opt in spec.items()}

