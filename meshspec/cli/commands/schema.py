"""meshspec schema: the mesh spec's JSON Schema (draft 2020-12), for editors and other tools."""

from __future__ import annotations

import argparse
import sys

from ..status import EXIT_OK

DESCRIPTION = ("Print the JSON Schema (draft 2020-12) of the mesh spec, generated from the structure `meshspec "
               "validate` checks, with a description of every field. Point yaml-language-server at it with "
               "`# yaml-language-server: $schema=mesh.schema.json` as the spec's first line.")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION


def run(args: argparse.Namespace) -> int:
    from ...formats.schema import json_schema, to_json

    sys.stdout.write(to_json(json_schema()))
    return EXIT_OK
