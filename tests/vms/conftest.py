"""Helpers for the VM tests: virsh read-outs on a lab host, and the tiny Linux guest's files."""

import json

import pytest

from tests.conftest import lab_run, wait_operation

TINY_CACHE = "/var/cache/kvmweb-lab"


@pytest.fixture(scope="session")
def tiny_linux():
    """(kernel, initrd) on this machine's filesystem, which the lab hosts' qemu can read."""
    from kvmweb.lab import build_tiny_linux

    return build_tiny_linux(TINY_CACHE)


def domiflist(lab_host, domain):
    """Rows of `virsh domiflist`: (target, type, source, model, mac)."""
    return [tuple(line.split()) for line in
            lab_run(lab_host, "virsh", "-q", "domiflist", domain).splitlines() if line.strip()]


def domifaddr_lease(lab_host, domain):
    """MAC -> IP of `virsh domifaddr --source lease`."""
    found = {}
    for line in lab_run(lab_host, "virsh", "-q", "domifaddr", domain, "--source", "lease").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            found[parts[1].lower()] = parts[3].split("/")[0]
    return found


def domifstat(lab_host, domain, target):
    """`virsh domifstat` as {rx_bytes: n, ...}."""
    stats = {}
    for line in lab_run(lab_host, "virsh", "domifstat", domain, target).splitlines():
        parts = line.split()
        if len(parts) == 3:
            stats[parts[1]] = int(parts[2])
    return stats


def bridge_ports(lab_host):
    """ifname -> master of `bridge -j link`."""
    return {p["ifname"]: p.get("master") for p in json.loads(lab_run(lab_host, "bridge", "-j", "link"))}


def op_ok(api, response, timeout=180):
    """Wait for the Operation a 202 answer started; fail with its log unless it succeeded."""
    assert response.status_code == 202, response.content
    op = wait_operation(response.json()["id"], timeout=timeout)
    assert op.status == "succeeded", f"{op.error}\n{op.log}"
    return op


def refresh(api, host):
    return op_ok(api, api.post("/api/vms/refresh/", {"host": host.pk}, format="json"))


def forget_domain(lab_host, name):
    """Remove a domain left over by an earlier run with a kept lab."""
    lab_run(lab_host, "virsh", "destroy", name, check=False)
    lab_run(lab_host, "virsh", "undefine", name, "--remove-all-storage", check=False)
