"""main(): parse the command line, run the one command asked for, and turn what goes wrong into an
exit code (cli/status.py). Only that command's module is imported (commands/__init__.py), and pulumi
never is."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import NoReturn, Sequence

from .command import LEFT_FOR_EXIT, UsageError
from .commands import COMMANDS, load
from .status import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_IO, EXIT_OK, EXIT_USAGE

DESCRIPTION = ("Cilium Cluster Mesh global services as code: validate a mesh spec, render identical Services and "
               "Cilium values for every cluster, see what traffic will do, review changes and verify live clusters.")


def build_parser(selected: str | None = None, alone: bool = False) -> argparse.ArgumentParser:
    """The parser, with the full arguments of the `selected` command (every command when None); `alone`
    leaves the other commands out, for a command line that cannot ask for the list of them."""
    parser = argparse.ArgumentParser(prog="meshspec", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=version_text(),
                        help="print meshspec's version and the Cilium versions it models, and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if alone and name != selected:
            continue
        command = commands.add_parser(name, help=summary, formatter_class=HelpFormatter)
        if selected is None or name == selected:
            module = load(name)
            module.configure(command)
            command.set_defaults(run=module.run)
    return parser


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own layout, told the terminal's width. Without one it imports shutil to ask, and shutil
    imports bz2 and lzma: about 5 ms of every start-up, as argparse builds a formatter per add_argument."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


def terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS if a positive number, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def version_text() -> str:
    """`meshspec --version`: this release and the Cilium releases its routing model covers."""
    from .. import __version__
    from ..cilium.versions import DEFAULT_VERSION, NEWEST_KNOWN, OLDEST_SUPPORTED

    oldest, newest = (".".join(map(str, v)) for v in (OLDEST_SUPPORTED, NEWEST_KNOWN))
    return f"meshspec {__version__} (models Cilium {oldest} to {newest}; default {DEFAULT_VERSION})"


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named on the line: the first word that is not an option (meshspec has no options that
    take a value before the command)."""
    return next((word for word in argv if not word.startswith("-")), None)


def console() -> NoReturn:
    """The `meshspec` command: main(), then exit; without the interpreter's teardown when the command left
    data for exit (cli/command.py), or when the output cannot be flushed (nothing more can be written)."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left, as main() takes it
        os._exit(code)
    except OSError as exc:
        os._exit(_io_error(_command_in(sys.argv[1:]) or "", exc))
    if LEFT_FOR_EXIT:
        os._exit(code)
    sys.exit(code)


def _io_error(command: str, exc: OSError) -> int:
    try:
        print(f"meshspec {command}: error: {exc.filename or 'the output'}: {exc.strerror or exc}", file=sys.stderr,
              flush=True)
    except OSError:
        pass
    return EXIT_IO


def main(argv: Sequence[str] | None = None) -> int:
    LEFT_FOR_EXIT.clear()
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = _command_in(argv)
    # A line that starts with a known command parses the same without the others' subparsers (each costs
    # an ArgumentParser and its gettext look-ups, about 0.5 ms); only top-level options before it, such as
    # -h, and an unknown command print the list of commands.
    known = selected in COMMANDS
    parser = build_parser(selected if known else "", alone=known and argv[0] == selected)
    args = parser.parse_args(argv)  # exits 2 on usage errors
    # meshspec builds large trees of small objects and few cycles: the cyclic GC spent up to 70% of large
    # runs walking them, for nothing. A command is short-lived; the GC is back on when it returns.
    gc.disable()
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"meshspec {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # the system refused a write (a full disk, a folder not writable): not a bug
        return _io_error(args.command, exc)
    except Exception as exc:  # a bug in meshspec: say so plainly, keep the traceback for those who ask
        if os.environ.get("MESHSPEC_DEBUG"):
            raise
        print(f"meshspec {args.command}: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in meshspec; rerun with MESHSPEC_DEBUG=1 for the traceback and report it.",
              file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        gc.enable()
