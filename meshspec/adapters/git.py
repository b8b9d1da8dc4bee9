"""git, the one place meshspec runs it: a spec as it is at a revision."""

from __future__ import annotations

import subprocess

GIT = "git:"


class GitError(Exception):
    """The reference is malformed, or git could not show it; the message says which."""


def git_show(ref: str) -> bytes:
    """The content of `git show REV:PATH` for ref `git:REV:PATH`, run in the current directory."""
    rev, sep, path = ref[len(GIT):].partition(":")
    if not (rev and sep and path) or rev.startswith("-"):
        raise GitError(f"{ref}: write git:REV:PATH, e.g. git:origin/main:examples/mesh.yaml")
    try:
        done = subprocess.run(["git", "show", "--no-textconv", f"{rev}:{path}"], capture_output=True)
    except OSError as exc:
        raise GitError(f"{ref}: cannot run git: {exc.strerror}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"git show exited with {done.returncode}"
        raise GitError(f"{ref}: {message}")
    if done.stdout.startswith(f"tree {rev}:".encode()):  # how git show prints a folder
        raise GitError(f"{ref} is a folder; give the mesh spec file")
    return done.stdout
