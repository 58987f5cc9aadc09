"""SSH plumbing: the app's key pair, host key scanning and pinning.

libvirt's qemu+ssh transport and mitogen both run the system ``ssh`` binary. We point both at a
wrapper that runs ssh with our own config file, so the pinned host keys (our known_hosts file,
StrictHostKeyChecking=yes) and our key are used, and no prompt can ever block a worker.
"""

import base64
import fcntl
import hashlib
import os
import socket
import subprocess
from pathlib import Path

from .errors import VirtError

SSH_BINARY = "/usr/bin/ssh"


class SSHSetup:
    """Files under ``state_dir``: config, known_hosts, the wrapper script."""

    def __init__(self, state_dir, key_path, connect_timeout=10):
        self.dir = Path(state_dir)
        self.key_path = Path(key_path)
        self.connect_timeout = connect_timeout
        self.config = self.dir / "config"
        self.known_hosts = self.dir / "known_hosts"
        self.wrapper = self.dir / "kvmweb-ssh"

    def ensure(self):
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        ensure_keypair(self.key_path)
        self.known_hosts.touch(mode=0o600, exist_ok=True)
        config = "\n".join([
            "Host *",
            f"  UserKnownHostsFile {self.known_hosts}",
            "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes",
            "  UpdateHostKeys no",
            "  HashKnownHosts no",
            "  BatchMode yes",
            "  IdentitiesOnly yes",  # only the key passed with -i (per host)
            f"  ConnectTimeout {self.connect_timeout}",
            "  ServerAliveInterval 5",
            "  ServerAliveCountMax 2",
            "  LogLevel ERROR",
            "",
        ])
        _write_if_changed(self.config, config, 0o600)
        # The wrapper's content comes from settings only, never from user input.
        wrapper = f'#!/bin/sh\nexec {SSH_BINARY} -F "{self.config}" "$@"\n'
        _write_if_changed(self.wrapper, wrapper, 0o700)
        return self

    def pin(self, target):
        """Make known_hosts hold exactly the pinned key for this target's address."""
        if not target.host_key:
            raise VirtError("no host key is pinned for this host; pin its key first",
                            VirtError.HOST_KEY_UNKNOWN)
        name = target.known_hosts_name
        wanted = f"{name} {target.host_key}"
        with open(self.known_hosts, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            lines = [ln for ln in fh.read().splitlines() if ln.strip()]
            kept = [ln for ln in lines if ln.split(" ", 1)[0] != name]
            if kept + [wanted] != lines:
                tmp = self.known_hosts.with_suffix(".tmp")
                tmp.write_text("\n".join(kept + [wanted]) + "\n")
                tmp.chmod(0o600)
                os.replace(tmp, self.known_hosts)


def _write_if_changed(path, text, mode):
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(mode)
        os.replace(tmp, path)


def ensure_keypair(key_path):
    """Create the install's ed25519 key pair once; return the public key line."""
    key_path = Path(key_path)
    pub = key_path.with_name(key_path.name + ".pub")
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kvmweb@{socket.gethostname()}",
             "-f", str(key_path)],
            check=True, capture_output=True,
        )
    if not pub.exists():
        out = subprocess.run(["ssh-keygen", "-y", "-f", str(key_path)], check=True,
                             capture_output=True, text=True).stdout
        pub.write_text(out)
    return pub.read_text().strip()


def fingerprint(key_line):
    """SHA256 fingerprint of a public key line, as ``ssh-keygen -lf`` prints it."""
    try:
        blob = base64.b64decode(key_line.split()[1], validate=True)
    except (IndexError, ValueError) as exc:
        raise VirtError(f"not an SSH public key: {key_line[:60]!r}", VirtError.INVALID) from exc
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def check_reachable(address, port, timeout=5):
    """A plain TCP connect, to tell unknown host / refused / no answer apart in words."""
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise VirtError(f"unknown host {address!r}: the name does not resolve ({exc.strerror})",
                        VirtError.UNKNOWN_HOST) from exc
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except ConnectionRefusedError as exc:
        raise VirtError(f"connection refused by {address} port {port} (is sshd running there?)",
                        VirtError.REFUSED) from exc
    except (TimeoutError, socket.timeout) as exc:
        raise VirtError(f"{address} port {port} did not answer within {timeout} s",
                        VirtError.TIMEOUT) from exc
    except OSError as exc:
        raise VirtError(f"cannot reach {address} port {port}: {exc.strerror}",
                        VirtError.TIMEOUT) from exc
    finally:
        sock.close()


def scan_host_key(address, port=22, timeout=5):
    """The host's ed25519 key line ("ssh-ed25519 AAAA…") as its sshd offers it now."""
    check_reachable(address, port, timeout)
    proc = subprocess.run(
        ["ssh-keyscan", "-T", str(timeout), "-p", str(port), "-t", "ed25519", "--", address],
        capture_output=True, text=True, timeout=timeout + 5,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "ssh-ed25519":
            return f"{parts[1]} {parts[2]}"
    raise VirtError(f"{address} port {port} offered no ed25519 SSH host key "
                    f"({proc.stderr.strip()[:200] or 'no answer'})", VirtError.REMOTE)
