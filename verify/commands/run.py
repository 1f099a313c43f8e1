"""`verify run PROGRAM INPUT|- [--input-file PATH] [--trace | --trace-file PATH]`: evaluate a
program on one input.

Built for long inputs as a whole process: the input comes from the command line, standard input
(`-`) or a file read in chunks; single-character alphabets are tokenized by a lookup table
(verify.crasp.interpreter.tokenize_ids); the program is evaluated once and only the last
position is converted to Python values; the echo of a long input is abbreviated and nothing is
printed through markup. This module imports neither rich nor the catalogue unless it needs them.
"""
from __future__ import annotations

import sys
from typing import Optional

import typer

ECHO_HEAD, ECHO_TAIL = 40, 20      # a longer input is echoed as its first and last symbols
_CHUNK = 1 << 22                   # bytes read at a time from a file or standard input


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        program: str = typer.Argument(..., help="a catalogue case name or a .crasp file"),
        input: Optional[str] = typer.Argument(None, help="the input: symbols separated by spaces, or run together when "
                                                         "every symbol is one character; - reads standard input"),
        input_file: Optional[str] = typer.Option(None, "--input-file", help="read the input from this file "
                                                 "(- for standard input), in chunks: for inputs too long for "
                                                 "the command line"),
        trace: bool = typer.Option(False, "--trace", help="print a per-position table of every operation "
                                   "(past 200 positions: tab-separated rows, paged on a terminal)"),
        trace_file: Optional[str] = typer.Option(None, "--trace-file", help="write the per-position trace to "
                                                 "this file as tab-separated text"),
        offset: int = typer.Option(0, help="position offset (periodic predicates read pos + offset)"),
        acceptance: str = typer.Option("last", help="last: read accept at the last position; "
                                                     "end: append the end marker <end> and read there"),
        max_steps: Optional[int] = typer.Option(None, help="generation limit for sequence programs"),
        json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """Run a C-RASP program on one input: its outputs (and, for sequence programs, the generated answer)."""
        from verify.commands._common import load_target
        from verify.crasp.interpreter import ACCEPTANCE_MODES
        from verify.limits import MAX_GENERATE_STEPS, MAX_OFFSET, require_range
        from verify.problems import UserError

        require_range("--offset", offset, -MAX_OFFSET, MAX_OFFSET)
        if max_steps is not None:
            require_range("--max-steps", max_steps, 1, MAX_GENERATE_STEPS,
                          "generation re-evaluates the whole prefix at every step")
        if input is not None and input_file is not None:
            raise UserError("give the input as an argument or with --input-file, not both")
        if input is None and input_file is None:
            raise UserError("missing argument INPUT: give the input, - to read standard input, "
                            "or --input-file PATH")
        if trace_file is not None:
            from verify.outputs import check_file_target
            check_file_target(trace_file, "--trace-file")
        case, prog = load_target(program)
        if acceptance not in ACCEPTANCE_MODES:
            raise UserError(f"--acceptance must be one of {', '.join(ACCEPTANCE_MODES)}")
        source = input_file if input_file is not None else input
        ids = read_input(prog.alphabet, source, from_file=input_file is not None)
        result, ev, ev_ids, is_sequence = evaluate_input(case, prog, ids, offset, acceptance, max_steps,
                                                         want_tokens=json or trace,
                                                         want_trace=trace or trace_file is not None)
        if trace_file is not None:
            from verify.outputs import staged_file
            from verify.trace import write_trace
            with staged_file(trace_file, "--trace-file") as tmp, open(tmp, "w") as f:
                write_trace(ev, ev_ids, f, offset)
        if json:
            if trace:
                from verify.trace import table_of
                result["trace"] = table_of(ev, result["input"] + _end_token(acceptance, is_sequence), offset)
            from verify.commands._common import emit_json
            emit_json(result)
            return
        print_result(result, prog.alphabet, ids, acceptance, is_sequence)
        if trace_file is not None:
            print(f"trace ({ev.n} rows) written to {trace_file}")
        if trace:
            from verify.commands._common import console
            from verify.trace import print_trace
            sys.stdout.flush()
            print_trace(ev, ev_ids, None, console(), offset)


def _end_token(acceptance: str, is_sequence: bool) -> list:
    from verify.crasp.checks import END_MARKER
    return [END_MARKER] if acceptance == "end" and not is_sequence else []


