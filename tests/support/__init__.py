"""Helpers the tests share: spec texts, API test servers, the control-plane harness. Tests import from
here, never from each other."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent  # the repository
