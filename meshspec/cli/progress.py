"""Progress on a terminal while commands wait on clusters."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Sequence, TextIO


class ProgressLines:
    """One status line per cluster, rewritten in place on a terminal (a single summary line when they do
    not fit); nothing at all when `stream` is not a terminal. Called from worker threads."""

    FINAL = ("done", "unreachable")

    def __init__(self, clusters: Sequence[str], stream: TextIO):
        self.stream = stream
        self.enabled = stream.isatty()
        self.states = {c: "waiting" for c in clusters}
        self.height = 0  # lines on screen
        self.lock = threading.Lock()

    def __call__(self, cluster: str, state: str) -> None:
        if not self.enabled:
            return
        with self.lock:
            if self.states.get(cluster) in self.FINAL:
                return
            self.states[cluster] = state
            self._draw(self._lines())

    def close(self) -> None:
        """Erase the display: the report follows."""
        if self.enabled and self.height:
            with self.lock:
                self.stream.write(f"\x1b[{self.height}F\x1b[0J")
                self.stream.flush()
                self.height = 0

    def _lines(self) -> list[str]:
        try:
            room = os.get_terminal_size(self.stream.fileno()).lines - 2
        except (OSError, ValueError, AttributeError):
            room = 20
        if len(self.states) <= room:
            width = max(len(c) for c in self.states)
            return [f"  {c.ljust(width)}  {s}" for c, s in self.states.items()]
        counts = Counter(self.states.values())
        return ["  " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))]

    def _draw(self, lines: list[str]) -> None:
        up = f"\x1b[{self.height}F" if self.height else ""
        self.stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines) + "\x1b[0J")
        self.stream.flush()
        self.height = len(lines)
