"""The `vmsim` command: parse, call the engine, render. No simulation logic here.

This module holds the typer app, the root options (plug-in policies, ``--debug``) and `main`, the
entry point with its last-resort error handler; the commands live one family to a module
(traces, scenarios, analysis, golden, policies, exercises) and their shared options in options.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from vmsim import __version__
from vmsim.cli import analysis, exercises, golden, policies, scenarios, traces
from vmsim.errors import VmsimError

app = typer.Typer(
    name="vmsim",
    help="vmsim: a virtual-memory simulator (paging, segmentation, replacement policies).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: The commands, in the order ``vmsim --help`` lists them.
_COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("refs", traces.refs),
    ("replay", traces.replay_cmd),
    ("convert", traces.convert),
    ("simulate", scenarios.simulate),
    ("sweep", scenarios.sweep),
    ("compare", analysis.compare),
    ("curve", analysis.curve),
    ("record", golden.record),
    ("check", golden.check),
    ("report", golden.report),
    ("validate", scenarios.validate),
    ("schema", scenarios.schema),
    ("policies", policies.policies_cmd),
    ("new-policy", policies.new_policy),
    ("exercise", exercises.exercise),
]
for _name, _command in _COMMANDS:
    app.command(name=_name)(_command)


def _error_class(name: str) -> type[Any]:
    """Click's exception class ``name`` as typer raises it, found from the public ``typer.BadParameter``
    (typer vendors its own copy of Click since 0.26, and re-exports only a few of its exceptions)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


#: A bad command line (unknown option, missing argument, bad value): it has the context of the command.
_UsageError = _error_class("UsageError")
#: Any other error Click reports to the user (an unreadable file argument...).
_ClickException = _error_class("ClickException")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmsim {__version__}")
        raise typer.Exit()


#: Commands that never use a policy, so they do not load installed plug-ins (entry points).
_NO_POLICIES = frozenset({"report", "new-policy", "exercise"})


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    policy_file: Annotated[
        list[str] | None,
        typer.Option(
            "--policy-file",
            metavar="FILE.py:CLASS",
            help="Load a replacement policy class from a Python file for this run (repeatable); it is "
            "registered like a built-in. Also accepted after the command name.",
        ),
    ] = None,
    no_entry_points: Annotated[
        bool,
        typer.Option("--no-entry-points", help="Do not load the policies of installed packages (entry points vmsim.policies)."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the Python traceback of an internal error (also VMSIM_DEBUG=1). Accepted anywhere on the command line.",
        ),
    ] = False,
) -> None:
    """vmsim: a virtual-memory simulator.

    Plug-in policies are loaded here, before the command runs, and only here: installed packages'
    entry points (group vmsim.policies) for every command that uses policies, and each
    --policy-file. A scenario file never loads code.
    """
    if not no_entry_points and ctx.invoked_subcommand not in _NO_POLICIES:
        from vmsim.policies import load_entry_points

        load_entry_points()
    for ref in policy_file or []:
        from vmsim.policies import load_policy_file

        load_policy_file(ref)


def _hoist_root_options(args: list[str]) -> list[str]:
    """Move ``--policy-file`` and ``--no-entry-points`` given after the command name in front of
    it, where the root reads them. Asking for help never loads installed plug-ins."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        if a == "--policy-file" and i + 1 < len(args):
            front += args[i : i + 2]
            i += 2
            continue
        (front if a.startswith("--policy-file=") or a == "--no-entry-points" else rest).append(a)
        i += 1
    if "--help" in rest and "--no-entry-points" not in front:
        front.append("--no-entry-points")
    return front + rest


#: Where to report a bug (the last-resort handler names it).
ISSUES_URL = "https://github.com/vmsim/vmsim/issues"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: bad input is one line on stderr and exit code 2, never a traceback. Anything
    else that escapes is a bug in vmsim: one line, exit code 70 (EX_SOFTWARE), and ``--debug``
    (or VMSIM_DEBUG=1) shows the traceback."""
    args = _hoist_root_options(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args[: args.index("--")] if "--" in args else "--debug" in args
    if debug:
        args = [a for i, a in enumerate(args) if a != "--debug" or ("--" in args and i > args.index("--"))]
    debug = debug or os.environ.get("VMSIM_DEBUG", "") not in ("", "0")
    try:
        result = app(args=args, prog_name="vmsim", standalone_mode=False)
    except VmsimError as e:
        typer.echo(f"vmsim: error: {_one_line(str(e))}", err=True)
        return 2
    except _UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError" and e.ctx is not None:
            typer.echo(e.ctx.get_help())
            return 0
        hint = f" (see vmsim {e.ctx.info_name} --help)" if e.ctx is not None and e.ctx.info_name != "vmsim" else ""
        typer.echo(f"vmsim: error: {_one_line(e.format_message())}{hint}", err=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("vmsim: interrupted", err=True)
        return 130
    except _ClickException as e:
        typer.echo(f"vmsim: error: {_one_line(e.format_message())}", err=True)
        return 2
    except BrokenPipeError:
        return 0
    except MemoryError:
        if debug:
            raise
        typer.echo(
            "vmsim: error: out of memory: this machine cannot hold what the run needs "
            "(use less memory, larger pages or a shorter run)",
            err=True,
        )
        return 70
    except Exception as e:  # the last resort: a bug in vmsim, reported in one line
        if debug:
            raise
        typer.echo(
            f"vmsim: internal error: {type(e).__name__}: {_one_line(str(e))[:300]} -- this is a bug in "
            f"vmsim {__version__}; please report it at {ISSUES_URL} with the command you ran "
            "(run it again with --debug for the traceback)",
            err=True,
        )
        return 70
    return result if isinstance(result, int) else 0


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())
