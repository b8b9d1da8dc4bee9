"""meshspec completion bash|zsh|fish: a shell completion script, generated from the parser."""

from __future__ import annotations

import argparse
import sys

from ..status import EXIT_OK

SHELLS = ("bash", "zsh", "fish")
DESCRIPTION = ("Print a completion script for SHELL. bash: `source <(meshspec completion bash)` (in ~/.bashrc); "
               "zsh: `meshspec completion zsh > \"${fpath[1]}/_meshspec\"`; fish: "
               "`meshspec completion fish > ~/.config/fish/completions/meshspec.fish`.")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")


def run(args: argparse.Namespace) -> int:
    from ..completion import SCRIPTS
    from ..main import build_parser

    sys.stdout.write(SCRIPTS[args.shell](build_parser()))
    return EXIT_OK
