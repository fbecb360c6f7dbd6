"""Parsing with jmespath's own parser, plus the source positions its AST leaves out.

The syntax is exactly jmespath's: :class:`_PositionParser` only adds a ``position`` key (0-based
offset into the expression) to ``field`` and ``function_expression`` nodes, which lint needs to
point at an unknown function; the evaluator ignores the extra key, as jmespath's interpreter does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jmespath import exceptions as jexc
from jmespath.parser import Parser

from .errors import ExpressionSyntaxError

__all__ = ["parse_expression"]


class _PositionParser(Parser):
    """jmespath's Pratt parser, recording where identifiers and function calls start."""

    def _token_nud_unquoted_identifier(self, token):
        node = super()._token_nud_unquoted_identifier(token)
        node["position"] = token["start"]
        return node

    def _token_nud_quoted_identifier(self, token):
        node = super()._token_nud_quoted_identifier(token)
        node["position"] = token["start"]
        return node

    def _token_led_lparen(self, left):
        node = super()._token_led_lparen(left)
        node["position"] = left.get("position")
        return node


def parse_expression(source: str) -> dict[str, Any]:
    """Parse ``source`` into jmespath's AST (shared and cached: treat it as read-only).

    Raises :class:`ExpressionSyntaxError` where jmespath raises ``ParseError`` (or
    ``EmptyExpressionError``), with the same position.
    """
    if not isinstance(source, str):
        raise TypeError(f"a JMESPath expression must be a str, not {type(source).__name__}")
    try:
        return _parse_cached(source)
    except jexc.EmptyExpressionError as exc:
        raise ExpressionSyntaxError(source, 0, "", "empty expression") from exc
    except jexc.ParseError as exc:
        raise _translate(source, exc) from exc


@lru_cache(maxsize=2048)
def _parse_cached(source: str) -> dict[str, Any]:
    # _do_parse, not parse(): Parser.parse shares a class-level cache with every jmespath user,
    # and our annotated trees must not leak into it.
    return _PositionParser()._do_parse(source).parsed


def _translate(source: str, exc: jexc.ParseError) -> ExpressionSyntaxError:
    """One-line message and position from whichever ParseError subclass jmespath raised."""
    position = exc.lex_position if isinstance(exc.lex_position, int) else len(source)
    if isinstance(exc, jexc.IncompleteExpressionError):
        return ExpressionSyntaxError(source, position, "", "incomplete expression")
    if isinstance(exc, jexc.LexerError):
        # LexerError keeps its reason in .message; .msg is a generic default there.
        token = str(exc.lexer_value or "")
        return ExpressionSyntaxError(source, position, token, _first_line(str(exc.message)))
    token = "" if exc.token_value is None else str(exc.token_value)
    reason = _first_line(str(exc.msg))
    if token and not reason.endswith(f": {token}"):
        reason = f"{reason} at {token!r}"
    return ExpressionSyntaxError(source, position, token, reason)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "syntax error"
