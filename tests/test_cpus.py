"""usable_cpus (ebi_mapper/cpus.py): the affinity mask capped by a cgroup CPU quota, read from fake cgroup trees."""

from __future__ import annotations

import os

import pytest

from ebi_mapper.cpus import cgroup_cpu_limit, usable_cpus

AFFINITY = len(os.sched_getaffinity(0))


def _tree(tmp_path, proc: str, files: dict[str, str]):
    (tmp_path / "proc").write_text(proc)
    root = tmp_path / "cg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(exist_ok=True)
    return {"cgroup_root": str(root), "proc_cgroup": str(tmp_path / "proc")}


@pytest.mark.parametrize(("proc", "files", "limit"), [
    ("0::/\n", {"cpu.max": "max 100000\n"}, None),  # v2, no quota
    ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),  # v2 at the root a container sees
    ("0::/kubepods/pod1/ctr\n", {"kubepods/pod1/ctr/cpu.max": "max 100000", "kubepods/pod1/cpu.max": "50000 100000"}, 0.5),  # a parent's limit binds
    ("0::/kubepods/pod1/ctr\n", {"kubepods/pod1/ctr/cpu.max": "300000 100000", "cpu.max": "max 100000"}, 3.0),
    ("0::/elsewhere\n", {"cpu.max": "200000 100000"}, 2.0),  # the path is the host's: the mount's root still counts
    ("4:cpu,cpuacct:/docker/abc\n", {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "250000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"}, 2.5),
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),  # v1, no quota
    ("0::/\n", {"cpu.max": "lots of cpu"}, None),  # unreadable: no quota
    ("garbage\n", {}, None),
])
def test_the_quota_is_read_from_either_cgroup_version(tmp_path, proc, files, limit):
    paths = _tree(tmp_path, proc, files)
    assert cgroup_cpu_limit(**paths) == limit
    expected = AFFINITY if limit is None else max(1, min(AFFINITY, int(limit)))
    assert usable_cpus(**paths) == expected


def test_no_cgroup_file_means_no_quota(tmp_path):
    assert cgroup_cpu_limit(cgroup_root=str(tmp_path), proc_cgroup=str(tmp_path / "missing")) is None
    assert usable_cpus(cgroup_root=str(tmp_path), proc_cgroup=str(tmp_path / "missing")) == AFFINITY


def test_a_quota_under_one_cpu_still_leaves_one(tmp_path):
    paths = _tree(tmp_path, "0::/\n", {"cpu.max": "20000 100000"})
    assert usable_cpus(**paths) == 1


def test_a_cgroup_file_that_is_not_text_means_no_quota(tmp_path):
    (tmp_path / "proc").write_bytes(b"0::/\xff\xfe\n")
    assert cgroup_cpu_limit(cgroup_root=str(tmp_path), proc_cgroup=str(tmp_path / "proc")) is None
