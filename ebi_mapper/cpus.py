"""How many CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

Why a module of its own: ``map --workers 0``/``auto`` and ``run --map-process auto`` both size
themselves by it, and a container is usually limited by a *quota* (Kubernetes ``limits.cpu``,
``docker --cpus``), which neither ``os.cpu_count()`` nor the affinity mask shows: a pod limited to
one CPU on a 16-core node would otherwise start 16 mapping processes that take turns on one CPU.
The quota is read the way Go's ``automaxprocs`` reads it: cgroup v2 ``cpu.max`` (``"max 100000"``
or ``"150000 100000"``) along the process's cgroup path up to the root, the smallest limit
winning; or cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (``-1``: none). A fractional
quota rounds down, never below one. Anything unreadable means no quota. Proven by tests/test_cpus.py.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["cgroup_cpu_limit", "usable_cpus"]


def usable_cpus(*, cgroup_root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> int:
    """The CPUs this process may run on (affinity mask), capped by its cgroup CPU quota; at least 1."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_limit(cgroup_root=cgroup_root, proc_cgroup=proc_cgroup)
    if quota is None:
        return max(1, affinity)
    return max(1, min(affinity, math.floor(quota)))


def cgroup_cpu_limit(*, cgroup_root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in CPUs (1.5 = one and a half), or ``None`` when there is none."""
    try:
        lines = Path(proc_cgroup).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    root = Path(cgroup_root)
    limits: list[float] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":  # cgroup v2: one unified tree
            limits += _v2_limits(root, path)
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own tree
            for mount in (root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu"):
                if mount.is_dir():
                    limits += _v1_limits(mount, path)
                    break
    return min(limits) if limits else None


def _walk(base: Path, path: str) -> list[Path]:
    """The cgroup's directory and every parent up to the mount (a container often sees only the mount's root)."""
    rel = Path(path.strip().lstrip("/")) if path.strip() not in ("", "/") else Path()
    dirs = []
    while True:
        candidate = base / rel
        if candidate.is_dir():
            dirs.append(candidate)
        if rel == Path() or str(rel) == ".":
            break
        rel = rel.parent
    return dirs


def _v2_limits(root: Path, path: str) -> list[float]:
    out = []
    for d in _walk(root, path):
        try:
            quota, _, period = (d / "cpu.max").read_text(encoding="utf-8").strip().partition(" ")
            if quota != "max" and float(period or 100000) > 0:
                out.append(float(quota) / float(period or 100000))
        except (OSError, ValueError):
            continue
    return out


def _v1_limits(mount: Path, path: str) -> list[float]:
    out = []
    for d in _walk(mount, path):
        try:
            quota = int((d / "cpu.cfs_quota_us").read_text(encoding="utf-8").strip())
            period = int((d / "cpu.cfs_period_us").read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            continue
        if quota > 0 and period > 0:
            out.append(quota / period)
    return out
