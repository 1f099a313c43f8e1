"""The `verify` command. Each subcommand lives in verify/commands/<name>.py and defines
`register(app)`; this file only discovers them and turns failures into exit codes:

    0 holds / success, 1 refuted, 2 user error (one message, no traceback), 3 unknown,
    70 internal error: a bug in the toolkit (one line; the traceback with `verify --debug ...`
    or LENGTHGEN_VERIFY_DEBUG=1).
A crash must never read as "refuted" to a script, hence its own code (sysexits' EX_SOFTWARE).
"""
from __future__ import annotations

import errno
import importlib
import os
import pkgutil
import sys
import traceback

from typing import Optional

import typer

EXIT_OK, EXIT_REFUTED, EXIT_USER_ERROR, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 70
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143   # 128 + SIGINT, 128 + SIGTERM, as a shell reports them
DEBUG_ENV = "LENGTHGEN_VERIFY_DEBUG"

EXIT_CODES_HELP = ("Exit codes (every command): 0 holds / success, 1 refuted, 2 user error, 3 unknown, "
                   f"70 internal error (a bug in the toolkit; rerun with --debug or {DEBUG_ENV}=1 for the traceback).")

app = typer.Typer(
    add_completion=True,     # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},   # every command's too (click inherits it)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Executable checks of the length-generalization theory of Huang et al. (ICLR 2025).\n\n" + EXIT_CODES_HELP,
)

_debug = False
_flag_case_paths: list = []   # paths the last run's --cases added


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version
        try:
            v = version("lengthgen-verify")
        except PackageNotFoundError:  # run from a source tree that is not installed
            v = "unknown (not installed)"
        print(f"lengthgen-verify {v}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help=f"show the traceback of an internal error "
                               f"(same as {DEBUG_ENV}=1); give it before the command: verify --debug run ..."),
    cases: Optional[str] = typer.Option(None, "--cases", metavar="PATH",
                                        help="add your own cases: a Python file defining CASES, or a folder of "
                                             f"such files (several separated by {os.pathsep!r}; "
                                             "LENGTHGEN_VERIFY_CASES does the same); give it before the command. "
                                             "The file is EXECUTED as Python code, like a conftest.py: use only "
                                             "files you trust"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    global _debug
    _debug = _debug or debug
    from verify.catalogue import add_cases_from, forget_cases_from
    # main() may run many times in one process (tests, notebooks): only this run's --cases count, and
    # cases added through the Python API stay
    while _flag_case_paths:
        forget_cases_from(_flag_case_paths.pop())
    for path in (cases or "").split(os.pathsep):
        if path:
            add_cases_from(path, where="--cases ")
            _flag_case_paths.append(path)


_PLAIN_KINDS = {str: "string", int: "integer", float: "number", bool: "boolean"}
_BOOLEANS = {"1": True, "true": True, "yes": True, "y": True, "on": True, "t": True,
             "0": False, "false": False, "no": False, "n": False, "off": False, "f": False}


def _plain_option_values() -> None:
    """typer 0.2x converts every option value through a pydantic TypeAdapter, which costs each
    command ~70 ms of imports for values that are plain str / int / float / bool. Those get a direct
    conversion with click's message for a bad value ("'1e5' is not a valid integer."); every
    other annotation (paths, choices, ranges, lists, custom parsers) keeps typer's own. A typer
    without this layer is left alone (startup is then only slower or faster, never different)."""
    try:
        from dataclasses import dataclass

        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
        base = core.build_runtime_param
    except (ImportError, AttributeError):
        return
    if getattr(base, "_verify_plain", False):
        return

    @dataclass(frozen=True)
    class PlainValue(_coercion.RuntimeParam):
        def _coerce_value(self, value, param, ctx):
            kind = self.annotation
            if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
                return value
            if isinstance(value, str) and kind is bool and value.strip().lower() in _BOOLEANS:
                return _BOOLEANS[value.strip().lower()]
            if isinstance(value, str) and kind in (int, float):
                try:
                    return kind(value)
                except ValueError:
                    pass
            raise BadParameter(f"{value!r} is not a valid {_PLAIN_KINDS[kind]}.", ctx=ctx, param=param)

    def build(descriptor):
        info = descriptor.parameter_info
        if (descriptor.annotation in _PLAIN_KINDS and descriptor.file_annotation is None
                and getattr(info, "parser", None) is None and getattr(info, "click_type", None) is None
                and getattr(info, "min", None) is None and getattr(info, "max", None) is None):
            return PlainValue(parameter_info=info, annotation=descriptor.annotation)
        return base(descriptor)
    build._verify_plain = True
    core.build_runtime_param = build


_registered: set = set()


def _register_commands(argv=None) -> None:
    """Register the subcommands, each module once per process: main() may be called many times
    (tests), and typer would build a duplicate of a command registered twice. When `argv` (the
    arguments main() runs; None: register all) names a command whose module is
    verify/commands/<name>.py, only that module is loaded (typer then builds one command instead
    of all: a faster start); anything else (--help, a typo) loads all."""
    _plain_option_values()
    from verify import commands
    modules = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))
    wanted = None if argv is None else _command_word(argv)
    module = wanted.replace("-", "_") if wanted else None
    if module in modules:
        _register(module)
        if any((c.name or c.callback.__name__).replace("_", "-") == wanted for c in app.registered_commands):
            return
    for name in modules:
        _register(name)


