"""Drift on a real host: changes made with virsh behind kvmweb's back are shown within 10 s
(watcher: the periodic network read for `virsh net-update`, which has no event; the
device-added event for `virsh attach-interface`), an edit of the drifted network is refused
until decided, "accept" adopts the host's VM, "re-apply" puts kvmweb's network back (checked
with virsh net-dumpxml and domiflist)."""

import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from kvmweb.virt.xml import Network as NetworkXML
from drift.models import Drift
from networks.models import Network
from teams.models import AuditEntry
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
        # Usually the watcher's periodic network read; a sync started by a lifecycle event on
        # the host (pxe1's state) may read the network first, which is kvmweb noticing it too.
        assert drift["noticed_by"].startswith(("watcher", "sync")), drift["noticed_by"]
        assert STATIC_MAC in drift["diff"]

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


def without(xml, *tags):
    """libvirt XML without the top-level elements named (uuid, mac): what `virsh net-define`
    / `virsh define` of a copy made by hand gets a fresh identity from."""
    from lxml import etree

    from kvmweb.virt.xml import safe_parse

    root = safe_parse(xml)
    for tag in tags:
        for el in root.findall(tag):
            root.remove(el)
    return etree.tostring(root, encoding="unicode")


def test_objects_re_created_behind_kvmwebs_back_are_new_objects_not_drift(
        admin_api, admin_user, celery_worker, lab_hosts, request):
    """What every `./run --lab` restart does (kvmweb down meanwhile): the default network and
    pxe1 removed and defined again from the same XML without uuid (and mac). kvmweb then
    reads new objects under the old names: no drift, the new UUIDs shown, the re-creation in
    the audit log, and the network editable (the edit lands on the host: virsh says so)."""
    from django.test import Client

    from teams.models import Team

    lab = lab_hosts[1]
    run_dir = Path(lab.state_dir) / "run"
    host, sync = add_lab_host(admin_api, lab, "recreate2")
    assert sync.status == "succeeded", sync.error
    net = Network.objects.get(host=host, name="default")
    team = Team.objects.create(name="blue")
    Network.objects.filter(pk=net.pk).update(owner=team)
    old_vm = Domain.objects.get(host=host, name="pxe1")
    running = lab_run(lab, "virsh", "domstate", "pxe1").strip() == "running"
    try:
        # Behind kvmweb's back, while no watcher runs (kvmweb is down during a lab restart).
        (run_dir / "recreate-pxe1.xml").write_text(
            without(lab_run(lab, "virsh", "dumpxml", "--inactive", "pxe1"), "uuid"))
        (run_dir / "recreate-default.xml").write_text(
            without(lab_run(lab, "virsh", "net-dumpxml", "--inactive", "default"), "uuid", "mac"))
        lab_run(lab, "virsh", "destroy", "pxe1", check=False)
        lab_run(lab, "virsh", "undefine", "pxe1")
        lab_run(lab, "virsh", "net-destroy", "default")
        lab_run(lab, "virsh", "net-undefine", "default")
        lab_run(lab, "virsh", "net-define", str(run_dir / "recreate-default.xml"))
        lab_run(lab, "virsh", "net-autostart", "default")
        lab_run(lab, "virsh", "net-start", "default")
        lab_run(lab, "virsh", "define", str(run_dir / "recreate-pxe1.xml"))
        if running:
            lab_run(lab, "virsh", "start", "pxe1")
        new_uuid = lab_run(lab, "virsh", "net-uuid", "default").strip()
        new_vm_uuid = lab_run(lab, "virsh", "domuuid", "pxe1").strip()
        assert new_uuid != net.uuid and new_vm_uuid != old_vm.uuid

        # kvmweb comes back: its watcher syncs the host and reads its network definitions.
        since = time.monotonic()
        request.getfixturevalue("watcher")
        url = f"/api/networks/{net.pk}/"
        wait_for(lambda: admin_api.get(url).json()["uuid"] == new_uuid, timeout=60,
                 what="the network's new UUID shown")
        wait_for(lambda: Domain.objects.filter(host=host, name="pxe1", uuid=new_vm_uuid)
                 .exists(), timeout=60, what="pxe1's new UUID read")
        entries = AuditEntry.objects.filter(host_name=host.name, action__endswith=".recreated")
        # Read and compared: either the re-creation was told, or (the old code) drift opened.
        wait_for(lambda: entries.count() == 2 or open_drift(admin_api, "network:default")
                 or open_drift(admin_api, f"domain:{new_vm_uuid}"), timeout=60,
                 what="the re-creation compared with kvmweb's baseline")
        print(f"re-creation read after {time.monotonic() - since:.1f} s")
        assert open_drift(admin_api, "network:default") is None
        assert open_drift(admin_api, f"domain:{new_vm_uuid}") is None
        assert not Drift.objects.filter(host=host, status="open").exists()
        assert sorted(entries.values_list("action", "before__uuid", "after__uuid")) == [
            ("domain.recreated", old_vm.uuid, new_vm_uuid),
            ("network.recreated", net.uuid, new_uuid)]
        page = Client()
        page.force_login(admin_user)
        audit = page.get("/teams/audit/", {"object": "recreated"}).content.decode()
        assert 'data-audit-action="network.recreated"' in audit and new_uuid in audit
        # The same row (its team kept), one pxe1 (the old UUID's row gone).
        shown = admin_api.get(url).json()
        assert Network.objects.get(pk=net.pk).owner == team
        assert list(Domain.objects.filter(host=host, name="pxe1").values_list("uuid", flat=True)) \
            == [new_vm_uuid]

        # Editable through kvmweb: accepted and applied on the host.
        edit = admin_api.patch(url, {"version": shown["version"], "static_hosts": [
            {"mac": STATIC_MAC, "ip": "192.168.122.250", "name": "sneaky"}]}, format="json")
        assert edit.status_code == 202, edit.content
        op = wait_operation(edit.json()["id"])
        assert op.status == "succeeded", op.error
        assert STATIC_MAC in static_macs(lab)
        assert lab_run(lab, "virsh", "net-uuid", "default").strip() == new_uuid
        assert not Drift.objects.filter(host=host, status="open").exists()
    finally:
        lab_run(lab, "virsh", "net-update", "default", "delete", "ip-dhcp-host", STATIC,
                "--live", "--config", check=False)
        if running and lab_run(lab, "virsh", "domstate", "pxe1", check=False).strip() != "running":
            lab_run(lab, "virsh", "start", "pxe1", check=False)
