"""Start the grading kernel inside limits: ``python -m autograder.sandbox [options] CONNECTION_FILE``.

Always: caps on address space (memory), CPU time, file size and process count, and the kernel dies with the
grader (parent-death signal). As root (Gradescope, a grading server): a private mount namespace in which the paths
given with --hide (solutions, hidden tests, reference results, other submissions) are covered by empty folders,
then the kernel runs as the unprivileged user nobody. Where the Python installation sits in a folder closed to other
users (a pyenv Python under /root, mode 700), that folder is covered in the namespace by an empty one that nobody
may enter, with only the Python installation, the virtual environment and the course bound back into it. Without
root, or where nobody still cannot read what the kernel needs, the kernel runs as the grader's own user, and the
grader says so in its output.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import os
import resource
import shutil
import signal
import stat
import sys
import sysconfig
import tempfile
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE, MS_BIND, MS_RDONLY, MS_REMOUNT = 0x4000, 0x40000, 0x1000, 0x1, 0x20
MS_NOSUID, MS_NODEV, MNT_DETACH = 0x2, 0x4, 0x2
PR_SET_PDEATHSIG = 1
NOBODY = 65534
COURSE_ROOT = Path(__file__).resolve().parents[1]


def needed_paths() -> list[str]:
    """What the kernel must read: the Python installation, the virtual environment and the course's packages."""
    return sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, COURSE_ROOT)})


@functools.lru_cache(maxsize=1)
def isolation() -> tuple[bool, str]:
    """(whether the kernel can run isolated as nobody, why not); checked once per grader process."""
    if os.geteuid() != 0:
        return False, "the grader does not run as root, so the kernel runs as the grader's own user"
    needed = [os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
              str(COURSE_ROOT / "compresslab")]
    pid = os.fork()
    if pid == 0:  # the child builds the kernel's namespace, checks what nobody may read there, then exits at once
        try:
            private_namespace()
            open_paths(needed_paths())
            _become_nobody()
            readable = all(os.access(path, os.R_OK | os.X_OK) for path in needed)
        except BaseException:
            readable = False
        os._exit(0 if readable else 1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return False, (f"user nobody cannot run this Python ({sys.executable}) even with its folders opened in a "
                       "private mount namespace, so the kernel runs as the grader's own user")
    return True, ""


def _become_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def private_namespace() -> None:
    """Enter a new mount namespace whose mounts do not propagate back to the host."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")


def closed_ancestor(path: str) -> str | None:
    """The topmost folder above ``path`` that other users may not enter, or None."""
    current = Path("/")
    for part in Path(path).parts[1:-1]:
        current = current / part
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return str(current)
    return None


def open_paths(paths: list[str]) -> None:
    """Let other users reach ``paths`` through closed folders: cover each closed folder with an empty tmpfs that
    anyone may enter, and bind only ``paths`` back into it, so the rest of that folder stays out of sight."""
    libc = _libc()
    inside: dict[str, list[str]] = {}
    for path in paths:
        closed = closed_ancestor(path)
        if closed is not None:
            inside.setdefault(closed, []).append(path)
    for closed, wanted in inside.items():
        stage = tempfile.mkdtemp(prefix="autograder-stage-")
        _check(libc.mount(closed.encode(), stage.encode(), None, MS_BIND | MS_REC, None), f"stage {closed}")
        _check(libc.mount(b"tmpfs", closed.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=755"), f"cover {closed}")
        for path in wanted:
            os.makedirs(path, exist_ok=True)
            source = os.path.join(stage, os.path.relpath(path, closed))
            _check(libc.mount(source.encode(), path.encode(), None, MS_BIND | MS_REC, None), f"open {path}")
        _check(libc.umount2(stage.encode(), MNT_DETACH), f"unstage {closed}")
        os.rmdir(stage)


def hide_paths(paths: list[str]) -> None:
    """Cover each existing folder in ``paths`` with an empty, read-only folder (in a private namespace)."""
    libc = _libc()
    empty = tempfile.mkdtemp(prefix="autograder-empty-")
    os.chmod(empty, 0o555)
    for path in paths:
        if os.path.isdir(path):
            target = path.encode()
            _check(libc.mount(empty.encode(), target, None, MS_BIND, None), f"hide {path}")
            _check(libc.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None), f"read-only {path}")


def set_limits(memory_mb: int, cpu_seconds: int, file_mb: int, processes: int) -> None:
    """Resource limits that survive exec and cannot be raised again by the kernel."""
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 2**20, file_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes > 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--cpu-seconds", type=int, default=300)
    parser.add_argument("--file-mb", type=int, default=50)
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--drop-privileges", action="store_true", help="hide paths and run as nobody (needs root)")
    parser.add_argument("connection_file")
    args = parser.parse_args(argv)

    connection_file = args.connection_file
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_") and k != "PYTHONPATH"}
    if args.drop_privileges:
        private_namespace()
        open_paths(needed_paths())
        hide_paths(args.hide)
        home = tempfile.mkdtemp(prefix="autograder-kernel-")
        copy = os.path.join(home, "connection.json")
        shutil.copyfile(connection_file, copy)
        for path in (home, copy):
            os.chown(path, NOBODY, NOBODY)
        connection_file = copy
        os.chdir(home)
        env.update(HOME=home, USER="nobody", JUPYTER_RUNTIME_DIR=home, MPLCONFIGDIR=home, IPYTHONDIR=home)
        # nobody may start processes and threads of its own (every grading kernel counts); enough for a few kernels,
        # too few for a fork bomb. Root's count does not apply after the switch
        set_limits(args.memory_mb, args.cpu_seconds, args.file_mb, processes=256)
        _become_nobody()
    else:
        set_limits(args.memory_mb, args.cpu_seconds, args.file_mb, processes=0)
    _check(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file], env)


if __name__ == "__main__":
    main()
