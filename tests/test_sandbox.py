"""The sandbox's limits: which mechanism is chosen from what a machine offers, the command line it builds, and,
where the tests run as root, the real disk quota and memory cgroup (each a fraction of a second)."""
import os
import resource
import subprocess
import sys
import time

import pytest

from grader import sandbox
from grader.sandbox import Cgroups, Limits, find_cgroups

ROOT = os.geteuid() == 0


def files(root, tree):
    for rel, text in tree.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_cgroup_v2_when_the_unified_hierarchy_is_mounted_with_its_controllers_enabled(tmp_path):
    files(tmp_path, {"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
                     "cgroup.subtree_control": "cpu memory pids\n", "cgroup.procs": ""})
    assert find_cgroups(tmp_path) == Cgroups(2, (("memory", tmp_path), ("pids", tmp_path)))


def test_cgroup_v2_uses_only_the_controllers_enabled_below_its_root(tmp_path):
    files(tmp_path, {"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "pids\n"})
    assert find_cgroups(tmp_path) == Cgroups(2, (("pids", tmp_path),))
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    assert find_cgroups(tmp_path) is None


def test_cgroup_v1_hierarchies_per_controller(tmp_path):
    # as on a hybrid system: v1 controllers, and a v2 hierarchy under unified/ that holds none of them
    files(tmp_path, {"memory/cgroup.procs": "", "memory/memory.limit_in_bytes": "", "pids/cgroup.procs": "",
                     "cpu/cgroup.procs": "", "unified/cgroup.controllers": "hugetlb\n"})
    assert find_cgroups(tmp_path) == Cgroups(1, (("memory", tmp_path / "memory"), ("pids", tmp_path / "pids")))
    assert find_cgroups(tmp_path).folder("memory", "k") == tmp_path / "memory" / "k"


def test_no_cgroups_without_memory_or_pids(tmp_path):
    files(tmp_path, {"cpu/cgroup.procs": ""})
    assert find_cgroups(tmp_path) is None
    assert find_cgroups(tmp_path / "absent") is None


@pytest.mark.parametrize("version", [1, 2])
def test_joining_writes_the_limits_then_this_process(tmp_path, version):
    groups = find_cgroups(files(tmp_path, {"cgroup.controllers": "memory pids", "cgroup.subtree_control": "memory pids"}
                                if version == 2 else {"memory/cgroup.procs": "", "pids/cgroup.procs": ""}))
    assert groups.join("k", 6 << 30, 256) == {"memory", "pids"}
    read = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("k/*")}
    pid = str(os.getpid())
    if version == 2:
        assert read == {"k/memory.max": str(6 << 30), "k/memory.swap.max": "0", "k/pids.max": "256",
                        "k/cgroup.procs": pid}
    else:
        assert read == {"memory/k/memory.limit_in_bytes": str(6 << 30), "memory/k/memory.memsw.limit_in_bytes":
                        str(6 << 30), "memory/k/cgroup.procs": pid, "pids/k/pids.max": "256", "pids/k/cgroup.procs": pid}
    for group in groups.folders("k"):  # a real cgroup folder can be removed with its files in it; these cannot
        for f in group.iterdir():
            f.unlink()
    assert groups.remove("k") and not any(tmp_path.rglob("k")) and groups.remove("k")


@pytest.mark.parametrize("version,name,text,killed", [
    (1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", True),
    (1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", False),
    (1, "memory.failcnt", "3\n", True),  # before Linux 4.13 oom_control has no oom_kill
    (2, "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n", True),
    (2, "memory.events", "low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n", False),
    (2, "absent", "", False),
])
def test_out_of_memory_reads_the_oom_killers_count(tmp_path, version, name, text, killed):
    folder = tmp_path if version == 2 else tmp_path / "memory"
    files(folder, {f"k/{name}": text})
    if name == "memory.failcnt":
        files(folder, {"k/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n"})
    groups = Cgroups(version, (("memory", folder), ("pids", folder)))
    assert groups.out_of_memory("k") is killed
    assert Cgroups(version, (("pids", folder),)).out_of_memory("k") is False


@pytest.fixture
def box(monkeypatch):
    """sandbox.command as bubblewrap would have it, whether or not bubblewrap works here."""
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    return lambda workdir, limits=Limits(): sandbox.command(["python", "-m", "ipykernel_launcher"], workdir,
                                                            {"HOME": str(workdir)}, limits, cgroup="grader-k")


def pairs(argv, flag):
    return [argv[i + 1:i + 3] for i, a in enumerate(argv) if a == flag]


def test_command_with_a_scratch_quota_binds_its_tmp_folder_as_tmp_before_the_folder(box, tmp_path, monkeypatch):
    workdir = tmp_path / "run"
    (workdir / sandbox.SCRATCH_TMP).mkdir(parents=True)
    monkeypatch.setattr(os.path, "ismount", lambda p: os.fspath(p) == str(workdir))
    argv = box(workdir)
    assert argv[:6] == [sys.executable, "-m", "grader.sandbox", f"{6 << 30},960,{256 << 20},256", "grader-k", "--"]
    binds = pairs(argv, "--bind")
    assert binds == [[str(workdir / ".tmp"), "/tmp"], [str(workdir), str(workdir)]]  # /tmp first: workdir may be in it
    assert "--tmpfs" not in argv and "--size" not in argv


def test_command_without_a_scratch_quota_sizes_its_own_tmpfs(box, tmp_path):
    workdir = tmp_path / "run"
    (workdir / sandbox.SCRATCH_TMP).mkdir(parents=True)  # a folder of that name is not a quota
    argv = box(workdir, Limits(disk=100 << 20))
    i = argv.index("--tmpfs")
    assert argv[i - 2:i + 2] == ["--size", str(100 << 20), "--tmpfs", "/tmp"]
    assert pairs(argv, "--bind") == [[str(workdir), str(workdir)]]


def test_summary_names_each_mechanism(monkeypatch):
    v1 = Cgroups(1, (("memory", sandbox.CGROUP_ROOT / "memory"), ("pids", sandbox.CGROUP_ROOT / "pids")))
    monkeypatch.setattr(sandbox, "kernel_cgroups", lambda: v1)
    monkeypatch.setattr(sandbox, "can_mount", lambda: True)
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox, "gpu_visible", lambda: True)  # a GPU changes nothing under a memory cgroup
    monkeypatch.setenv("GRADER_KERNELS", "cold")
    assert sandbox.summary(Limits()) == ("kernels: bubblewrap; limits: memory cgroup v1 6 GiB (tmpfs counted), disk "
                                         "tmpfs 512 MiB for the scratch folder and /tmp, pids 256, CPU 960 s")
    monkeypatch.setattr(sandbox, "warm", lambda: True)
    assert sandbox.summary(Limits()).startswith("kernels: forked warm from a fork server; limits: memory cgroup v1")
    monkeypatch.setattr(sandbox, "kernel_cgroups", lambda: None)
    monkeypatch.setattr(sandbox, "can_mount", lambda: False)
    line = sandbox.summary(Limits())
    assert "memory UNLIMITED (a GPU is visible" in line and "the scratch folder only has the per-file limit" in line
    monkeypatch.setattr(sandbox, "gpu_visible", lambda: False)
    assert "memory 6 GiB of address space (RLIMIT_AS" in sandbox.summary(Limits())


@pytest.mark.skipif(not ROOT, reason="mounting needs root")
def test_the_scratch_quota_is_a_tmpfs_that_ends_in_the_writers_enospc(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    assert sandbox.mount_scratch(folder, Limits(disk=4 << 20))
    try:
        assert os.path.ismount(folder) and (folder / sandbox.SCRATCH_TMP).is_dir()
        with pytest.raises(OSError) as error, open(folder / sandbox.SCRATCH_TMP / "fill", "wb") as f:
            for _ in range(8):
                f.write(bytes(1 << 20))
                f.flush()
        assert error.value.errno == 28  # ENOSPC
        assert (folder / sandbox.SCRATCH_TMP / "fill").stat().st_size <= 4 << 20
    finally:
        sandbox.unmount_scratch(folder)
    assert not os.path.ismount(folder) and not any(folder.iterdir())
    sandbox.unmount_scratch(folder)  # twice, or on a plain folder: nothing happens


def test_no_quota_without_root(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not sandbox.mount_scratch(tmp_path, Limits())


def limits_inside(cgroup, limits):
    """What a process started by ``python -m grader.sandbox`` sees: its address-space limit and cgroups."""
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0]); print(open('/proc/self/cgroup').read())"
    argv = sandbox.command([sys.executable, "-c", code], os.getcwd(), dict(os.environ), limits, cgroup=cgroup)
    confined = argv[:argv.index("--") + 1] + [sys.executable, "-c", code]  # the launcher alone, without bubblewrap
    out = subprocess.run(confined, capture_output=True, text=True, check=True).stdout
    address_space, cgroups = out.split("\n", 1)
    return int(address_space), cgroups


def test_without_a_memory_cgroup_the_address_space_is_limited_unless_a_gpu_is_visible():
    address_space, _ = limits_inside("", Limits(memory=3 << 30))
    assert address_space == (resource.RLIM_INFINITY if sandbox.gpu_visible() else 3 << 30)


@pytest.mark.skipif("memory cgroup" not in sandbox.mechanisms(), reason="a memory cgroup needs root")
def test_with_a_memory_cgroup_the_kernel_joins_it_and_has_no_address_space_limit():
    """As with a GPU visible: the memory cgroup applies either way, and the address space is never limited."""
    name = sandbox.new_cgroup_name()
    try:
        address_space, cgroups = limits_inside(name, Limits(memory=3 << 30))
        groups = sandbox.kernel_cgroups()
        memory = groups.folder("memory", name)
        assert address_space == resource.RLIM_INFINITY
        assert f"/{name}\n" in cgroups
        assert (memory / ("memory.max" if groups.version == 2 else "memory.limit_in_bytes")).read_text().strip() == str(
            3 << 30)
        assert not sandbox.out_of_memory(name)
    finally:
        assert sandbox.remove_cgroup(name)


@pytest.mark.skipif("pids cgroup" not in sandbox.mechanisms(), reason="cgroups need root")
def test_removing_a_kernels_cgroups_kills_what_is_left_in_them():
    name, limits = sandbox.new_cgroup_name(), Limits()
    argv = sandbox.command(["sleep", "60"], os.getcwd(), {}, limits, cgroup=name)
    launcher = subprocess.Popen(argv[:argv.index("--") + 1] + ["sleep", "60"])  # the launcher alone: it execs sleep
    try:
        folder = sandbox.kernel_cgroups().folders(name)[0]
        for _ in range(200):
            if folder.is_dir() and (folder / "cgroup.procs").read_text().split():
                break
            time.sleep(0.02)
        assert (folder / "cgroup.procs").read_text().split() == [str(launcher.pid)]
        assert sandbox.remove_cgroup(name) and not folder.exists()
        assert launcher.wait(timeout=5) == -9
    finally:
        launcher.kill()
        sandbox.remove_cgroup(name)
