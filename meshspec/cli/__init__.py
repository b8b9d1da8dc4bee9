"""The `meshspec` command. main() is its entry point."""

from .main import main

__all__ = ["main"]
