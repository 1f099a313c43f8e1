"""`verify classify REGEX|CASE|FILE.dfa|FILE.txt`: certified NoPE / APE verdicts for a regular language."""
from __future__ import annotations

import re
from typing import List, Optional

import typer

from verify.commands._common import console, emit_json, fail
from verify.problems import UserError

TASK_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
MAX_TABLE_BYTES = 1 << 20    # a .txt table of regular expressions (each at most 10,000 characters)


def parse_alphabet(text: Optional[str]) -> Optional[tuple]:
    if text is None:
        return None
    from verify.regular.dfa import require_alphabet_size
    require_alphabet_size(text.count(",") + 1, "--alphabet")   # before anything is built from it
    symbols = tuple(s.strip() for s in text.split(","))
    if not text.strip() or not any(symbols):
        raise UserError("--alphabet is empty; give the symbols separated by commas, e.g. --alphabet a,b,c")
    if any(not s for s in symbols):
        raise UserError(f"--alphabet {text!r} has an empty symbol (two commas in a row, or a trailing comma)")
    if len(set(symbols)) != len(symbols):
        raise UserError(f"--alphabet {text!r} repeats a symbol")
    return symbols


def classify_target(target: str, alphabet: Optional[tuple], acceptance: str, budget: float) -> List:
    """-> a list of Classification (one for a regex, case or DFA file; one per line of a .txt file)."""
    from verify.inputs import is_regular_file
    from verify.regular.classify import classify_automaton, classify_dfa, classify_regex
    kind = is_regular_file(target)
    if kind is False:   # a folder, a device, a FIFO: a path, never a regular expression to decide
        raise UserError(f"{target}: not a regular file (a folder, a device, a FIFO or a socket), so it is not read: "
                        f"classify takes a .dfa, .json or .txt file, a catalogue case or a regular expression; to "
                        f"classify these characters as a regular expression, write it in parentheses: ({target})")
    if kind or target.endswith((".dfa", ".txt")):
        if not kind:
            raise UserError(f"{target}: no such file (a .dfa file is a JSON DFA, a .txt file has one regular "
                            "expression per line; docs/classify.md)")
        if target.endswith(".txt"):
            return _regex_file(target, alphabet, acceptance, budget)
        if alphabet is not None:
            raise UserError("--alphabet applies to regular expressions; a DFA file declares its own alphabet")
        from verify.regular.dfafile import load_dfa_file
        return [classify_dfa(load_dfa_file(target), acceptance, None, f"DFA file {target}", budget)]
    if TASK_REF.match(target):
        raise UserError(f"{target!r} names a user task (module:function): `verify classify` decides regular "
                        "languages only (a regex, a DFA file or a catalogue case with an automaton); for an "
                        f"arbitrary task use `verify comm-complexity {target}` (communication lower bounds)")
    from verify.catalogue import all_cases
    cases = {c.name: c for c in all_cases()}
    if target in cases:
        from verify.spec import Automaton
        case = cases[target]
        if alphabet is not None:
            raise UserError(f"--alphabet applies to regular expressions; case {target!r} has its own alphabet")
        if not isinstance(case.spec, Automaton):
            raise UserError(f"case {target!r} is not given by a finite automaton (it is not a regular language, "
                            "or has no machine-readable automaton), so the decider does not apply; "
                            f"`verify comm-complexity {target}` bounds it instead")
        return [classify_automaton(case.spec, acceptance, f"case {target}", budget)]
    return [classify_regex(target, alphabet, acceptance, budget)]


def _regex_file(path: str, alphabet, acceptance: str, budget: float) -> List:
    from verify.regular.classify import classify_regex
    from verify.inputs import read_text
    lines = read_text(path, "regular-expression table", MAX_TABLE_BYTES, "one regular expression per line; "
                      "split the file").splitlines()
    from verify.regular.regex import TooLarge, regex_dfa
    patterns = []
    for number, line in enumerate(lines, 1):   # every line is parsed before any is classified
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        try:
            regex_dfa(pattern, alphabet)
        except TooLarge:
            pass                                # classified as "undecided: too large" below
        except UserError as ex:
            indent = len(line) - len(line.lstrip())
            msg = ex.message
            m = re.match(r"regex:1:(\d+): (.*)", msg, re.S)
            if m:
                msg = f"{path}:{number}:{int(m.group(1)) + indent}: {m.group(2)}"
            else:
                msg = f"{path}:{number}:1: {msg}"
            raise UserError(msg)
        patterns.append(pattern)
    out = [classify_regex(p, alphabet, acceptance, budget) for p in patterns]
    if not out:
        raise UserError(f"{path}: no regular expression in the file (one per line; # starts a comment)")
    return out


def register(app: typer.Typer) -> None:
    @app.command("classify")
    def classify_cmd(
        target: str = typer.Argument(..., help="a regular expression, a catalogue case, a .dfa JSON file, or a "
                                               ".txt file with one regular expression per line"),
        alphabet: Optional[str] = typer.Option(None, "--alphabet", help="symbols, comma-separated, at most 256 "
                                               "(default: those the regular expression uses)"),
        acceptance: str = typer.Option("last", "--acceptance", help="last: output read at the last position "
                                       "(default, as the catalogue's labels); end: at an appended end marker "
                                       "(ADT's convention)"),
        budget: float = typer.Option(10.0, "--budget", help="seconds for the whole classification of one "
                                     "language: decider, monoid, certificates, program synthesis and its proof "
                                     "(work derived from it, the clock a safety limit; a stage that did not "
                                     "finish is reported as such); 0: no program search, the other stages "
                                     "under the 10 s default"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Certified NoPE (C-RASP) and APE (C-RASP[periodic,local]) verdicts for a regular language, with a proved
        program or a certificate. Exit 0: every verdict decided; 3: something undecided; 2: bad input."""
        from verify.regular.classify import ACCEPTANCE, render_lines
        if acceptance not in ACCEPTANCE:
            raise UserError(f"--acceptance must be last or end (got {acceptance!r})")
        if not budget >= 0 or budget > 3600:
            raise UserError(f"--budget must be between 0 and 3600 seconds (got {budget})")
        results = classify_target(target, parse_alphabet(alphabet), acceptance, budget)
        if json_out:
            data = [r.as_dict() for r in results]
            emit_json(data if target.endswith(".txt") else data[0])
        elif len(results) == 1:
            for line in render_lines(results[0]):   # plain lines: one verdict per line, never folded
                print(line)
        else:
            _table(results)
        if not all(r.decided for r in results):
            fail(3)


def _table(results) -> None:
    from rich.markup import escape
    from rich.table import Table
    fmt = lambda v: "?" if v is None else ("yes" if v else "no")
    t = Table(title="verify classify: one row per regular expression")
    for col in ("regex", "states", "R", "R_ω", "aperiodic", "quasi-ap.", "NoPE (C-RASP)", "APE", "rests on",
                "program", "s"):
        t.add_column(col, overflow="fold")
    for r in results:
        cls = r.classes
        t.add_row(escape(r.regex or r.source), str(r.states), fmt(cls["R"]), fmt(cls["R_omega"]),
                  fmt(cls["aperiodic"]), fmt(cls["quasi_aperiodic"]), fmt(r.crasp.value), fmt(r.ape.value),
                  escape(f"{r.crasp.rests_on} / {r.ape.rests_on}"),
                  "proved" if r.program and r.program_proof and r.program_proof.startswith("proved") else
                  ("found" if r.program else "—"), f"{r.seconds:.2f}")
    out = console()
    out.print(t)
    out.print(f"acceptance {results[0].acceptance}; `verify classify REGEX` shows one language's certificates")