def read_input(alphabet, source: str, from_file: bool):
    """The input's token ids (1-D): the argument's text, or a file / standard input ('-') read in
    chunks. Errors name the place: `input column C` for an argument, `FILE:LINE:COLUMN` for a file."""
    from verify.crasp.interpreter import tokenize_ids
    if source == "-":
        return _read_stream(alphabet, sys.stdin.buffer, "<stdin>")
    if not from_file:
        return tokenize_ids(alphabet, source)
    from verify.inputs import open_regular
    from verify.problems import UserError
    try:   # a FIFO or a device is refused, never waited on: a stream is given as standard input ('-')
        f = open_regular(source, "input file", hint="give a stream on standard input: ... | verify run PROGRAM -")
    except UserError as err:
        raise UserError(f"--input-file {err.message}") from None
    with f:
        return _read_stream(alphabet, f, source)


def _read_stream(alphabet, stream, name: str):
    """Tokenize a binary stream chunk by chunk. A chunk is cut after its last whitespace unless
    the lookup-table tokenizer can take it whole (then no symbol can straddle the cut)."""
    import codecs

    import numpy as np

    from verify.crasp.interpreter import id_dtype, single_characters, tokenize_ids
    from verify.problems import UserError
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts, carry = [], ""
    # a regular file: its size bounds the number of symbols, so the ids go straight into one buffer (pages never
    # written are never resident) instead of chunks joined at the end (which holds the input twice)
    buffer, filled = None, 0
    try:
        import os
        import stat
        info = os.fstat(stream.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > _CHUNK:
            buffer = np.empty(info.st_size, dtype=id_dtype(alphabet))
    except (AttributeError, OSError, ValueError):   # not a file descriptor (a test's BytesIO)
        buffer = None
    line, column0, read = 1, 0, 0   # where `carry` starts: its line, its column there, bytes before
    single = single_characters(alphabet)
    while True:
        raw = stream.read(_CHUNK)
        final = not raw
        try:
            text = carry + decoder.decode(raw, final=final)
        except UnicodeDecodeError as err:
            raise UserError(f"{name}: not UTF-8 text (byte {read + err.start + 1} of the input cannot be decoded); "
                            "the input must be text") from None
        read += len(raw)
        if final or (single and "<" not in text) or not text[-1:].strip():
            head, carry = text, ""
        else:  # keep the last, possibly incomplete, symbol for the next chunk
            last = text.rsplit(None, 1)[-1]
            head, carry = text[:len(text) - len(last)], last

        def locate(i, head=head, line=line, column0=column0):
            newlines = head.count("\n", 0, i)
            col = (i - head.rfind("\n", 0, i)) if newlines else column0 + i + 1
            return f"{name}:{line + newlines}:{col}"
        if head:
            ids = tokenize_ids(alphabet, head, locate)
            if buffer is not None and filled + len(ids) <= len(buffer):
                buffer[filled:filled + len(ids)] = ids
                filled += len(ids)
            else:                   # the file grew while it was read: keep what is in the buffer, go on in parts
                if buffer is not None:
                    parts.append(buffer[:filled])
                    buffer = None
                parts.append(ids)
            newlines = head.count("\n")
            column0 = len(head) - head.rfind("\n") - 1 if newlines else column0 + len(head)
            line += newlines
        if final:
            break
    if buffer is not None:
        return buffer[:filled]
    return np.concatenate(parts) if parts else np.empty(0, dtype=id_dtype(alphabet))


def evaluate_input(case, prog, ids, offset: int, acceptance: str, max_steps, want_tokens: bool,
                   want_trace: bool = False):
    """(result dict as --json prints it, the Evaluation — None unless `want_trace` —, the ids it ran on,
    is_sequence). Only the last position is turned into Python values (and the token list only when
    asked: --json or --trace). Without a trace the program is evaluated in chunks with carried prefix
    state (verify.crasp.interpreter.last_values), so memory does not grow with the input beyond the
    input itself; a trace needs every position, so it evaluates the whole input at once."""
    import numpy as np

    from verify.case import SEQUENCE
    from verify.crasp.checks import END_MARKER
    from verify.crasp.interpreter import (chunk_for, count_dtype, evaluate, generate, last_values, straight_line,
                                          symbol_ids, tokens_of)
    from verify.limits import human_bytes, refuse_if_too_big
    from verify.problems import UserError
    if len(ids) == 0:
        raise UserError("empty input: give at least one symbol "
                        f"(alphabet: {' '.join(prog.alphabet)})")
    line = straight_line(prog)
    is_sequence = any(k.startswith("next ") for k, _ in line.outputs)
    name = prog.source if case is None else case.name
    result = {"program": name}
    if is_sequence:
        tokens = tokens_of(prog.alphabet, ids)
        if case is not None and case.format == SEQUENCE and tokens[0] != case.bos:
            tokens = [case.bos, *tokens, case.sep]  # a bare task input: wrap it in the paper's format
        result["input"] = tokens
        stop = case.eos if case is not None else "<eos>"
        produced, why = generate(prog, tokens, stop=stop, max_steps=max_steps or 4 * len(tokens) + 16,
                                 offset=offset)
        result.update({"generated": produced, "stopped_because": why})
        if case is not None and case.format == SEQUENCE and tokens[0] == case.bos and case.sep in tokens:
            x = tuple(tokens[1:tokens.index(case.sep)])
            if case.valid_input is None or case.valid_input(x):
                expected = list(case.answer(x)) + [case.eos]
                result["expected"] = expected
                result["correct"] = produced == expected
        sid = symbol_ids(prog.alphabet)
        ids = np.fromiter((sid[t] for t in tokens), dtype=np.int64, count=len(tokens))
    elif want_tokens:
        result["input"] = tokens_of(prog.alphabet, ids)
    if acceptance == "end" and not is_sequence:
        ids = np.append(ids, np.array([symbol_ids(prog.alphabet)[END_MARKER]], dtype=ids.dtype))
    n = len(ids)
    per_value = 8 if count_dtype(line, n) is not object else 48  # object arrays: a pointer and an int
    held = n if want_trace else min(n, chunk_for(line))                      # positions evaluated at once
    estimate = held * per_value * (len(line.ops) + 2)
    refuse_if_too_big("the input", estimate, f"give a shorter input (now {n:,} symbols)",
                      what=f"evaluating {len(line.ops)} operations at {held:,} positions ({human_bytes(estimate)})")
    if want_trace:
        ev = evaluate(line, ids[None, :], offset)
        last = {i: ev.value(i)[0, -1] for _, i in line.outputs}
    else:
        ev, last = None, last_values(line, ids, offset)
    outputs = {k: _python(last[i]) for k, i in line.outputs}
    result["outputs_at_last_position"] = outputs
    if "accept" in outputs and not is_sequence:
        result["accepted"] = outputs["accept"]
    return result, ev, ids, is_sequence


def _python(v):
    import numpy as np
    return bool(v) if isinstance(v, (bool, np.bool_)) else int(v)


def echo(alphabet, ids) -> str:
    """The input as printed: in full up to ECHO_HEAD + ECHO_TAIL symbols, else its two ends."""
    from verify.crasp.interpreter import tokens_of
    n = len(ids)
    if n <= ECHO_HEAD + ECHO_TAIL:
        return " ".join(tokens_of(alphabet, ids))
    return (" ".join(tokens_of(alphabet, ids[:ECHO_HEAD])) + f" … ({n - ECHO_HEAD - ECHO_TAIL:,} symbols not shown) … "
            + " ".join(tokens_of(alphabet, ids[-ECHO_TAIL:])))


def print_result(result: dict, alphabet, ids, acceptance: str, is_sequence: bool) -> None:
    """Plain text: no markup, so brackets in the input are printed as they are, fast."""
    write = sys.stdout.write
    if is_sequence:
        tokens = result["input"]
        write(f"input ({len(tokens)} symbols): {' '.join(tokens)}\n")
    else:
        write(f"input ({len(ids):,} symbols): {echo(alphabet, ids)}\n")
    if "accepted" in result:
        where = "the end marker" if acceptance == "end" else "the last position"
        write(f"{'accepted' if result['accepted'] else 'rejected'} (accept read at {where})\n")
    for k, v in result["outputs_at_last_position"].items():
        if k != "accept":
            write(f"  {k} = {v}\n")
    if is_sequence:
        write(f"generated: {' '.join(result['generated'])}  ({result['stopped_because']})\n")
        if "expected" in result:
            write(("matches" if result["correct"] else "differs from")
                  + f" the reference answer {' '.join(result['expected'])}\n")
