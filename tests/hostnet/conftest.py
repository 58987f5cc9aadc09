"""Fixtures for host networking: lab hosts added through the API, and a reset of each lab
host's networking (done with `ip`, not with kvmweb) after every test."""

import json

import pytest

TEST_PREFIXES = ("kbr", "kvl", "kbo", "kve", "kiso")


def addrs(lab_host):
    from tests.conftest import lab_run

    return {e["ifname"]: e for e in json.loads(lab_run(lab_host, "ip", "-j", "addr"))}


def reset_lab_host(lab_host, subnet_prefix):
    """Put the lab host's networking back as the lab built it."""
    from tests.conftest import lab_run

    links = json.loads(lab_run(lab_host, "ip", "-j", "link"))
    for link in links:
        if link["ifname"].startswith(TEST_PREFIXES):
            lab_run(lab_host, "ip", "link", "del", link["ifname"], check=False)
    lab_run(lab_host, "ip", "link", "set", "eth0", "nomaster", check=False)
    lab_run(lab_host, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", check=False)
    want = f"{lab_host.address}/{subnet_prefix}"
    lab_run(lab_host, "ip", "addr", "replace", want, "dev", "eth0", check=False)
    lab_run(lab_host, "ip", "link", "set", "eth0", "up", check=False)
    gateway = lab_host.address.rsplit(".", 1)[0] + ".1"
    lab_run(lab_host, "ip", "route", "replace", "default", "via", gateway, "dev", "eth0",
            check=False)
    lab_run(lab_host, "find", "/etc/network/interfaces.d", "-name", "kvmweb-*", "-delete",
            check=False)


@pytest.fixture
def lab_reset(lab_hosts):
    from tests.conftest import LAB_SUBNET

    plen = LAB_SUBNET.split("/")[1]
    for lab in lab_hosts:
        reset_lab_host(lab, plen)
    yield
    for lab in lab_hosts:
        reset_lab_host(lab, plen)
