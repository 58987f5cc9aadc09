"""Small process / namespace helpers shared by the lab modules (stdlib only)."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path


class LabError(RuntimeError):
    """Raised when the lab cannot be created, found or driven."""


def run(argv: list[str], *, check: bool = True, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    """Run an argument list (never a shell string); raise LabError on failure."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.run(argv, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout}s: {argv!r}") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or "").strip() if isinstance(proc.stderr, str) else proc.stderr
        out = (proc.stdout or "").strip() if isinstance(proc.stdout, str) else proc.stdout
        raise LabError(f"{argv!r} failed ({proc.returncode}): {err or out}")
    return proc


def ifname(prefix: str, suffix: str) -> str:
    """An interface name of at most 15 characters derived from prefix+suffix."""
    name = prefix + suffix
    if len(name) <= 15:
        return name
    digest = hashlib.sha1(prefix.encode()).hexdigest()[:4]
    return (prefix[: 15 - len(suffix) - 4] + digest + suffix)[:15]


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def netns_inode(name: str) -> int | None:
    try:
        return os.stat(Path("/run/netns", name)).st_ino
    except OSError:
        return None


def netns_list() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def read_pid(pidfile: Path | str) -> int | None:
    try:
        pid = int(Path(pidfile).read_text().strip() or "0")
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def pid_alive(pid: int | None, comm: str | None = None,
              netns: str | None = None) -> bool:
    """True if pid runs, has the given comm, and lives in the given netns.

    The comm/netns checks guard against pid reuse, so that we never signal an
    unrelated process (other libvirtd processes run on this machine).
    """
    if not pid:
        return False
    try:
        if comm is not None:
            if Path(f"/proc/{pid}/comm").read_text().strip() != comm:
                return False
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
        if netns is not None:
            ino = netns_inode(netns)
            if ino is None or os.stat(f"/proc/{pid}/ns/net").st_ino != ino:
                return False
    except (OSError, IndexError):
        return False
    return True


def stop_pid(pid: int | None, comm: str | None = None, netns: str | None = None,
             timeout: float = 10) -> bool:
    """SIGTERM a verified pid, SIGKILL after timeout. Returns True if it was running."""
    if not pid_alive(pid, comm, netns):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    return True


def stop_pidfile(pidfile: Path, comm: str, netns: str | None = None,
                 timeout: float = 10) -> bool:
    stopped = stop_pid(read_pid(pidfile), comm, netns, timeout)
    try:
        Path(pidfile).unlink()
    except FileNotFoundError:
        pass
    return stopped


def netns_pids(name: str) -> list[int]:
    """All pids whose network namespace is the named one (our own namespace)."""
    if not netns_exists(name):
        return []
    proc = run(["ip", "netns", "pids", name], check=False, timeout=30)
    return [int(x) for x in proc.stdout.split() if x.isdigit()]


def kill_netns_pids(name: str, timeout: float = 10) -> None:
    """Terminate every process left in a lab network namespace we created."""
    pids = [p for p in netns_pids(name) if p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if pid_alive(pid, netns=name):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for p in pids if pid_alive(p)]
            if not pids:
                return
            time.sleep(0.05)
