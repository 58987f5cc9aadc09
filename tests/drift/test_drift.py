"""Drift on hand-made read models (no host): what counts as drift, what kvmweb's own operations
explain, the diff, the refusal of edits, accept and re-apply, who may (tests/drift lab test
proves it on a real host with virsh)."""

import pytest
from django.test import Client
from django.utils import timezone

from drift.models import Baseline, Drift
from hosts.signals import definitions_were_read
from kvmweb import definitions
from networks.models import Network
from operations.models import Operation
from tests.conftest import grant
from tests.networks.conftest import DEFAULT_XML, synced_host  # noqa: F401 - fixture
from vms.models import Domain, DomainInterface

pytestmark = pytest.mark.django_db

STATIC = "<host mac='52:54:00:00:00:aa' name='web' ip='192.168.122.10'/>"
DOM = """<domain type='qemu' id='{id}'><name>web1</name><uuid>d1</uuid><memory>131072</memory>
  <devices>
    <disk type='file' device='disk'><source file='/x.qcow2'/><target dev='vda'/></disk>
    {nics}
    <console type='pty' tty='/dev/pts/{id}'/>
  </devices></domain>"""
NIC = """<interface type='network'><mac address='{mac}'/>
      <source network='default'{live}/>{target}<model type='virtio'/>{alias}{link}
      <address type='pci' domain='0x0000' bus='0x00' slot='0x0{slot}' function='0x0'/></interface>"""


def nic(mac="52:54:00:00:00:01", running=True, slot=3, link=""):
    return NIC.format(mac=mac, slot=slot, link=link,
                      live=" portid='9c2e' bridge='virbr0'" if running else "",
                      target="<target dev='vnet3'/>" if running else "",
                      alias="<alias name='net0'/>" if running else "")


def with_static(xml):
    return xml.replace("</dhcp>", f"{STATIC}</dhcp>")


def network(host):
    return Network.objects.get(host=host, name="default")


def sync(host, how="sync"):
    definitions_were_read(host.pk, how)


def host_changes(host, xml):
    Network.objects.filter(host=host, name="default").update(xml=xml)


# -- what counts as a change ---------------------------------------------------------------

def test_a_vm_starting_or_stopping_is_no_change_but_a_nic_is():
    stopped = DOM.format(id="-1", nics=nic(running=False))
    running = DOM.format(id="7", nics=nic(running=True, link="<link state='up'/>"))
    assert definitions.version("domain", stopped) == definitions.version("domain", running)
    attached = DOM.format(id="7", nics=nic() + nic("52:54:00:00:00:02", slot=7))
    assert definitions.version("domain", attached) != definitions.version("domain", running)
    down = DOM.format(id="7", nics=nic(link="<link state='down'/>"))
    assert definitions.version("domain", down) != definitions.version("domain", running)


def test_guests_plugging_into_a_network_is_no_change():
    busy = DEFAULT_XML.replace("<network>", "<network connections='3'>")
    assert definitions.version("network", busy) == definitions.version("network", DEFAULT_XML)
    assert definitions.version("network", with_static(DEFAULT_XML)) != \
        definitions.version("network", DEFAULT_XML)


# -- comparing -----------------------------------------------------------------------------

def test_the_first_read_is_the_baseline_and_a_change_outside_kvmweb_is_drift(synced_host):
    sync(synced_host)
    assert Baseline.objects.get(target="network:default").source == "first read (sync)"
    assert not Drift.objects.exists()

    host_changes(synced_host, with_static(DEFAULT_XML))
    sync(synced_host, "watcher: periodic network read")
    drift = Drift.objects.get()
    assert drift.status == "open" and drift.kind == "network" and drift.name == "default"
    assert drift.noticed_by == "watcher: periodic network read"

    added = [line for line in drift.diff.splitlines() if line.startswith("+") and "aa" in line]
    assert added and drift.diff.startswith("--- kvmweb\n+++ host")
    # Noticed again: still one drift; the host coming back by itself closes it.
    sync(synced_host)
    assert Drift.objects.count() == 1
    host_changes(synced_host, DEFAULT_XML)
    sync(synced_host)
    assert Drift.objects.get().status == "gone"


