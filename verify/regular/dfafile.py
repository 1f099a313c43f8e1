"""The DFA file format of `verify classify` (docs/classify.md): JSON,

    {"alphabet": ["a", "b"],
     "start": "q0",
     "accepting": ["q0"],
     "transitions": {"q0": {"a": "q1", "b": "q0"},
                     "q1": {"a": "q0", "b": "q1"}}}

The states are the keys of "transitions"; every state has exactly one transition per symbol
(a complete DFA: write a rejecting sink state explicitly). A missing transition, a symbol outside
the alphabet, or a start/accepting/target state that is not a key of "transitions" is a UserError
naming file:line:column."""
from __future__ import annotations

import json
from typing import Dict, Tuple

import numpy as np

from verify.problems import UserError
from verify.regular.dfa import Dfa

MAX_FILE_STATES = 100_000
MAX_FILE_TRANSITIONS = 400_000          # states × symbols: the table every later stage works on
MAX_FILE_BYTES = 32 << 20               # checked before the file is read


def _locate(text: str, needle: str, after: int = 0) -> Tuple[int, int, int]:
    """(line, column, offset) of the first `needle` at or after `after` (1-based; (1, 1) if absent).
    Only called to place an error: one scan of the text."""
    k = text.find(needle, after)
    if k < 0:
        k = max(0, min(after, len(text) - 1)) if text else 0
        if after == 0:
            return 1, 1, 0
    line = text.count("\n", 0, k) + 1
    col = k - (text.rfind("\n", 0, k) + 1) + 1
    return line, col, k


def load_dfa_file(path: str) -> Dfa:
    from verify.inputs import read_text
    text = read_text(path, "DFA file", MAX_FILE_BYTES, "a DFA file is JSON, see docs/classify.md")
    return parse_dfa(text, path)


def parse_dfa(text: str, where: str = "the DFA") -> Dfa:
    """Linear in the text: every check is a dictionary or set lookup, and a position in the text is
    searched for only when an error is reported."""
    from verify.inputs import parse_json
    from verify.regular.dfa import require_alphabet_size
    data = parse_json(text, where)

    def err(needle: str, what: str, after: int = 0) -> UserError:
        line, col, _ = _locate(text, needle, after)
        return UserError(f"{where}:{line}:{col}: {what} (format: docs/classify.md)")

    def state_at(q: str) -> int:     # where state q's transitions start (for an error inside them)
        return _locate(text, json.dumps(q), _locate(text, '"transitions"')[2])[2]

    if not isinstance(data, dict):
        raise UserError(f"{where}:1:1: a DFA file is a JSON object with alphabet, start, accepting, transitions "
                        "(format: docs/classify.md)")
    for key in ("alphabet", "start", "accepting", "transitions"):
        if key not in data:
            raise UserError(f"{where}:1:1: the key {key!r} is missing (format: docs/classify.md)")
    alphabet = data["alphabet"]
    if not isinstance(alphabet, list) or not all(isinstance(a, str) and a for a in alphabet):
        raise err('"alphabet"', "alphabet must be a list of non-empty strings")
    if not alphabet:
        raise err('"alphabet"', "the alphabet is empty")
    line, col, _ = _locate(text, '"alphabet"')
    require_alphabet_size(len(alphabet), f"{where}:{line}:{col}: the alphabet")
    symbols = {a: k for k, a in enumerate(alphabet)}
    if len(symbols) != len(alphabet):
        raise err('"alphabet"', "the alphabet repeats a symbol")
    table = data["transitions"]
    if not isinstance(table, dict) or not table:
        raise err('"transitions"', "transitions must be a non-empty object {state: {symbol: state}}")
    if len(table) > MAX_FILE_STATES:
        raise err('"transitions"', f"{len(table)} states; the limit is {MAX_FILE_STATES:,}")
    if len(table) * len(alphabet) > MAX_FILE_TRANSITIONS:
        raise err('"transitions"', f"{len(table):,} states × {len(alphabet)} symbols = "
                                   f"{len(table) * len(alphabet):,} transitions; the limit is {MAX_FILE_TRANSITIONS:,}")
    index: Dict[str, int] = {q: i for i, q in enumerate(table)}
    delta = np.zeros((len(index), len(alphabet)), dtype=np.int64)
    for q, row in table.items():
        if not isinstance(row, dict):
            raise err(json.dumps(q), f"the transitions of state {q!r} must be an object {{symbol: state}}",
                      _locate(text, '"transitions"')[2])
        i = index[q]
        for a, t in row.items():
            k = symbols.get(a)
            if k is None:
                raise err(json.dumps(a), f"state {q!r} has a transition on {a!r}, which is not in the alphabet",
                          state_at(q))
            if not isinstance(t, str) or t not in index:
                raise err(json.dumps(t) if isinstance(t, str) else json.dumps(a),
                          f"state {q!r} goes on {a!r} to {t!r}, which is not a state (the states are the keys "
                          f"of \"transitions\")", state_at(q))
            delta[i, k] = index[t]
        if len(row) < len(alphabet):
            a = next(a for a in alphabet if a not in row)
            raise err(json.dumps(q), f"state {q!r} has no transition on {a!r}; every state needs one per "
                                     "symbol (add a rejecting sink state)", _locate(text, '"transitions"')[2])
    start = data["start"]
    if not isinstance(start, str) or start not in index:
        raise err('"start"', f"the start state {start!r} is not a state (a key of \"transitions\")")
    accepting = data["accepting"]
    if not isinstance(accepting, list):
        raise err('"accepting"', "accepting must be a list of states")
    final = np.zeros(len(index), dtype=bool)
    for q in accepting:
        if not isinstance(q, str) or q not in index:
            raise err(json.dumps(q) if isinstance(q, str) else '"accepting"',
                      f"the accepting state {q!r} is not a state (a key of \"transitions\")",
                      _locate(text, '"accepting"')[2])
        final[index[q]] = True
    return Dfa(tuple(alphabet), delta, final, index[start])
