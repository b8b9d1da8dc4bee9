"""adapters/processes.py: groups run in forked children come back whole and in order, and a child that fails
costs time, never a result. Whatever forks runs in a fresh interpreter (test_forks_in_a_fresh_interpreter):
a fork copies only the calling thread, and the test process may have others."""

import io
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshspec.adapters.processes import Forked, ForkedText, can_fork, map_groups, split
from tests.support import ROOT


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 1000), max_size=40), st.integers(1, 8),
       st.sampled_from([1.0, 1.15, 2.0]))
def test_split_covers_the_items_in_order_with_as_many_groups_as_asked(weights, parts, first):
    items = list(range(len(weights)))
    groups = split(items, weights, parts, first)
    assert [i for g in groups for i in g] == items
    assert all(groups) and len(groups) == min(parts, len(items))


def test_split_balances_by_weight_and_gives_the_first_group_its_share():
    assert split(list("abcdef"), [1] * 6, 2) == [list("abc"), list("def")]
    assert split(list("abcdef"), [1] * 6, 3) == [list("ab"), list("cd"), list("ef")]
    assert split(list("abcd"), [10, 1, 1, 10], 2) == [list("ab"), list("cd")]
    assert split(list("abcdefghij"), [1] * 10, 2, first=1.5) == [list("abcdef"), list("ghij")]
    with pytest.raises(ValueError):
        split([1, 2], [1], 2)


def test_without_fork_everything_runs_here(monkeypatch):
    monkeypatch.setattr("meshspec.adapters.processes.can_fork", lambda: False)
    assert Forked(os.getpid).result() == os.getpid()
    assert map_groups(lambda g: [x * 2 for x in g], [[1, 2], [3], [4, 5]]) == [2, 4, 6, 8, 10]
    out = io.StringIO()
    ForkedText(lambda write: write("héllo"), out).write_to(out)
    assert out.getvalue() == "héllo"


CHILD_SCRIPT = r'''
import io, os, signal, sys, threading
from meshspec.adapters.processes import Forked, ForkedText, can_fork, map_groups

me = os.getpid()
assert can_fork()

# The value comes from the child.
child = Forked(os.getpid)
pid = child.result()
assert pid != me, "not forked"

# Results in order, each other group from its own child.
assert map_groups(lambda g: [(x, os.getpid() == me) for x in g], [[1, 2], [3], [4]]) == \
    [(1, True), (2, True), (3, False), (4, False)]

# A child killed (say, by the OOM killer) costs time, not the result: this process does the work again.
def killed_in_child():
    if os.getpid() != me:
        os.kill(os.getpid(), signal.SIGKILL)
    return "done here"
assert Forked(killed_in_child).result() == "done here"

# A task that raises raises here, as without children.
def fails():
    raise LookupError(os.getpid() == me)
try:
    Forked(fails).result()
except LookupError as exc:
    assert exc.args == (True,), exc.args
else:
    raise AssertionError("no error")

# Text: through sendfile to a real file, as it is, after what this process wrote before it.
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("head|")
    part = ForkedText(lambda write: [write(f"{i}é,") for i in range(100000)], out)
    out.write("mine|")
    part.write_to(out)
    out.write("|tail")
with open(sys.argv[1], encoding="utf-8") as written:
    assert written.read() == "head|mine|" + "".join(f"{i}é," for i in range(100000)) + "|tail"

# Into a stream without a file descriptor, and one that refuses the text: as if written here.
buffer = io.StringIO()
ForkedText(lambda write: write("é" * 3), buffer).write_to(buffer)
assert buffer.getvalue() == "ééé"
strict = io.TextIOWrapper(io.BytesIO(), "ascii", "strict")
try:
    ForkedText(lambda write: write("é"), strict).write_to(strict)
except UnicodeEncodeError:
    pass
else:
    raise AssertionError("encoded")

# close() stops a child still running, and leaves no zombie.
slow = Forked(lambda: signal.pause())
slow.close()
try:
    os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    pass
else:
    raise AssertionError("a child is left")

# With another thread running, nothing forks.
stop = threading.Event()
worker = threading.Thread(target=stop.wait)
worker.start()
assert not can_fork() and Forked(os.getpid).result() == me
stop.set()
worker.join()
print("ok")
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes fork on Linux only")
def test_forks_in_a_fresh_interpreter(tmp_path):
    done = subprocess.run([sys.executable, "-c", CHILD_SCRIPT, str(tmp_path / "out.txt")], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


def test_can_fork_is_false_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not can_fork()
