"""Work split over forked processes: simulate reads a fleet's state (100s of MB of JSON) and writes its routing
(100s of MB more) in a few processes at once. The pure core does not know: analysis and formats take plain
functions over one group of items, and this module runs those groups side by side.

A group runs in a child made by os.fork (Linux only: it inherits every loaded module and the parent's data
for free, and nothing is re-imported), whose one result comes back through an in-memory file: pickled, or
text to be copied to the output as it is. Nothing here changes a result: the groups are contiguous, results
come back in order, and a child that fails in any way (killed, out of memory, an exception) is replaced by
running its group again in this process, which then fails, or not, as a single process would. Children
never write to the terminal."""

from __future__ import annotations

import errno
import io
import os
import pickle
import signal
import sys
from typing import BinaryIO, Callable, Generic, Sequence, TextIO, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as a container's cpuset limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Linux with no other thread running: a fork copies only the calling thread, so a child of a process
    with threads could find a lock held forever."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")  # not imported here: the CLI does not load it
    return threading is None or threading.active_count() <= 1


def split(items: Sequence[T], weights: Sequence[float], parts: int, first: float = 1.0) -> list[Sequence[T]]:
    """`items` cut into at most `parts` contiguous, non-empty groups of about equal total weight, except that the
    first group's is `first` times the others' (it runs in this process: the others' results must also be
    pickled and brought back)."""
    if len(weights) != len(items):
        raise ValueError("one weight per item")
    parts = max(1, min(parts, len(items)))
    unit = (float(sum(weights)) or 1.0) / (first + parts - 1)
    groups: list[Sequence[T]] = []
    start, done = 0, 0.0
    for i, weight in enumerate(weights):
        done += weight
        left = parts - len(groups) - 1  # groups still to start after this one
        if left and (done >= unit * (first + len(groups)) or len(items) - i - 1 == left):
            groups.append(items[start:i + 1])
            start = i + 1
    groups.append(items[start:])
    return [g for g in groups if len(g)]


class _Child:
    """A forked child writing into an anonymous in-memory file, not a pipe: it writes everything without
    waiting for the parent to read (through a pipe, simulate's 168 MB moved at a third of memory speed)."""

    def __init__(self, work: Callable[[BinaryIO], None]):
        self.pid: int | None = None
        self.file: int | None = None
        if not can_fork():
            return
        for stream in (sys.stdout, sys.stderr):  # or the child would hold a copy of what is not written yet
            stream.flush()
        try:
            file = os.memfd_create("meshspec-part", os.MFD_CLOEXEC)
        except OSError:  # a kernel or sandbox without memfd: the work is done in this process
            return
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory, for now: the same
            os.close(file)
            return
        if pid == 0:  # the child: never returns
            code = 1
            try:
                with open(file, "wb", closefd=False) as out:
                    work(out)
                code = 0
            except BaseException:  # the parent does the work again itself, and reports what it raises
                pass
            finally:
                os._exit(code)  # no atexit handlers, no buffered output of the parent's written twice
        self.pid, self.file = pid, file

    def finished(self) -> int | None:
        """Wait for the child: the file it wrote, rewound, or None (no child, or it failed: killed, out of
        memory, an exception). The caller closes the file."""
        if self.pid is None:
            return None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        file, self.file = self.file, None
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            os.close(file)
            return None
        os.lseek(file, 0, os.SEEK_SET)  # the child's writes moved the offset it shares with this process
        return file

    def close(self) -> None:
        """Stop the child if it still runs (the parent gave up: an error, ^C)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - it had already exited
                pass
            os.waitpid(self.pid, 0)
            self.pid = None
        if self.file is not None:
            os.close(self.file)
            self.file = None


class Forked(Generic[R]):
    """`task()` running in a forked child; `result()` waits for it and returns its value, pickled across. Where
    fork is not to be used, or the child fails, the task runs in this process when the result is asked for."""

    def __init__(self, task: Callable[[], R]):
        self._task = task
        self._child = _Child(lambda out: pickle.dump(task(), out, protocol=pickle.HIGHEST_PROTOCOL))

    def result(self) -> R:
        file = self._child.finished()
        if file is None:
            return self._task()
        with open(file, "rb", closefd=True) as written:
            return pickle.load(written)

    def close(self) -> None:
        self._child.close()


class ForkedText:
    """`task(write)` writing text in a forked child, into memory; `write_to(out)` waits for it and copies that
    text to `out` (sendfile: the bytes never pass through this process). Where fork is not to be used, or the
    child fails, the task writes to `out` itself then: the same text either way."""

    def __init__(self, task: Callable[[Callable[[str], object]], None], out: TextIO):
        self._task = task
        self._encoding, self._errors = out.encoding or "utf-8", out.errors or "strict"
        self._child = _Child(self._run)

    def _run(self, binary: BinaryIO) -> None:
        text = io.TextIOWrapper(binary, self._encoding, self._errors, newline="\n", write_through=False)
        self._task(text.write)
        text.flush()
        text.detach()

    def write_to(self, out: TextIO) -> None:
        file = self._child.finished()
        if file is None:
            self._task(out.write)
            return
        try:
            size = os.fstat(file).st_size
            out.flush()
            if not _sendfile(file, size, out):
                with open(file, "rb", closefd=False) as written:
                    out.write(written.read().decode(self._encoding, self._errors))
        finally:
            os.close(file)

    def close(self) -> None:
        self._child.close()


def _sendfile(file: int, size: int, out: TextIO) -> bool:
    """`size` bytes of `file` sent to the descriptor under `out`; False when `out` has none (a StringIO), or
    sendfile cannot write there and nothing was sent yet."""
    try:
        target = out.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False
    sent = 0
    while sent < size:
        try:
            done = os.sendfile(target, file, sent, size - sent)
        except OSError as exc:
            if sent or exc.errno not in (errno.EINVAL, errno.ENOSYS):
                raise
            return False
        if not done:  # pragma: no cover - the file is shorter than its size said
            raise OSError(errno.EIO, "the child's output ended early")
        sent += done
    return True


def map_groups(task: Callable[[Sequence[T]], list[R]], groups: Sequence[Sequence[T]]) -> list[R]:
    """task(group) for every group, concatenated in order: the first group in this process, each other one in
    a forked child started before it."""
    if len(groups) <= 1:
        return task(groups[0]) if groups else []
    children = [Forked(lambda g=g: task(g)) for g in groups[1:]]
    try:
        results = task(groups[0])
        for child in children:
            results.extend(child.result())
        return results
    finally:
        for child in children:
            child.close()