# The command list of `verify --help`: one style, an imperative phrase without a final period, short enough
# to fit one line of an 80-column terminal beside the command's name (tests/test_cli_surface.py checks it).
SUMMARIES = {
    "audit": "Audit a checkpoint's positions against PERIODIC and LOCAL",
    "cases": "List the task catalogue",
    "check": "Check a program against its task's reference",
    "classify": "Decide NoPE and APE for a regular language",
    "comm-complexity": "Bound a task's one-way communication (Theorem 12)",
    "compile": "Compile a program to a Limit Transformer (Theorem 9)",
    "conditions": "Decide PERIODIC and LOCAL for a positional encoding",
    "equiv": "Prove two programs equivalent, or refute it",
    "mutate": "Refute or prove equivalent every mutant of a program",
    "prove": "Prove a program right for every length, or refute it",
    "refute": "Search for the shortest counterexample with Z3",
    "report": "Set the theory's predictions beside the paper's results",
    "run": "Run a program on one input",
    "sweep": "Train a grid of models, on this machine or on Ray",
    "theorems": "Run the theorem checks",
    "train": "Train the paper's GPT-2 on a task",
}
# Every command's --json option says the same, naming its command's schema.
JSON_HELP = ("print one JSON document instead of the text: an object with schema_version and command first, "
             "described by docs/schemas/{name}.schema.json")


def _register(module: str) -> None:
    if module not in _registered:
        _registered.add(module)
        known = len(app.registered_commands)
        importlib.import_module(f"verify.commands.{module}").register(app)
        for info in app.registered_commands[known:]:
            _uniform_help(info)


def _uniform_help(info) -> None:
    """The command's summary (SUMMARIES) and its --json help (JSON_HELP), the same style for every command."""
    import inspect
    name = (info.name or info.callback.__name__).replace("_", "-")
    info.short_help = SUMMARIES.get(name, info.short_help)
    for parameter in inspect.signature(info.callback).parameters.values():
        option = parameter.default
        if "--json" in (getattr(option, "param_decls", None) or ()):
            option.help = JSON_HELP.format(name=name)


_GLOBAL_WITH_VALUE = ("--cases",)


def _command_word(argv) -> "str | None":
    """The command in argv (the first word after the global options and their values), or None."""
    args = iter(argv)
    for a in args:
        if a in ("--help", "-h"):
            return None
        if a in _GLOBAL_WITH_VALUE:
            next(args, None)
        elif not a.startswith("-"):
            return a
    return None


