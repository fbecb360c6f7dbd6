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
        return _limit(Path(cgroup_root), Path(proc_cgroup).read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError):  # unreadable, not UTF-8, a directory we may not look into: no quota known
        return None


def _limit(root: Path, lines: list[str]) -> float | None:
    limits: list[float] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":  # cgroup v2: one unified tree
            limits += [q for d in _walk(root, path) if (q := _v2_quota(d)) is not None]
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own tree
            mount = next((m for m in (root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu") if m.is_dir()), None)
            if mount is not None:
                limits += [q for d in _walk(mount, path) if (q := _v1_quota(d)) is not None]
    return min(limits) if limits else None


def _walk(base: Path, path: str) -> list[Path]:
    """The cgroup's directory and every parent up to the mount (a container often sees only the mount's root)."""
    rel = Path(path.strip().lstrip("/"))  # "/" and "" are the mount itself (Path("") == Path("."))
    return [base / p for p in (rel, *rel.parents) if (base / p).is_dir()]


def _v2_quota(d: Path) -> float | None:
    try:
        quota, _, period = (d / "cpu.max").read_text(encoding="utf-8").strip().partition(" ")
        per = float(period or 100000)
        return float(quota) / per if quota != "max" and per > 0 else None
    except (OSError, ValueError):
        return None


def _v1_quota(d: Path) -> float | None:
    try:
        quota = int((d / "cpu.cfs_quota_us").read_text(encoding="utf-8").strip())
        period = int((d / "cpu.cfs_period_us").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None
