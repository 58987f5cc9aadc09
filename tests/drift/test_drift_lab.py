"""Drift on a real host: changes made with virsh behind kvmweb's back are shown within 10 s
(watcher: the periodic network read for `virsh net-update`, which has no event; the
device-added event for `virsh attach-interface`), an edit of the drifted network is refused
until decided, "accept" adopts the host's VM, "re-apply" puts kvmweb's network back (checked
with virsh net-dumpxml and domiflist)."""

import time

import pytest
import redis
from django.conf import settings

from kvmweb.virt.xml import Network as NetworkXML
from networks.models import Network
from tests.conftest import add_lab_host, lab_run, wait_for, wait_operation
from vms.models import Domain

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]

STATIC_MAC = "52:54:00:7d:00:0a"
STATIC = f"<host mac='{STATIC_MAC}' name='sneaky' ip='192.168.122.250'/>"
NIC_MAC = "52:54:00:7d:00:0b"


def static_macs(lab):
    xml = lab_run(lab, "virsh", "net-dumpxml", "default")
    return {h.mac for h in NetworkXML.from_xml(xml).ip_for(4).dhcp.hosts}


def open_drift(api, target):
    found = [d for d in api.get("/api/drift/?status=open").json()["results"]
             if d["target"] == target]
    return found[0] if found else None


def noticed(api, target, since, what):
    drift = wait_for(lambda: open_drift(api, target), timeout=30, interval=0.3, what=what)
    print(f"{what}: shown after {time.monotonic() - since:.1f} s, by {drift['noticed_by']}")
    return drift


def test_changes_behind_kvmwebs_back_are_drift_until_accepted_or_re_applied(
        admin_api, lab_hosts, watcher):
    lab = lab_hosts[0]
    lab_run(lab, "virsh", "net-update", "default", "delete", "ip-dhcp-host", STATIC, "--live",
            "--config", check=False)  # left by an interrupted run
    started_pxe1 = lab_run(lab, "virsh", "domstate", "pxe1").strip() != "running"
    if started_pxe1:
        lab_run(lab, "virsh", "start", "pxe1")
    host, sync = add_lab_host(admin_api, lab, "drift1")
    assert sync.status == "succeeded", sync.error
    claims = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: claims.get(f"kvmweb:watch:host{host.pk}"), timeout=30,
             what="the watcher's claim")
    time.sleep(2)  # the event callbacks are registered right after the claim's connection opens
    net = Network.objects.get(host=host, name="default")
    vm = Domain.objects.get(host=host, name="pxe1")
    try:
        # 1. A static DHCP host added with virsh net-update (libvirt sends no event for it).
        since = time.monotonic()
        lab_run(lab, "virsh", "net-update", "default", "add", "ip-dhcp-host", STATIC, "--live",
                "--config")
        drift = noticed(admin_api, "network:default", since, "net-update drift")
        assert "watcher" in drift["noticed_by"] and STATIC_MAC in drift["diff"]

        # 2. A NIC attached with virsh attach-interface (device-added event).
        since = time.monotonic()
        lab_run(lab, "virsh", "attach-interface", "pxe1", "network", "default", "--model",
                "virtio", "--mac", NIC_MAC)
        vm_drift = noticed(admin_api, f"domain:{vm.uuid}", since, "attach-interface drift")
        assert NIC_MAC in vm_drift["diff"]

        # An edit of the drifted network is refused, saying why and where to decide.
        url = f"/api/networks/{net.pk}/"
        version = admin_api.get(url).json()["version"]
        refused = admin_api.patch(url, {"version": version, "dns_hosts": [
            {"ip": "192.168.122.20", "hostnames": ["db"]}]}, format="json")
        assert refused.status_code == 409, refused.content
        assert refused.json()["drift"] == f"/api/drift/{drift['id']}/"
        refused = admin_api.delete(f"/api/vms/{vm.pk}/nics/{NIC_MAC}/")
        assert refused.status_code == 409 and "drift" in refused.json()

        # "accept" the VM: kvmweb's read model and baseline now have the host's NIC.
        accepted = admin_api.post(f"/api/drift/{vm_drift['id']}/accept/")
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
        nics = {n["mac"] for n in admin_api.get(f"/api/vms/{vm.pk}/").json()["nics"]}
        assert NIC_MAC in nics

        # "re-apply" the network: the host gets kvmweb's version back (virsh says so).
        response = admin_api.post(f"/api/drift/{drift['id']}/reapply/", {}, format="json")
        assert response.status_code == 202, response.content
        op = wait_operation(response.json()["id"], timeout=120)
        assert op.status == "succeeded", op.error
        assert STATIC_MAC not in static_macs(lab)
        assert NIC_MAC in lab_run(lab, "virsh", "domiflist", "pxe1")  # accepted, kept
        wait_for(lambda: admin_api.get(f"/api/drift/{drift['id']}/").json()["status"]
                 == "reapplied", timeout=30, what="the drift closed as re-applied")
        assert open_drift(admin_api, "network:default") is None
        version = admin_api.get(url).json()["version"]
        edit = admin_api.patch(url, {"version": version, "static_hosts": [
            {"mac": "52:54:00:7d:00:0c", "ip": "192.168.122.251", "name": "ok"}]},
            format="json")
        assert edit.status_code == 202, edit.content  # decided: edits go ahead again
        assert wait_operation(edit.json()["id"]).status == "succeeded"
    finally:
        xml = lab_run(lab, "virsh", "net-dumpxml", "default")
        for mac in (STATIC_MAC, "52:54:00:7d:00:0c"):
            if mac in xml:
                for host_el in NetworkXML.from_xml(xml).ip_for(4).dhcp.hosts:
                    if host_el.mac == mac:
                        lab_run(lab, "virsh", "net-update", "default", "delete", "ip-dhcp-host",
                                host_el.get_xml(), "--live", "--config", check=False)
        # The attached NIC is live only: it goes with the running guest (iPXE does not
        # release a hot-unplugged NIC).
        lab_run(lab, "virsh", "destroy", "pxe1", check=False)
        if not started_pxe1:
            lab_run(lab, "virsh", "start", "pxe1", check=False)
