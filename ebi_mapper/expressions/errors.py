"""The one exception this package adds: a JMESPath expression that does not parse.

Runtime failures (a function given the wrong type, a wrong argument count, an unknown function)
keep jmespath's own exception classes, so code written against ``jmespath`` catches the same things.
"""

from __future__ import annotations

from ..errors import EbiMapperError

__all__ = ["ExpressionSyntaxError"]


class ExpressionSyntaxError(EbiMapperError, ValueError):
    """A JMESPath expression that jmespath's parser rejects.

    ``position`` is the 0-based offset into ``source`` where the parser stopped, ``token`` the text
    it found there (``""`` at the end of the expression) and ``message`` a one-line reason. The
    jmespath ``ParseError`` is chained as ``__cause__``.
    """

    def __init__(self, source: str, position: int, token: str, message: str):
        self.source = source
        self.position = position
        self.token = token
        self.message = message
        super().__init__(f"invalid JMESPath expression {source!r}: {message} (at position {position})")
