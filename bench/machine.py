"""What machine a benchmark ran on, and where its files went: shared by the bench scripts."""

from __future__ import annotations

import os
import platform
import tempfile


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")),
                        platform.machine())
    except OSError:
        return platform.processor() or platform.machine()


def describe() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{os.cpu_count()} cores ({cpu_name()}), Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}; "
            f"load average at start {load}")


def fs_type(path: str) -> str:
    """The file system a path lives on (the longest matching mount point), e.g. tmpfs or ext4."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def default_scratch_dir() -> str:
    """tmpfs when there is one: on this project's machine, disk write times varied 3-45 s between runs."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and fs_type("/dev/shm") == "tmpfs" else tempfile.gettempdir()
