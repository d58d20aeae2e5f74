"""Resource limits for a learner's kernel, and the processes it leaves behind.

The grader starts each kernel through this module's launcher
(``python -m coursekit.grading.limits [limits] -- KERNEL_COMMAND``), which sets
the limits on itself and then replaces itself by the kernel, so the kernel and
everything it starts inherit them:

- ``RLIMIT_AS``: address space (``memory_mb``); an allocation past it fails
  (``MemoryError`` / torch's "can't allocate memory") instead of swapping the
  machine to death;
- ``RLIMIT_CPU``: CPU seconds of the kernel process (``cpu_seconds``), past
  which it is killed (then graded as a kernel death);
- ``RLIMIT_FSIZE``: the largest file it may write (``file_mb``);
- ``RLIMIT_NPROC``: processes and threads of the kernel's user (``processes``
  more than that user runs when the kernel starts). Linux never enforces it
  for root; as root the launcher instead puts the kernel in a cgroup of its
  own whose ``pids.max`` is ``processes`` (cgroup v1 or v2, when the cgroup
  file system is writable), removed when the kernel is gone;

Each kernel gets a random token in its environment; after every cell the
grader kills every process whose environment holds it except the kernel
itself (:func:`reap`): a process forked to outlive a cell does not.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

TOKEN_VAR = "COURSEKIT_GRADE_TOKEN"


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 6144  # address space; torch alone maps about 3.5 GB of it
    cpu_seconds: int = 1800  # of the whole kernel process
    file_mb: int = 512
    processes: int = 128  # processes + threads, beyond what the kernel's user already runs

    def launcher(self, token: str, python: str = sys.executable) -> list[str]:
        """The command prefix that starts a kernel command under these limits (none off POSIX systems)."""
        if os.name != "posix":
            return []
        argv = [python, "-m", "coursekit.grading.limits", "--memory-mb", str(self.memory_mb),
                "--cpu-seconds", str(self.cpu_seconds), "--file-mb", str(self.file_mb),
                "--processes", str(self.processes), "--token", token]
        return argv + ["--"]


# --------------------------------------------------------------------- cgroups

CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))  # v1 pids controller, v2 unified


def cgroup_of(token: str) -> Path | None:
    """Where the kernel's own pids cgroup goes, or None (not root, no pids controller, not writable)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for root in CGROUP_ROOTS:
        v1 = root.name == "pids" and (root / "tasks").exists()
        v2 = "pids" in _read(root / "cgroup.subtree_control").split()
        if (v1 or v2) and os.access(root, os.W_OK):
            return root / f"coursekit-grade-{token}"
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def enter_cgroup(token: str, processes: int) -> bool:
    """Create the kernel's cgroup with ``pids.max = processes`` and move this process into it."""
    group = cgroup_of(token)
    if group is None:
        return False
    try:
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(processes))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return False
    return True


def remove_cgroup(token: str) -> None:
    """Remove the kernel's cgroup (once its processes are gone)."""
    group = cgroup_of(token)
    if group is not None and group.is_dir():
        try:
            group.rmdir()
        except OSError:
            pass


# ------------------------------------------------------------------ processes


def _processes() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def tasks_of(uid: int) -> int:
    """Processes and threads whose real user is ``uid`` (what RLIMIT_NPROC counts)."""
    count = 0
    for pid in _processes():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1").strip())
    return count


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def carrying(token: str) -> list[int]:
    """Live processes whose environment holds ``TOKEN_VAR=token`` (a kernel and what it started)."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found = []
    for pid in _processes():
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") and not _zombie(pid):
                found.append(pid)
        except OSError:
            continue
    return found


def reap(token: str, keep: int | None = None) -> int:
    """Kill (SIGKILL) every live process carrying ``token`` except ``keep``; how many were killed."""
    if not Path("/proc").is_dir():
        return 0
    killed: set[int] = set()
    for _ in range(20):  # again while a dying fork loop still forks
        victims = [pid for pid in carrying(token) if pid != keep and pid != os.getpid()]
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
    return len(killed)


# ------------------------------------------------------------------- launcher


def _set(name: str, value: int) -> None:
    """Set the soft and hard limit ``name`` (e.g. "RLIMIT_AS") to ``value`` where the system supports it."""
    import resource

    limit = getattr(resource, name, None)
    if limit is None:
        return
    soft, hard = resource.getrlimit(limit)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    try:
        resource.setrlimit(limit, (value, value))
    except (OSError, ValueError):  # e.g. macOS refuses to lower RLIMIT_AS: the kernel runs without that limit
        pass


def apply(limits: Limits, token: str) -> None:
    """Enter the kernel's pids cgroup (as root), then set the limits on this process."""
    enter_cgroup(token, limits.processes)
    mb = 2**20
    _set("RLIMIT_AS", limits.memory_mb * mb)
    _set("RLIMIT_CPU", limits.cpu_seconds)
    _set("RLIMIT_FSIZE", limits.file_mb * mb)
    if Path("/proc").is_dir():  # the user's current count is needed; without /proc, no process limit
        _set("RLIMIT_NPROC", tasks_of(os.getuid()) + limits.processes)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="python -m coursekit.grading.limits")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    limits = Limits(args.memory_mb, args.cpu_seconds, args.file_mb, args.processes)
    apply(limits, args.token)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