def test_a_change_by_kvmweb_is_no_drift(synced_host, admin_user):
    sync(synced_host)
    net = network(synced_host)
    op = Operation.objects.create(host=synced_host, action="network.update", target=net.target,
                                  status="running", params={"xml": with_static(DEFAULT_XML)})
    host_changes(synced_host, with_static(DEFAULT_XML))
    sync(synced_host)  # its operation is still running: not compared
    assert not Drift.objects.exists()
    op.status, op.finished = "succeeded", timezone.now()
    op.xml_after = with_static(DEFAULT_XML)
    op.save()  # finished with what it left on the host: the new baseline
    assert Baseline.objects.get(target=net.target).source == f"operation {op.pk}"
    sync(synced_host)
    assert not Drift.objects.exists()


def test_starting_a_drifted_network_does_not_adopt_the_drift(synced_host):
    sync(synced_host)
    host_changes(synced_host, with_static(DEFAULT_XML))
    sync(synced_host)
    Operation.objects.create(host=synced_host, action="network.start", target="network:default",
                             status="succeeded", xml_after=with_static(DEFAULT_XML),
                             finished=timezone.now())
    sync(synced_host)
    assert Drift.objects.get().status == "open"
    assert "52:54:00:00:00:aa" not in Baseline.objects.get(target="network:default").xml


def test_a_vm_nic_attached_behind_kvmweb_is_drift(synced_host):
    vm = Domain.objects.create(host=synced_host, name="web1", uuid="d1", state="running",
                               xml=DOM.format(id="3", nics=nic()))
    sync(synced_host)
    Domain.objects.filter(pk=vm.pk).update(xml=DOM.format(id="3", nics=nic() + nic(
        "52:54:00:00:00:02", slot=7)))
    definitions_were_read(synced_host.pk, "watcher: device-added event (net1) for web1",
                          ["domain:d1"])
    drift = Drift.objects.get(target="domain:d1")
    assert drift.kind == "domain" and "device-added" in drift.noticed_by
    assert "52:54:00:00:00:02" in drift.diff and "vnet" not in drift.diff


def test_an_object_gone_from_the_host_closes_its_drift(synced_host):
    sync(synced_host)
    host_changes(synced_host, with_static(DEFAULT_XML))
    sync(synced_host)
    Network.objects.filter(host=synced_host).delete()
    sync(synced_host)
    assert Drift.objects.get().status == "gone" and not Baseline.objects.exists()


# -- the refusal, accept, re-apply -----------------------------------------------------------

@pytest.fixture
def drifted(synced_host):
    sync(synced_host)
    host_changes(synced_host, with_static(DEFAULT_XML))
    sync(synced_host)
    return Drift.objects.get()


