"""Boot one lab host's daemons inside its private mount namespace.

Run by :mod:`kvmweb.lab.hosts` as a standalone script (stdlib only)::

    ip netns exec NS unshare --mount --propagation private -- PYTHON nsboot.py CONFIG.json

CONFIG.json holds ``binds`` ([source, target] pairs), ``tmpfs`` (targets),
and pid/config paths.  Everything here uses argument lists; nothing is
interpreted by a shell.  The daemons fork into the background and keep the
mount namespace alive after this script exits.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def _run(argv: list[str], timeout: float = 60) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"nsboot: {argv!r} failed ({proc.returncode}): "
                         f"{proc.stderr.strip() or proc.stdout.strip()}")


def _wait_pidfile(path: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as fh:
                pid = int(fh.read().strip() or "0")
            if pid > 0 and os.path.exists(f"/proc/{pid}"):
                return pid
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"nsboot: no live pid in {path} after {timeout}s")


def _wait_socket(path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise SystemExit(f"nsboot: socket {path} did not appear after {timeout}s")


def main(config_path: str) -> int:
    with open(config_path) as fh:
        cfg = json.load(fh)
    # Belt and braces: unshare --propagation private already did this.
    _run(["mount", "--make-rprivate", "/"])
    for source, target in cfg["binds"]:
        os.makedirs(target, exist_ok=True)
        _run(["mount", "--bind", source, target])
    for target in cfg["tmpfs"]:
        os.makedirs(target, exist_ok=True)
        _run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", target])
    for d in cfg.get("mkdirs", []):
        os.makedirs(d, exist_ok=True)

    for pidfile in (cfg["virtlogd_pid"], cfg["libvirtd_pid"], cfg["sshd_pid"]):
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass

    _run(["/usr/sbin/virtlogd", "-d", "-p", cfg["virtlogd_pid"]])
    _wait_pidfile(cfg["virtlogd_pid"])
    _run(["/usr/sbin/libvirtd", "-d", "-p", cfg["libvirtd_pid"]], timeout=300)
    _wait_pidfile(cfg["libvirtd_pid"])
    _wait_socket("/run/libvirt/libvirt-sock")
    _run(["/usr/sbin/sshd", "-f", cfg["sshd_config"], "-E", cfg["sshd_log"]])
    _wait_pidfile(cfg["sshd_pid"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
