"""`verify comm-complexity TASK`: certified lower bounds vs the C·log N upper bounds of Theorem 12."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Optional

import typer

from verify.commands._common import console, emit_json, progress_bar

HELP = (
    "Communication complexity of TASK (a catalogue case, an alias such as `copy`, or a user's reference "
    "`module:function`: a function of the token tuple, which needs --alphabet, or a zero-argument function "
    "returning a Case; the module is imported and the function called, so this RUNS your code) at half-length N: Alice holds the first half, Bob the second (sequence tasks: Alice "
    "holds <bos> and the first N input symbols, Bob the rest, <sep> and the teacher-forced answer) and Alice "
    "speaks once (SPEC §4, Theorem 12).\n\n"
    "Methods: protocol (run the task's C-RASP program as the exact protocol, and its compiled Limit "
    "Transformer), rows (exact one-way bound by counting distinct rows; small N), certificate (injectivity "
    "certificate checked with Z3; N up to 5000), two-way (fooling sets and rank; small N), auto (all that apply).\n\n"
    "A task's program is a witness of expressibility only once shown to compute the task: proved for every "
    "length with Z3 (--timeout), else checked up to a length (and the verdict says so). A program whose "
    "protocol sends fewer bits than a certified lower bound is refuted, with the pair of inputs. Exit: 0 "
    "verdict, 1 refuted, 2 user error, 3 inconclusive."
)


@contextmanager
def _progress(enabled: bool):
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    with progress_bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), on=Console(stderr=True)) as bar:
        def factory(label: str):
            tid = bar.add_task(label, total=None)

            def update(done: int, total: int):
                bar.update(tid, completed=done, total=total)
            return update
        yield factory


def register(app: typer.Typer) -> None:
    @app.command("comm-complexity", help=HELP)
    def comm_complexity(
        task: str = typer.Argument(..., help="catalogue case, alias (copy), or module:function"),
        n: int = typer.Option(64, "--N", help="Alice's half-length N"),
        method: str = typer.Option("auto", "--method", help="auto | protocol | rows | certificate | two-way"),
        json_out: bool = typer.Option(False, "--json", help="print JSON"),
        plot: Optional[str] = typer.Option(None, "--plot", help="write a PNG of bits against N"),
        k: Optional[int] = typer.Option(None, "--K", help="counting operations of the program size compared "
                                        "(default: the task's own program, else 8)"),
        tau: Optional[int] = typer.Option(None, "--tau", help="radius τ of that program size (default: the task's, else 2)"),
        layers: int = typer.Option(2, "--layers", help="Limit Transformer size: layers L"),
        heads: int = typer.Option(2, "--heads", help="Limit Transformer size: heads per layer H"),
        types: Optional[int] = typer.Option(None, "--types", help="override T, the (key, value) types per head "
                                            "(default: 2^(p·d), what Theorem 12's proof gives; an override is "
                                            "printed as an assumption)"),
        width: int = typer.Option(16, "--width", help="Limit Transformer size: width d"),
        precision: int = typer.Option(16, "--precision", help="Limit Transformer size: bits per activation p"),
        alphabet: Optional[str] = typer.Option(None, "--alphabet", help="a reference function module:function "
                                               "(required for it): the comma-separated symbols of its input"),
        fmt: Optional[str] = typer.Option(None, "--format", help="a reference function module:function: language "
                                          "(it returns membership, a bool) | sequence (it returns the answer's "
                                          "tokens); default: from what it returns"),
        samples: int = typer.Option(32, "--samples", help="random inputs for the protocol check"),
        seed: int = typer.Option(0, "--seed"),
        timeout: float = typer.Option(20.0, "--timeout", help="seconds for the Z3 proof that the task's program "
                                      "computes the task (then: checked up to a length only)"),
    ) -> None:
        from verify.comm.analysis import analyze
        from verify.comm.certificates import ProgramSize, TransformerSize
        from verify.comm.reference import resolve
        from verify.problems import UserError

        if fmt is not None and fmt not in ("language", "sequence"):
            raise UserError(f"--format must be language or sequence, not {fmt!r}")
        from verify.limits import require_finite_timeout, require_range, require_seed
        for name, v in (("--K", k), ("--tau", tau), ("--layers", layers), ("--heads", heads), ("--types", types),
                        ("--width", width), ("--precision", precision), ("--samples", samples)):
            if v is not None and v < (0 if name == "--tau" else 1):
                raise UserError(f"{name} must be {'>= 0' if name == '--tau' else '>= 1'}, not {v}")
        # sizes enter the bounds as exact integers (T = 2^(p·d)); keep them within what prints and plots
        for name, v, hi in (("--K", k, 1 << 20), ("--tau", tau, 1 << 20), ("--layers", layers, 1 << 12),
                            ("--heads", heads, 1 << 12), ("--types", types, 1 << 62), ("--width", width, 1 << 16),
                            ("--precision", precision, 64), ("--samples", samples, 1 << 16)):
            if v is not None:
                require_range(name, v, hi=hi)
        require_seed("--seed", seed)
        require_finite_timeout("--timeout", timeout)
        if plot:  # the destination is checked before the analysis (verify.outputs)
            from verify.outputs import check_file_target
            check_file_target(plot, "--plot", suffixes=(".png",))
        symbols = None
        if alphabet is not None:
            symbols = tuple(a.strip() for a in alphabet.split(","))
            if not all(symbols) or len(set(symbols)) != len(symbols):
                raise UserError(f"--alphabet {alphabet!r}: give distinct, non-empty symbols separated by commas")
        comm_task = resolve(task, symbols, fmt)
        psize = None
        if k is not None or tau is not None:
            psize = ProgramSize(k if k is not None else 8, tau if tau is not None else 2)
        tsize = TransformerSize(layers=layers, heads=heads, width=width, precision=precision,
                                radius=tau if tau is not None else 2, types=types)
        with _progress(not json_out and sys.stderr.isatty()) as factory:
            rep = analyze(comm_task, n, method, psize, tsize, samples=samples, seed=seed, progress=factory,
                          witness_timeout_s=timeout)
        data = rep.as_dict()
        if plot:
            data["plot"] = _plot(rep, plot)
        if json_out:
            emit_json(data)
        else:
            _render(rep, data.get("plot"))
        if rep.verdict == "refuted":
            raise typer.Exit(1)
        if rep.verdict in ("unknown", "inconclusive"):
            raise typer.Exit(3)


PLOT_MAX_N = 1 << 40


def _plot(rep, path: str) -> str:
    from verify.comm.plot import envelope_ns, plot_bits
    t = rep.transformer_size
    # a crossing past 2^40 (T = 2^(p·d) makes the transformer's one astronomically far) is named in the text
    shown = [c for c in (rep.crossing_program, rep.crossing_transformer) if c and c < PLOT_MAX_N]
    n_max = max([rep.n] + shown) * 2
    ns = envelope_ns(n_max)
    points = []
    lower = [(r.n, r.bits) for r in rep.rows] + [(m, b) for m, b, ok in rep.certificate_series if ok]
    if lower:
        lower.sort()
        points.append(("certified lower bound", [p[0] for p in lower], [p[1] for p in lower]))
    if rep.protocol_series:
        points.append(("task program's protocol (bits sent)", [s[0] for s in rep.protocol_series],
                       [s[1] for s in rep.protocol_series]))
    curves = [(f"K·⌈log₂(N+1)⌉+K·τ, K={rep.program_size.counting_operations}, τ={rep.program_size.radius}",
               ns, rep.program_size.bits(ns + rep.alice_extra)),
              (f"any Limit Transformer L·H·T·⌈log₂(N+1)⌉+τ(L+1)dp, T = "
               f"{t.types if t.assumed_types else '2^%d' % (t.precision * t.width)}"
               f"{' (assumed)' if t.assumed_types else ''}", ns, t.bits(ns + rep.alice_extra))]
    title = f"{rep.task}: one-way communication (Theorem 12)"
    if t.bits_exact(1 + rep.alice_extra) > 1 << 40:  # would flatten every other curve: named in the title
        curves = curves[:1]
        title += (f"\nany Limit Transformer bound: ≈ 2^{t.bits_exact(1 + rep.alice_extra).bit_length() - 1} bits "
                  f"(off the chart)")
    crossings = [(lbl, v) for lbl, v in (("program", rep.crossing_program), ("transformer", rep.crossing_transformer))
                 if v and v < PLOT_MAX_N]
    from verify.outputs import staged_file
    with staged_file(path, "--plot") as tmp:  # a temporary name, renamed at the end: nothing half-written
        plot_bits(str(tmp), title, points, curves, crossings)
    return str(path)


def _render(rep, plot_path) -> None:
    from rich.markup import escape
    from rich.table import Table

    from verify.comm.analysis import big_number
    con = console()
    title = f"[bold]{rep.task}[/bold] at N = {rep.n}"
    if rep.note:
        title += f"  ({rep.note})"
    con.print(title)
    con.print(f"[dim]split: {rep.split}[/dim]")
    t = Table(show_header=True, header_style="bold")
    t.add_column("bound")
    t.add_column("bits at N", justify="right")
    t.add_column("how")
    if rep.certificate is not None:
        c = rep.certificate
        status = "[green]verified[/green]" if c.verified else "[red]NOT verified[/red]"
        t.add_row("lower (one-way, certified)", str(c.bits),
                  f"{status}: Bob's half fixed to y0 = {' '.join(c.bob_half[:12])}{' …' if len(c.bob_half) > 12 else ''}; "
                  f"{c.statement}; Z3 injectivity {c.z3.get('injective')}, decoder {c.z3.get('decoder')} "
                  f"({c.decoder}); model cross-checked on {c.cross_checked_small} small + {c.cross_checked_random} "
                  f"random inputs, decoder run on {c.decoded_random} reference answers")
    for r in rep.rows:
        if r.n == rep.n or r is rep.rows[-1]:
            how = (f"exact: {r.distinct_rows} distinct rows of {r.alice_halves} Alice halves"
                   if r.exact else f"{r.incompatible_rows} pairwise incompatible rows (≤ {r.distinct_rows} distinct)")
            t.add_row(f"lower (one-way) at N = {r.n}", str(r.bits), how)
    for tw in rep.two_way[:3]:
        t.add_row(f"lower (two-way) at N = {tw.n}", f"{tw.bits:.2f}",
                  f"{tw.function}: fooling set {tw.fooling_set}, rank over GF(p) {tw.rank_gf_p} (real {tw.rank_real})")
    if rep.protocol is not None:
        p = rep.protocol
        ok = "[green]agrees[/green]" if p.agree else "[red]DISAGREES[/red]"
        t.add_row("upper: the task's program", str(p.bits_sent),
                  f"exact protocol, K = {p.counting_operations}, τ = {p.radius}, bound {p.bound}; Bob {ok} with the "
                  f"interpreter on {p.inputs} inputs × every op × {p.bob_positions // max(1, p.inputs)} positions")
    if rep.transformer and rep.transformer["series"]:
        last = rep.transformer["series"][-1]
        ok = "[green]agrees[/green]" if all(r["agree"] for r in rep.transformer["series"]) else "[red]DISAGREES[/red]"
        t.add_row(f"upper: compiled Limit Transformer (N = {last['N']})", str(last["bits"]),
                  f"types per head {last['types_per_head']} (over N = {[r['N'] for r in rep.transformer['series']]}: "
                  f"{[max(r['types_per_head'], default=0) for r in rep.transformer['series']]} max); Bob {ok} with the "
                  f"forward pass; float64 types and τ = {rep.transformer['radius']} explicit rows")
    if rep.regular_states is not None:
        t.add_row("upper: regular language", str(max(0, (rep.regular_states - 1).bit_length())),
                  f"Alice sends her DFA state ({rep.regular_states} states)")
    t.add_row("upper: any program of size", str(rep.upper_any_program()), rep.program_size.describe())
    t.add_row("upper: any Limit Transformer", big_number(rep.upper_any_transformer()), rep.transformer_size.describe())
    if rep.witness_proof is not None:
        v = rep.witness_proof
        t.add_row("task's program = task, every length", v.status.upper(),
                  f"{v.method}; {v.scope}" + (f" ({v.reason})" if v.reason else ""))
    if rep.witness_check is not None:
        v = rep.witness_check
        t.add_row("task's program = task, checked", v.status.upper(),
                  f"{v.method}; {v.scope}" + (f" ({v.reason})" if v.reason else ""))
    con.print(t)
    if rep.crossing_program or rep.crossing_transformer:
        con.print(f"crossing: the certified lower bound exceeds the program bound for every N ≥ "
                  f"{big_number(rep.crossing_program)} and the Limit Transformer bound for every N ≥ "
                  f"{big_number(rep.crossing_transformer)}"
                  + (" (T ASSUMED via --types)" if rep.transformer_size.assumed_types else
                     f" (T = 2^(p·d) = 2^{rep.transformer_size.precision * rep.transformer_size.width})"))
    for g, label in ((rep.lower_growth, "lower bound"), (rep.upper_growth, "program's bits")):
        if g is not None:
            con.print(f"growth of the {label}: [bold]{g.kind}[/bold] over N = {list(g.ns)} — {g.reason}")
    con.print(f"[bold]verdict:[/bold] {escape(rep.verdict)}")
    con.print(escape(rep.conclusion))
    if rep.citation:
        con.print(f"[dim]rests on: {rep.citation}[/dim]")
    for note in rep.notes:
        con.print(f"[dim]note: {note}[/dim]")
    if plot_path:
        con.print(f"plot written to {plot_path}")
