"""ebi-mapper plugins: a generic webhook sink and an opt-in currency conversion guard."""

__all__: list[str] = []