def test_an_edit_of_a_drifted_network_is_refused_until_decided(admin_api, admin_user, drifted,
                                                               synced_host):
    net = network(synced_host)
    url = f"/api/networks/{net.pk}/"
    edit = {"dns_hosts": [{"ip": "192.168.122.20", "hostnames": ["db"]}]}
    refused = admin_api.patch(url, edit, format="json")
    assert refused.status_code == 409, refused.content
    assert refused.json()["drift"] == f"/api/drift/{drifted.pk}/"
    assert "changed outside kvmweb" in refused.json()["detail"]
    assert admin_api.delete(url + "?confirm=true").status_code == 409
    page = Client()
    page.force_login(admin_user)
    shown = page.get(f"/networks/{net.pk}/edit/")
    assert shown.status_code == 409 and f"/drift/{drifted.pk}/" in shown.content.decode()
    assert 'id="drift-banner"' in page.get(f"/networks/{net.pk}/").content.decode()
    assert not Operation.objects.exists()

    accepted = admin_api.post(f"/api/drift/{drifted.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert "52:54:00:00:00:aa" in Baseline.objects.get(target=net.target).xml
    version = admin_api.get(url).json()["version"]
    after = admin_api.patch(url, {**edit, "version": version}, format="json")
    assert after.status_code in (202, 409), after.content
    assert "drift" not in after.json()  # no longer refused for the drift


def test_re_apply_puts_kvmwebs_version_back_through_the_network_update(admin_api, drifted,
                                                                      synced_host):
    response = admin_api.post(f"/api/drift/{drifted.pk}/reapply/", {}, format="json")
    assert response.status_code == 202, response.content
    op = Operation.objects.get(pk=response.json()["id"])
    assert op.action == "network.update" and "52:54:00:00:00:aa" not in op.params["xml"]
    assert "52:54:00:00:00:aa" in op.params["base"]
    again = admin_api.post(f"/api/drift/{drifted.pk}/reapply/", {}, format="json")
    assert again.status_code == 409 and "re-applied" in again.json()["detail"]
    # Once done, the host has kvmweb's version again: the drift is closed as re-applied.
    Operation.objects.filter(pk=op.pk).update(status="succeeded", finished=timezone.now())
    host_changes(synced_host, DEFAULT_XML)
    sync(synced_host)
    assert Drift.objects.get().status == "reapplied"


def test_a_plain_user_neither_sees_nor_decides_drift(user_api, admin_api, drifted, synced_host,
                                                     plain_user):
    assert user_api.get("/api/drift/").json()["count"] == 0
    assert user_api.get(f"/api/drift/{drifted.pk}/").status_code == 404
    assert user_api.post(f"/api/drift/{drifted.pk}/accept/").status_code == 404
    # A viewer of the owning team sees it, but may not decide.
    team = grant(plain_user, synced_host, "viewer")
    Network.objects.filter(host=synced_host).update(owner=team)
    assert user_api.get("/api/drift/").json()["count"] == 1
    assert user_api.post(f"/api/drift/{drifted.pk}/accept/").status_code == 403
    assert user_api.post(f"/api/drift/{drifted.pk}/reapply/", {}, format="json").status_code == 403
    assert Drift.objects.get().status == "open" and not Operation.objects.exists()


def test_a_member_of_a_team_with_many_vms_lists_drift(user_api, drifted, synced_host,
                                                      plain_user):
    """Visibility is one condition per host, not one per object (SQLite refuses an expression
    deeper than 1000 terms)."""
    team = grant(plain_user, synced_host, "viewer")
    Network.objects.filter(host=synced_host).update(owner=team)
    Domain.objects.bulk_create(
        Domain(host=synced_host, owner=team, name=f"many{n}", uuid=f"00000000-0000-4000-8000-{n:012d}",
               xml="<domain/>") for n in range(1500))
    response = user_api.get("/api/drift/")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_the_drift_pages(admin_user, drifted):
    page = Client()
    page.force_login(admin_user)
    listed = page.get("/drift/").content.decode()
    assert f'data-drift="{drifted.pk}"' in listed
    detail = page.get(f"/drift/{drifted.pk}/").content.decode()
    assert 'id="drift-diff"' in detail and "52:54:00:00:00:aa" in detail
    assert 'id="drift-accept"' in detail and 'id="drift-reapply"' in detail
    response = page.post(f"/drift/{drifted.pk}/accept/")
    assert response.status_code == 302
    assert Drift.objects.get().status == "accepted"


# -- versions of VMs ----------------------------------------------------------------------------

@pytest.fixture
def vm(synced_host):
    vm = Domain.objects.create(host=synced_host, name="web1", uuid="d1", state="running",
                               xml=DOM.format(id="3", nics=nic()))
    DomainInterface.objects.create(domain=vm, mac="52:54:00:00:00:01", type="network",
                                   source="default", model="virtio")
    return vm


def test_a_vm_edit_planned_against_an_old_version_gets_409_with_the_diff(admin_api, vm):
    url = f"/api/vms/{vm.pk}/"
    seen = admin_api.get(url).json()["version"]
    # Someone else's NIC change finished meanwhile (its operation recorded before and after).
    after = DOM.format(id="3", nics=nic() + nic("52:54:00:00:00:02", slot=7))
    Operation.objects.create(host=vm.host, action="nic.add", target="domain:d1",
                             status="succeeded", xml_before=vm.xml, xml_after=after,
                             finished=timezone.now())
    Domain.objects.filter(pk=vm.pk).update(xml=after)
    response = admin_api.post(url + "nics/", {"source": "default", "version": seen},
                              format="json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["seen_version"] == seen and body["version"] != seen
    assert "52:54:00:00:00:02" in body["diff"]
    removed = admin_api.delete(url + f"nics/52:54:00:00:00:01/?version={seen}")
    assert removed.status_code == 409
    assert Operation.objects.count() == 1
    ok = admin_api.post(url + "nics/", {"source": "default", "version": body["version"]},
                        format="json")
    assert ok.status_code == 202, ok.content
    # While that change is queued, a second one planned on the same version waits its turn.
    second = admin_api.delete(url + f"nics/52:54:00:00:00:01/?version={body['version']}")
    assert second.status_code == 409 and "operation" in second.json()["detail"]


def test_the_vm_page_refuses_a_stale_change_and_offers_to_plan_again(admin_user, vm):
    page = Client()
    page.force_login(admin_user)
    response = page.post(f"/vms/{vm.pk}/nics/52:54:00:00:00:01/remove/",
                         {"version": "0123456789abcdef"})
    assert response.status_code == 409
    assert 'id="replan"' in response.content.decode()
    assert not Operation.objects.exists()


def test_the_watchers_network_read_picks_only_changed_definitions(synced_host):
    from hosts.reread import changed_networks

    busy = DEFAULT_XML.replace("<network>", "<network connections='2'>")
    assert changed_networks(synced_host, {"default": busy}) == []
    assert changed_networks(synced_host, {"default": with_static(DEFAULT_XML)}) == ["default"]
    assert changed_networks(synced_host, {}) == ["default"]  # gone from the host
    new = DEFAULT_XML.replace("default", "new")
    assert changed_networks(synced_host, {"default": DEFAULT_XML, "new": new}) == ["new"]


def test_a_nic_the_guest_releases_after_kvmwebs_removal_ended_is_no_drift(synced_host):
    vm = Domain.objects.create(host=synced_host, name="web1", uuid="d1", state="running",
                               xml=DOM.format(id="3", nics=nic() + nic("52:54:00:00:00:02",
                                                                       slot=7)))
    sync(synced_host)
    # kvmweb's removal ended while the guest still held the NIC (no ACPI hotplug yet).
    Operation.objects.create(host=synced_host, action="nic.remove", target="domain:d1",
                             status="succeeded", params={"mac": "52:54:00:00:00:02"},
                             xml_after=vm.xml, finished=timezone.now())
    Domain.objects.filter(pk=vm.pk).update(xml=DOM.format(id="3", nics=nic()))
    definitions_were_read(synced_host.pk, "watcher: device-removed event (net1) for web1",
                          ["domain:d1"])
    assert not Drift.objects.exists()
    # Another NIC removed behind kvmweb's back is drift.
    Domain.objects.filter(pk=vm.pk).update(xml=DOM.format(id="3", nics=""))
    sync(synced_host)
    assert Drift.objects.get().status == "open"


def test_a_vm_tap_moved_by_a_host_network_change_is_no_drift(synced_host):
    vm = Domain.objects.create(host=synced_host, name="web1", uuid="d1", state="running",
                               xml=DOM.format(id="3", nics=nic()))
    sync(synced_host)
    moved = DOM.format(id="3", nics=nic(running=False).replace(
        "type='network'", "type='bridge'").replace("network='default'", "bridge='br1'"))
    op = Operation.objects.create(host=synced_host, action="hostnet.port_move",
                                  target="host-network", status="running")
    Domain.objects.filter(pk=vm.pk).update(xml=moved)
    sync(synced_host)  # the sync inside the change: left alone
    assert not Drift.objects.exists()
    op.xml_after, op.status, op.finished = moved, "succeeded", timezone.now()
    op.save()
    sync(synced_host)
    assert not Drift.objects.exists()
    assert Baseline.objects.get(target="domain:d1").source == f"operation {op.pk}"


# -- re-created objects: identity is the UUID ---------------------------------------------------

NEW_UUID = "2b2b2b2b-0000-4000-8000-000000000002"


def recreated(xml=DEFAULT_XML):
    """The network as `virsh net-define` of the same XML without uuid/mac gives it back."""
    return xml.replace("1a1a1a1a-0000-4000-8000-000000000001", NEW_UUID).replace(
        "<bridge name='virbr0'", "<mac address='52:54:00:12:34:56'/><bridge name='virbr0'")


def network_record(xml):
    return {"name": "default", "uuid": NEW_UUID, "xml": xml, "active": True, "autostart": True,
            "persistent": True, "bridge": "virbr0", "kind": "nat",
            "subnets": ["192.168.122.0/24"], "dhcp": True, "leases": []}


def test_a_network_re_created_with_a_new_uuid_is_a_new_object_not_drift(synced_host, plain_user):
    from hosts.services import store_network
    from teams.models import AuditEntry

    team = grant(plain_user, synced_host, "operator")
    Network.objects.filter(host=synced_host).update(owner=team)
    before = network(synced_host)
    sync(synced_host)
    store_network(synced_host, network_record(recreated()))
    sync(synced_host, "watcher: periodic network read")
    assert not Drift.objects.exists()
    baseline = Baseline.objects.get(target="network:default")
    assert baseline.source.startswith(f"re-created outside kvmweb, new UUID {NEW_UUID}")
    assert NEW_UUID in baseline.xml and "52:54:00:12:34:56" in baseline.xml
    entry = AuditEntry.objects.get(action="network.recreated")
    assert entry.target == "network:default" and entry.host_name == "kvm1"
    assert entry.before == {"uuid": "1a1a1a1a-0000-4000-8000-000000000001"}
    assert entry.after["uuid"] == NEW_UUID and entry.team == team
    assert "re-created outside kvmweb" in entry.after["summary"]
    # The row is the name's: same row (NICs, grants and targets name it), new uuid, its team.
    after = network(synced_host)
    assert (after.pk, after.uuid, after.owner) == (before.pk, NEW_UUID, team)
    # Read again: nothing new to say; a real change of the new network is drift as usual.
    sync(synced_host)
    assert not Drift.objects.exists() and AuditEntry.objects.count() == 1
    host_changes(synced_host, with_static(recreated()))
    sync(synced_host)
    assert Drift.objects.get().status == "open"


def test_re_creating_a_drifted_network_closes_its_drift(drifted, synced_host):
    host_changes(synced_host, recreated())
    Network.objects.filter(host=synced_host).update(uuid=NEW_UUID)
    sync(synced_host)
    assert Drift.objects.get().status == "gone"
    assert not Drift.objects.filter(status="open").exists()


def test_a_network_re_created_while_kvmweb_changes_it_waits_for_the_operation(synced_host):
    sync(synced_host)
    op = Operation.objects.create(host=synced_host, action="network.update",
                                  target="network:default", status="running")
    host_changes(synced_host, recreated())
    sync(synced_host)
    assert Baseline.objects.get(target="network:default").source == "first read (sync)"
    op.status, op.finished, op.xml_after = "failed", timezone.now(), ""
    op.save()
    sync(synced_host)
    assert not Drift.objects.exists()
    assert Baseline.objects.get(target="network:default").source.startswith("re-created")


def test_a_vm_re_defined_with_a_new_uuid_is_a_new_vm_not_drift(synced_host):
    from teams.models import AuditEntry

    Domain.objects.create(host=synced_host, name="web1", uuid="d1", state="running",
                          xml=DOM.format(id="3", nics=nic()))
    sync(synced_host)
    # Removed and re-defined outside kvmweb (the sync drops the old row, adds the new one),
    # here with another NIC too: a new VM is adopted as it is.
    Domain.objects.filter(host=synced_host, uuid="d1").delete()
    xml = DOM.format(id="4", nics=nic() + nic("52:54:00:00:00:02", slot=7))
    Domain.objects.create(host=synced_host, name="web1", uuid="d2", state="running",
                          xml=xml.replace("<uuid>d1</uuid>", "<uuid>d2</uuid>"))
    definitions_were_read(synced_host.pk, "watcher: domain event (defined) for web1",
                          ["domain:d2", "domain:d1"])
    assert not Drift.objects.exists()
    assert set(Baseline.objects.values_list("target", flat=True)) == {"network:default",
                                                                       "domain:d2"}
    assert Baseline.objects.get(target="domain:d2").source.startswith("re-created outside")
    entry = AuditEntry.objects.get(action="domain.recreated")
    assert entry.before == {"uuid": "d1"} and entry.after["uuid"] == "d2"
    # Another VM under a new name is just a first read.
    Domain.objects.create(host=synced_host, name="web2", uuid="d3", xml=DOM.format(
        id="5", nics="").replace("web1", "web2").replace("<uuid>d1</uuid>", "<uuid>d3</uuid>"))
    sync(synced_host)
    assert Baseline.objects.get(target="domain:d3").source == "first read (sync)"
    assert AuditEntry.objects.count() == 1


def test_a_vm_re_defined_while_kvmweb_changes_the_old_one_waits(synced_host):
    Domain.objects.create(host=synced_host, name="web1", uuid="d1", state="running",
                          xml=DOM.format(id="3", nics=nic()))
    sync(synced_host)
    Operation.objects.create(host=synced_host, action="nic.add", target="domain:d1",
                             status="running")
    Domain.objects.filter(host=synced_host, uuid="d1").update(
        uuid="d2", xml=DOM.format(id="3", nics=nic()).replace("<uuid>d1</uuid>", "<uuid>d2</uuid>"))
    sync(synced_host)
    assert not Drift.objects.exists() and not Baseline.objects.filter(target="domain:d2").exists()


def test_the_watchers_re_read_of_a_re_defined_vm_drops_the_old_row(synced_host, monkeypatch):
    """The define event of a VM re-defined with a new UUID may be read before (or without) its
    undefine event: the re-read keeps one row per name, the new UUID's (libvirt's test driver
    has a VM "test"; kvmweb's row for it has an old UUID the host no longer has)."""
    import libvirt

    from hosts.reread import reread_domain
    from teams.models import AuditEntry

    # (The watcher's threads close their DB connections; here the test's transaction holds it.)
    monkeypatch.setattr("hosts.reread.close_old_connections", lambda: None)
    conn = libvirt.open("test:///default")
    try:
        new = conn.lookupByName("test").UUIDString()
        old = "00000000-0000-4000-8000-0000000000aa"
        Domain.objects.create(host=synced_host, name="test", uuid=old, state="running",
                              xml=conn.lookupByName("test").XMLDesc().replace(new, old))
        sync(synced_host)
        reread_domain(synced_host, conn, "test", "watcher: domain event (defined) for test")
    finally:
        conn.close()
    assert list(Domain.objects.filter(name="test").values_list("uuid", flat=True)) == [new]
    assert not Drift.objects.exists()
    assert AuditEntry.objects.get(action="domain.recreated").before == {"uuid": old}
    assert not Baseline.objects.filter(target=f"domain:{old}").exists()
