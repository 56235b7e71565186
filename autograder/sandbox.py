"""Start the grading kernel inside limits: ``python -m autograder.sandbox [options] CONNECTION_FILE``.

Always: caps on address space (memory), CPU time, file size and process count, and the kernel dies with the
grader (parent-death signal). As root (Gradescope, a grading server): a private mount namespace in which the paths
given with --hide (solutions, hidden tests, reference results, other submissions) are covered by empty folders,
then the kernel runs as the unprivileged user nobody. Without root the kernel runs as the grader's own user, and
the grader says so in its output. Where user nobody cannot read the
Python installation (a Python under /root), the grader also runs the kernel as itself and says so.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import os
import resource
import shutil
import signal
import sys
import sysconfig
import tempfile
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE, MS_BIND, MS_RDONLY, MS_REMOUNT = 0x4000, 0x40000, 0x1000, 0x1, 0x20
PR_SET_PDEATHSIG = 1
NOBODY = 65534


@functools.lru_cache(maxsize=1)
def isolation() -> tuple[bool, str]:
    """(whether the kernel can run isolated as nobody, why not); checked once per grader process."""
    if os.geteuid() != 0:
        return False, "the grader does not run as root, so the kernel runs as the grader's own user"
    needed = [os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
              str(Path(__file__).resolve().parents[1] / "compresslab")]
    pid = os.fork()
    if pid == 0:  # the child checks what nobody may read, then exits at once
        try:
            _become_nobody()
            readable = all(os.access(path, os.R_OK | os.X_OK) for path in needed)
        except BaseException:
            readable = False
        os._exit(0 if readable else 1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return False, (f"user nobody cannot run this Python ({sys.executable}: its files are not readable by "
                       "other users), so the kernel runs as the grader's own user")
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


def hide_paths(paths: list[str]) -> None:
    """In a new private mount namespace, cover each existing path with an empty, read-only folder."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
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
        hide_paths(args.hide)
        home = tempfile.mkdtemp(prefix="autograder-kernel-")
        copy = os.path.join(home, "connection.json")
        shutil.copyfile(connection_file, copy)
        for path in (home, copy):
            os.chown(path, NOBODY, NOBODY)
        connection_file = copy
        os.chdir(home)
        env.update(HOME=home, USER="nobody", JUPYTER_RUNTIME_DIR=home, MPLCONFIGDIR=home, IPYTHONDIR=home)
        # nobody may start a few processes of its own; root's count does not apply after the switch
        set_limits(args.memory_mb, args.cpu_seconds, args.file_mb, processes=64)
        _become_nobody()
    else:
        set_limits(args.memory_mb, args.cpu_seconds, args.file_mb, processes=0)
    _check(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file], env)


if __name__ == "__main__":
    main()
