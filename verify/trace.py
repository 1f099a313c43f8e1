"""Per-position traces of a program run: every named operation and every output.

A trace is printed only on request. Short ones print as a table; long ones (more than
TABLE_ROWS positions) as plain tab-separated rows (one C-level conversion per column, no markup),
through a pager on a terminal, or to a file with `write_trace`."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from verify.crasp import ast as A
from verify.crasp.interpreter import Evaluation, encode, evaluate, straight_line, tokens_of

TABLE_ROWS = 200        # longer traces are printed as tab-separated text
_CHUNK = 1 << 16        # rows converted to text at a time (bounded memory for long traces)


def trace(program: A.Program, tokens: Sequence[str], offset: int = 0) -> Dict[str, List]:
    """{"token": [...], name: [value per position], ..., output key: [...]} for one input."""
    line = straight_line(program)
    ev = evaluate(line, encode(line.alphabet, [list(tokens)]), offset)
    return table_of(ev, list(tokens), offset)


def columns_of(ev: Evaluation, offset: int = 0) -> Dict[str, np.ndarray]:
    """The trace's value columns of the first input of an evaluation, as numpy rows (no copies)."""
    line = ev.line
    cols: Dict[str, np.ndarray] = {}
    for op in line.ops:
        for name in op.names:
            cols[name] = ev.value(op.index)[0]
    for key, index in line.outputs:
        cols[key] = ev.value(index)[0]
    return cols


def table_of(ev: Evaluation, tokens: Sequence[str], offset: int = 0) -> Dict[str, List]:
    """The trace table (Python lists) of the first input of an evaluation."""
    table: Dict[str, List] = {"position": list(range(1 + offset, ev.n + 1 + offset)), "token": list(tokens)}
    for name, row in columns_of(ev, offset).items():
        table[name] = row.tolist()  # bool -> bool, int64 -> int, object -> the Python ints themselves
    return table


def _text_rows(ev: Evaluation, ids: np.ndarray, offset: int):
    """Header, then chunks of tab-separated rows: position, token, every column (T/F for Booleans)."""
    cols = columns_of(ev, offset)
    yield "\t".join(["position", "token", *cols]) + "\n"
    for start in range(0, ev.n, _CHUNK):
        stop = min(ev.n, start + _CHUNK)
        parts = [map(str, range(start + 1 + offset, stop + 1 + offset)),
                 tokens_of(ev.line.alphabet, ids[start:stop])]
        for row in cols.values():
            part = row[start:stop]
            parts.append(np.where(part, "T", "F").tolist() if part.dtype == bool else map(str, part.tolist()))
        yield "".join("\t".join(r) + "\n" for r in zip(*parts))


def write_trace(ev: Evaluation, ids: np.ndarray, stream, offset: int = 0) -> None:
    """The whole trace as tab-separated text to an open text stream."""
    for chunk in _text_rows(ev, ids, offset):
        stream.write(chunk)


def print_trace(ev: Evaluation, ids: np.ndarray, tokens: Optional[Sequence[str]], console, offset: int = 0) -> None:
    """A table for short traces; tab-separated rows for long ones, paged on a terminal."""
    if ev.n <= TABLE_ROWS:
        render_trace(table_of(ev, tokens if tokens is not None else tokens_of(ev.line.alphabet, ids), offset),
                     console)
        return
    import sys
    if sys.stdout.isatty():
        import pydoc
        pydoc.pager("".join(_text_rows(ev, ids, offset)))
    else:
        write_trace(ev, ids, sys.stdout, offset)


def show_trace(program: A.Program, tokens: Sequence[str], console, offset: int = 0) -> None:
    """The trace of one input, printed as `print_trace` does (a table when short)."""
    line = straight_line(program)
    ids = encode(line.alphabet, [list(tokens)])
    print_trace(evaluate(line, ids, offset), ids[0], list(tokens), console, offset)


def render_trace(table: Dict[str, List], console, max_columns: int = 40) -> None:
    """Rows are positions; columns are the token, each named operation and each output."""
    from rich.markup import escape
    from rich.table import Table
    keys = list(table)
    shown = keys[:max_columns]
    t = Table(title="trace (one row per position)", show_lines=False)
    for k in shown:
        t.add_column(escape(k), justify="right" if k != "token" else "center")
    for i in range(len(table["token"])):
        t.add_row(*[_cell(table[k][i]) for k in shown])
    console.print(t)
    if len(keys) > len(shown):
        console.print(f"({len(keys) - len(shown)} more columns; use --json for all)")


def _cell(v) -> str:
    if isinstance(v, bool):
        return "[green]T[/]" if v else "[red]F[/]"
    from rich.markup import escape
    return escape(str(v))
