"""Built-in functions, registered through the public hooks like any third-party plugin."""

from __future__ import annotations

from ..hookspecs import hookimpl

__all__: list[str] = []
