"""The `verify` command. Each subcommand lives in verify/commands/<name>.py and defines
`register(app)`; this file only discovers them and turns user errors into messages."""
from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from verify.problems import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Executable checks of the length-generalization theory of Huang et al. (ICLR 2025).",
)


def _register_commands() -> None:
    from verify import commands
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"verify.commands.{info.name}").register(app)


def main(argv=None) -> int:
    _register_commands()
    try:
        # in non-standalone mode click returns the code of typer.Exit instead of raising it
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int):
            return code
    except UserError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except typer.Exit as ex:  # raised by commands for their exit status
        return ex.exit_code
    except SystemExit as ex:
        return int(ex.code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except typer.Abort:
        return 1
    except Exception as ex:
        # usage errors (unknown option, missing argument) arrive here in non-standalone mode;
        # they know how to show themselves. Anything else is a bug and keeps its traceback.
        if hasattr(ex, "show") and isinstance(getattr(ex, "exit_code", None), int):
            ex.show()
            return ex.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
