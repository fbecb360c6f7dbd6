"""What a plugin may use besides the hook specs and the data types: the helpers the built-ins use.

The built-in plugins (:mod:`ebi_mapper.default_plugins`) import from the engine and delivery only
through this module, so a third-party plugin can do all they do with the same code
(``tests/test_structure.py::test_builtins_use_only_the_plugin_api`` fails on any other import).
These names are a seam: the modules behind them may move (issue #14 splits ``engine/``), the names
here stay. ``docs/writing-plugins.md`` ("The plugin kit") documents each.

Values, as the engine reads them (a function or guard that accepts what a mapping field does):

- :func:`parse_decimal`, :func:`parse_bool`: a number or boolean from JSON or text (``"12,50"``,
  ``"yes"``), or :class:`CoercionError` saying why not; :func:`describe_value` shows a value in
  such a message; :func:`truthy`: JMESPath truthiness.
- Times: :func:`load_zone`, :func:`parse_epoch`, :func:`parse_formatted`,
  :func:`make_timestamp_parser` (a mapping's zone and DST policy), :func:`format_context` (ISO
  8601 UTC as events carry it), :func:`to_epoch_millis`.
- Errors of a function: :class:`FunctionValueError` (the engine turns it into a rejection naming
  the field and expression) and :func:`quote_value`.
- Expressions: :func:`compile_expression` (JMESPath with the registered functions).

Sinks: :class:`Option`, :func:`read_options` and :func:`option_help` read a sink's options
(typed, defaults, loud about misspelt names); :data:`CONTEXT_OPTIONS` are the ones every sink is
passed and may ignore.
"""

from __future__ import annotations

from .engine.coerce import parse_bool, parse_decimal
from .engine.coerce_errors import CoercionError, describe_value
from .engine.fields import truthy
from .engine.timestamps import (
    format_context,
    load_zone,
    make_timestamp_parser,
    parse_epoch,
    parse_formatted,
    to_epoch_millis,
)
from .expressions import compile_expression
from .expressions.value_errors import FunctionValueError, quote_value
from .sink_options import CONTEXT_OPTIONS, Option, option_help, read_options

__all__ = [
    "CONTEXT_OPTIONS",
    "CoercionError",
    "FunctionValueError",
    "Option",
    "compile_expression",
    "describe_value",
    "format_context",
    "load_zone",
    "make_timestamp_parser",
    "option_help",
    "parse_bool",
    "parse_decimal",
    "parse_epoch",
    "parse_formatted",
    "quote_value",
    "read_options",
    "to_epoch_millis",
    "truthy",
]