def debug_requested(argv=None) -> bool:
    """--debug before the command, or LENGTHGEN_VERIFY_DEBUG set to anything but '', 0, false, no."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off"):
        return True
    args = list(sys.argv[1:] if argv is None else argv)
    return "--debug" in args[:_command_index(args)] or _debug  # global options come before the command


def _command_index(args) -> int:
    """Where the command word stands in args (len(args) when there is none)."""
    word = _command_word(args)
    return args.index(word) if word is not None and word in args else len(args)


def internal_error(ex: BaseException, argv=None) -> int:
    """One line on stderr naming the bug (the traceback only in debug mode); exit 70."""
    if debug_requested(argv):
        traceback.print_exception(type(ex), ex, ex.__traceback__, file=sys.stderr)
    message = " ".join(str(ex).split())
    if len(message) > 300:
        message = message[:297] + "..."
    hint = "" if debug_requested(argv) else (f" — rerun with `verify --debug ...` or {DEBUG_ENV}=1 "
                                             "to see the traceback")
    print(f"internal error (a bug in lengthgen-verify, not in your input): {type(ex).__name__}"
          f"{': ' + message if message else ''}{hint}; please report it", file=sys.stderr)
    return EXIT_INTERNAL


def _exit_in_user_code(ex: SystemExit) -> "str | None":
    """FILE:LINE of the sys.exit() when it was called outside the toolkit and its command-line libraries
    (in a user's case file or reference function), else None (a command's own exit status)."""
    tb = ex.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = os.path.realpath(tb.tb_frame.f_code.co_filename)
    import click
    ours = [os.path.dirname(os.path.realpath(m.__file__)) for m in (sys.modules[__package__ or "verify"], typer, click)]
    ours.append(os.path.join(os.path.dirname(ours[0]), "torch_bridge"))
    if any(filename.startswith(root + os.sep) for root in ours):
        return None
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


EXIT_STDOUT_CLOSED = 141   # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def _stdout_closed() -> int:
    """Standard output was closed early (`verify prove dyck1 | head -c1`): not a verdict and not a bug. Point
    stdout at /dev/null (so Python's own flush at exit stays quiet) and exit as a process killed by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # no real stdout (a test's capture): nothing to redirect
        pass
    return EXIT_STDOUT_CLOSED


def main(argv=None) -> int:
    from verify.processes import SIGTERM, signals_raise
    try:
        with signals_raise() as received:   # Ctrl-C and SIGTERM: worker processes stopped, then one line
            code = _main(argv)
        if received or code == EXIT_INTERRUPTED:   # typer turns KeyboardInterrupt into a silent exit 130
            terminated = SIGTERM in received
            print("terminated (SIGTERM)" if terminated else "interrupted", file=sys.stderr)
            code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
        sys.stdout.flush()   # a closed pipe shows here at the latest, never in Python's exit
        return code
    except BrokenPipeError:
        return _stdout_closed()


def _main(argv=None) -> int:
    global _debug
    _debug = False
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # exact values of any size print (JSON, traces): C-RASP is exact arithmetic
    from verify.problems import UserError
    try:
        _register_commands(sys.argv[1:] if argv is None else list(argv))
        # in non-standalone mode click returns the code of typer.Exit instead of raising it
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int):
            return code
    except UserError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except typer.Exit as ex:  # raised by commands for their exit status
        return ex.exit_code
    except BrokenPipeError:
        return _stdout_closed()
    except SystemExit as ex:
        if isinstance(ex.__context__, OSError) and ex.__context__.errno == errno.EPIPE:
            return _stdout_closed()   # rich's and typer's answer to a closed stdout is sys.exit(1): not "refuted"
        culprit = _exit_in_user_code(ex)
        if culprit is not None:   # a case file's or a module:function's sys.exit(): never a verdict
            print(f"{culprit}: sys.exit({ex.code!r}) was called outside the toolkit (a case file or a "
                  "module:function reference is executed as Python code); an exit there is not a verdict",
                  file=sys.stderr)
            return EXIT_USER_ERROR
        if ex.code is None or isinstance(ex.code, int):
            return int(ex.code or 0)
        return internal_error(RuntimeError(f"exited with the message {ex.code!r}"), argv)  # no code: not a verdict
    except KeyboardInterrupt:   # main() says so, in one line
        return EXIT_INTERRUPTED
    except typer.Abort:  # an interrupted prompt: not a verdict
        return EXIT_INTERRUPTED
    except Exception as ex:
        # usage errors (unknown option, missing argument, a bad integer) arrive here in non-standalone
        # mode; they know how to show themselves and carry click's exit code 2
        if hasattr(ex, "show") and isinstance(getattr(ex, "exit_code", None), int):
            ex.show()
            return ex.exit_code
        return internal_error(ex, argv)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
