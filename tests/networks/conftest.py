"""Fixtures for network tests: a host whose read model looks like a synced hypervisor."""

import pytest

DEFAULT_XML = """<network>
  <name>default</name>
  <uuid>1a1a1a1a-0000-4000-8000-000000000001</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>"""


def iface(host, name, kind, *addresses):
    from hosts.models import HostInterface

    return HostInterface.objects.create(
        host=host, name=name, kind=kind,
        addresses=[{"family": "inet6" if ":" in a else "inet", "address": a.split("/")[0],
                    "prefixlen": int(a.split("/")[1]), "scope": 0} for a in addresses])


@pytest.fixture
def synced_host(db):
    """kvm1 as a sync leaves it: default NAT network, eth0 on 10.74.0.11/24 with a route to
    172.20.0.0/16, br0, lo."""
    from hosts.models import Host
    from networks.models import Network

    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.74.0.11/system",
                               status=Host.Status.ONLINE)
    Network.objects.create(host=host, name="default", uuid="1a1a1a1a-0000-4000-8000-000000000001",
                           xml=DEFAULT_XML, active=True, autostart=True, kind="nat",
                           bridge="virbr0", subnets=["192.168.122.0/24"], dhcp=True)
    iface(host, "lo", "loopback", "127.0.0.1/8", "::1/128")
    eth0 = iface(host, "eth0", "veth", "10.74.0.11/24", "fe80::1/64")
    eth0.stats = {"routes": [{"family": "inet", "dst": "default", "gateway": "10.74.0.1"},
                             {"family": "inet", "dst": "172.20.0.0/16", "gateway": "10.74.0.1"}]}
    eth0.save()
    iface(host, "virbr0", "bridge", "192.168.122.1/24")
    iface(host, "br0", "bridge")
    return host


@pytest.fixture
def other_host(db):
    from hosts.models import Host
    from networks.models import Network

    host = Host.objects.create(name="kvm2", uri="qemu+ssh://root@10.74.0.12/system",
                               status=Host.Status.ONLINE)
    Network.objects.create(host=host, name="lab", uuid="2b2b2b2b-0000-4000-8000-000000000002",
                           xml=DEFAULT_XML.replace("default", "lab"), kind="nat",
                           bridge="virbr1", subnets=["192.168.150.0/24"], dhcp=True)
    return host


@pytest.fixture
def daphne_url(transactional_db, celery_worker, tmp_path):
    """The app served by daphne (HTTP + websockets) on a free port, on the test database."""
    from tests.conftest import daphne

    with daphne(celery_worker.queue, tmp_path / "daphne.log") as url:
        yield url


@pytest.fixture
def browser():
    """Call it (after the test's own set-up) to get a Chromium page: Playwright's sync API runs an
    event loop in this thread, which Django's ORM and async_to_sync must not see."""
    from playwright.sync_api import sync_playwright

    state = {}

    def open_page():
        state["pw"] = sync_playwright().start()
        state["browser"] = state["pw"].chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        page = state["browser"].new_page()
        page.set_default_timeout(30000)
        return page

    yield open_page
    if "browser" in state:
        state["browser"].close()
    if "pw" in state:
        state["pw"].stop()
