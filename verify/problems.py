"""Problems as data: (where, what, why) records returned by validators, rendered by the CLI."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from verify.crasp.ast import Loc


@dataclass(frozen=True)
class Problem:
    where: Optional[Loc]
    what: str
    why: str = ""

    def render(self, source_text: Optional[str] = None) -> str:
        """`file:line:col: what` then the source line with a caret, then why."""
        head = f"{self.where}: {self.what}" if self.where else self.what
        lines = [head]
        if self.where and source_text is not None:
            src_lines = source_text.splitlines()
            if 1 <= self.where.line <= len(src_lines):
                text, column = _excerpt(src_lines[self.where.line - 1], self.where.column)
                lines.append("    " + text)
                width = max(1, min(self.where.length, max(1, len(text) - column + 1), EXCERPT))
                lines.append("    " + " " * (column - 1) + "^" * width)
        if self.why:
            lines.append(f"  why: {self.why}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        where = None
        if self.where:
            where = {"file": self.where.file, "line": self.where.line, "column": self.where.column}
        return {"where": where, "what": self.what, "why": self.why}


EXCERPT = 120   # characters of a long source line shown around the column (a 1 MB one-line program)


def _excerpt(text: str, column: int):
    """(shown text, column within it): the whole line when short, else a window around the column
    with "..." on the cut sides, so a message stays readable whatever the line's length."""
    if len(text) <= EXCERPT + 40:
        return text, column
    start = max(0, min(column - 1 - EXCERPT // 2, len(text) - EXCERPT))
    shown = text[start:start + EXCERPT]
    prefix = "..." if start else ""
    suffix = "..." if start + EXCERPT < len(text) else ""
    return prefix + shown + suffix, column - start + len(prefix)


class UserError(Exception):
    """A mistake of the user's (bad program, unknown case, bad input): rendered, never a traceback."""

    def __init__(self, message: str, problems: Sequence[Problem] = (), source_text: Optional[str] = None,
                 exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)
        self.source_text = source_text
        self.exit_code = exit_code

    def render(self) -> str:
        parts = [self.message] if self.message else []
        parts += [p.render(self.source_text) for p in self.problems]
        return "\n".join(parts)
