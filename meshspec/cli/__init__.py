"""The `meshspec` command. console() is its entry point; main() runs a command line and returns its exit code."""

from .main import console, main

__all__ = ["console", "main"]
