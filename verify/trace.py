"""Per-position traces of a program run: every named operation and every output."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from verify.crasp import ast as A
from verify.crasp.interpreter import encode, evaluate, straight_line


def trace(program: A.Program, tokens: Sequence[str], offset: int = 0) -> Dict[str, List]:
    """{"token": [...], name: [value per position], ..., output key: [...]} for one input."""
    line = straight_line(program)
    ev = evaluate(line, encode(line.alphabet, [list(tokens)]), offset)
    table: Dict[str, List] = {"position": list(range(1 + offset, len(tokens) + 1 + offset)),
                              "token": list(tokens)}
    for op in line.ops:
        for name in op.names:
            table[name] = _plain(ev.value(op.index)[0])
    for key, index in line.outputs:
        table[key] = _plain(ev.value(index)[0])
    return table


def _plain(row: np.ndarray) -> List:
    return [bool(v) if row.dtype == bool else int(v) for v in row]


def render_trace(table: Dict[str, List], console, max_columns: int = 40) -> None:
    """Rows are positions; columns are the token, each named operation and each output."""
    from rich.table import Table
    keys = list(table)
    shown = keys[:max_columns]
    t = Table(title="trace (one row per position)", show_lines=False)
    for k in shown:
        t.add_column(k, justify="right" if k != "token" else "center")
    for i in range(len(table["token"])):
        t.add_row(*[_cell(table[k][i]) for k in shown])
    console.print(t)
    if len(keys) > len(shown):
        console.print(f"({len(keys) - len(shown)} more columns; use --json for all)")


def _cell(v) -> str:
    if isinstance(v, bool):
        return "[green]T[/]" if v else "[red]F[/]"
    return str(v)
