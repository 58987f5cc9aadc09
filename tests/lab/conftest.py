"""Fixtures for the lab tests: one 2-host lab per test module (no Django needed)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kvmweb.lab import create_lab, teardown_lab

PREFIX = "kvmlt"
SUBNET = "10.79.0.0/24"
STATE_DIR = os.environ.get("KVMWEB_LAB_STATE_DIR", "/var/lib/kvmweb-lab")
CACHE_DIR = os.environ.get("KVMWEB_LAB_CACHE", "/var/cache/kvmweb-lab")


def _lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool in ("/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/sbin/sshd"):
        if not os.path.exists(tool):
            return f"{tool} is not installed"
    for tool in ("virsh", "qemu-system-x86_64", "dnsmasq", "ip", "nsenter", "unshare", "ssh"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"{tool} is not installed"
    return None


@pytest.fixture(scope="module")
def lab_key(tmp_path_factory) -> Path:
    """A throwaway ed25519 client key (private key path; .pub next to it)."""
    key = tmp_path_factory.mktemp("labkey") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kvmweb-lab-test",
                    "-f", str(key)], check=True)
    return key


@pytest.fixture(scope="module")
def lab(lab_key, tmp_path_factory):
    """A 2-host lab (prefix kvmlt, 10.79.0.0/24), torn down after the module."""
    reason = _lab_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        hosts = create_lab(2, [lab_key.with_suffix(".pub").read_text()], prefix=PREFIX,
                           subnet=SUBNET, state_dir=STATE_DIR)
        known_hosts = tmp_path_factory.mktemp("known") / "known_hosts"
        known_hosts.write_text("".join(f"{h.address} {h.host_key_pub}\n" for h in hosts))
        yield {"hosts": hosts, "key": lab_key, "known_hosts": known_hosts,
               "prefix": PREFIX, "state_dir": STATE_DIR, "cache_dir": CACHE_DIR}
    finally:
        teardown_lab(PREFIX, STATE_DIR)
