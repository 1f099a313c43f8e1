"""`verify run PROGRAM INPUT [--trace]`: evaluate a program on one input."""
from __future__ import annotations

from typing import Optional

import typer

from verify.commands._common import console, emit_json, load_target


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        program: str = typer.Argument(..., help="a catalogue case name or a .crasp file"),
        input: str = typer.Argument(..., help="the input: symbols separated by spaces, or run together when "
                                              "every symbol is one character"),
        trace: bool = typer.Option(False, "--trace", help="a per-position table of every operation"),
        offset: int = typer.Option(0, help="position offset (periodic predicates read pos + offset)"),
        acceptance: str = typer.Option("last", help="last: read accept at the last position; "
                                                     "end: append the end marker <end> and read there"),
        max_steps: Optional[int] = typer.Option(None, help="generation limit for sequence programs"),
        json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """Run a C-RASP program on one input: its outputs (and, for sequence programs, the generated answer)."""
        from verify.case import SEQUENCE
        from verify.crasp.checks import END_MARKER
        from verify.crasp.interpreter import ACCEPTANCE_MODES, generate, straight_line, tokenize
        from verify.problems import UserError
        from verify.trace import render_trace, trace as make_trace

        case, prog = load_target(program)
        if acceptance not in ACCEPTANCE_MODES:
            raise UserError(f"--acceptance must be one of {', '.join(ACCEPTANCE_MODES)}")
        tokens = tokenize(prog.alphabet, input)
        if not tokens:
            raise UserError("empty input: give at least one symbol "
                            f"(alphabet: {' '.join(prog.alphabet)})")
        line = straight_line(prog)
        is_sequence = any(k.startswith("next ") for k, _ in line.outputs)
        result = {"program": prog.source if case is None else case.name, "input": tokens}
        if is_sequence:
            if case is not None and case.format == SEQUENCE and tokens[0] != case.bos:
                tokens = [case.bos, *tokens, case.sep]  # a bare task input: wrap it in the paper's format
                result["input"] = tokens
            stop = case.eos if case is not None else "<eos>"
            produced, why = generate(prog, tokens, stop=stop, max_steps=max_steps or 4 * len(tokens) + 16,
                                     offset=offset)
            result.update({"generated": produced, "stopped_because": why})
            if case is not None and case.format == SEQUENCE and tokens[0] == case.bos and case.sep in tokens:
                x = tuple(tokens[1:tokens.index(case.sep)])
                ok_input = case.valid_input is None or case.valid_input(x)
                if ok_input:
                    expected = list(case.answer(x)) + [case.eos]
                    result["expected"] = expected
                    result["correct"] = produced == expected
        table_tokens = tokens + ([END_MARKER] if acceptance == "end" and not is_sequence else [])
        table = make_trace(prog, table_tokens, offset)
        result["outputs_at_last_position"] = {k: table[k][-1] for k, _ in line.outputs}
        if "accept" in table and not is_sequence:
            result["accepted"] = table["accept"][-1]
        if trace:
            result["trace"] = table
        if json:
            emit_json(result)
            return
        out = console()
        out.print(f"input ({len(tokens)} symbols): {' '.join(tokens)}")
        if "accepted" in result:
            verdict = "[green]accepted[/]" if result["accepted"] else "[red]rejected[/]"
            where = "the end marker" if acceptance == "end" else "the last position"
            out.print(f"{verdict} (accept read at {where})")
        for k, v in result["outputs_at_last_position"].items():
            if k != "accept":
                out.print(f"  {k} = {v}")
        if is_sequence:
            out.print(f"generated: {' '.join(result['generated'])}  ({result['stopped_because']})")
            if "expected" in result:
                out.print(("[green]matches[/]" if result["correct"] else "[red]differs from[/]") +
                          f" the reference answer {' '.join(result['expected'])}")
        if trace:
            render_trace(table, out)
