"""A guest for everyone, in the lab: the tiny Linux as volumes of kvm1's lab-boot pool, booted
by a team operator through the Create VM form as the page fills it in (domain type from the host's
setting, the guest-agent channel); Debian's qemu-guest-agent in it answers libvirt
(`virsh qemu-agent-command`), and kvmweb's in-guest probe pings through it and agrees with the
verdict, the blocked direction included (kvm2's ping of the NAT guest does not come back).
One guest, booted once."""

import ipaddress
import json
from urllib.parse import parse_qs, urlsplit

import lxml.html

import pytest
from django.test import Client
from rest_framework.test import APIClient

from kvmweb.lab import install_boot_pool, lab_exec
from tests.conftest import LAB_PREFIX, add_lab_host, grant, lab_run, wait_for, wait_operation
from tests.vms.conftest import domifaddr_lease, forget_domain, refresh, tiny_linux  # noqa: F401
from vms.models import Domain, GuestAddress

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]

NAT = ipaddress.ip_network("192.168.122.0/24")
NAME = "ga1"


def agent_command(lab_host, command):
    """libvirt's own client asking the guest agent (None while it does not answer)."""
    proc = lab_exec(lab_host, ["virsh", "-c", "qemu:///system", "qemu-agent-command", NAME,
                               "--timeout", "10", json.dumps(command)], prefix=LAB_PREFIX,
                    timeout=60)
    return json.loads(proc.stdout)["return"] if proc.returncode == 0 else None


def agent_ipv4(lab_host):
    interfaces = agent_command(lab_host, {"execute": "guest-network-get-interfaces"}) or []
    for iface in interfaces:
        for addr in iface.get("ip-addresses") or []:
            if iface["name"] == "eth0" and addr["ip-address-type"] == "ipv4":
                return iface["hardware-address"], addr["ip-address"]
    return None


def test_a_team_operator_boots_the_lab_guest_and_its_agent_proves_the_verdict(
        admin_api, django_user_model, celery_worker, lab_hosts, tiny_linux):  # noqa: F811
    h1, h2 = lab_hosts
    forget_domain(h1, NAME)
    assert install_boot_pool(h1, *tiny_linux) == "/var/lib/libvirt/lab-boot"
    kvm1, _ = add_lab_host(admin_api, h1)
    kvm2, _ = add_lab_host(admin_api, h2)
    assert admin_api.patch(f"/api/hosts/{kvm1.pk}/", {"domain_type": "qemu"},
                           format="json").status_code == 200
    # The sync recorded the pool and its volumes as libvirt lists them.
    refresh(admin_api, kvm1)
    pools = admin_api.get(f"/api/vms/pools/?host={kvm1.pk}").json()
    boot = next(p for p in pools if p["name"] == "lab-boot")
    volumes = {v["name"]: v["path"] for v in boot["volumes"]}
    assert volumes == {"vmlinuz": "/var/lib/libvirt/lab-boot/vmlinuz",
                       "initrd.img": "/var/lib/libvirt/lab-boot/initrd.img"}
    listed = lab_run(h1, "virsh", "-q", "vol-list", "lab-boot")
    assert all(path in listed for path in volumes.values()), listed

    operator = django_user_model.objects.create_user("gia", "", "gia-pass-123")
    grant(operator, kvm1, "operator", "blue", networks=["default"])
    grant(operator, kvm2, "operator", "blue")  # the destination: a host the team sees
    page = Client()
    page.force_login(operator)
    html = page.get(f"/vms/create/?host={kvm1.pk}").content.decode()
    assert 'id="lab-boot-hint"' in html and "<code>lab-boot/vmlinuz</code>" in html
    bob = APIClient()
    bob.force_authenticate(operator)
    try:
        # The newcomer's path: the form as the page fills it in (what a browser would submit),
        # plus a name: nothing else typed.
        form = lxml.html.fromstring(html).get_element_by_id("vm-create")
        values = dict(form.form_values())
        assert (values["boot"], values["kernel"], values["initrd"], values["domain_type"],
                values["guest_agent"], values["nics-0-source"]) == (
            "kernel", volumes["vmlinuz"], volumes["initrd.img"], "qemu", "on", "default")
        response = page.post(f"/vms/create/?host={kvm1.pk}", {**values, "name": NAME})
        assert response.status_code == 302, response.content.decode()[-3000:]
        op = wait_operation(int(parse_qs(urlsplit(response["Location"]).query)["op"][0]),
                            timeout=300)
        assert op.status == "succeeded", (op.error, op.log)
        assert "domain type qemu (as asked)" in op.log, op.log  # the form said qemu
        xml = lab_run(h1, "virsh", "dumpxml", NAME)
        assert xml.startswith("<domain type='qemu'") and "org.qemu.guest_agent.0" in xml

        # The agent answers libvirt with the address the network's DHCP handed out.
        mac, ip = wait_for(lambda: agent_ipv4(h1), 240, interval=1, what="the guest agent")
        assert ipaddress.ip_address(ip) in NAT
        assert wait_for(lambda: domifaddr_lease(h1, NAME).get(mac), 60, what="a lease") == ip
        refresh(admin_api, kvm1)
        vm = Domain.objects.get(host=kvm1, name=NAME)
        assert vm.owner.name == "blue"
        assert GuestAddress.objects.filter(host=kvm1, mac=mac, ip=ip, source="agent").exists()
        assert ip in page.get(f"/vms/{vm.pk}/").content.decode()  # the lease, shown

        # A probe from inside the guest (guest-exec ping) to kvm2: the NAT guest gets out, so
        # its pings come back; kvm2's pings of the guest do not (NAT): the analysis's one-way.
        response = bob.post("/api/reachability/probes/", {
            "source": f"vm:{kvm1.pk}:{vm.uuid}", "destination": f"host:{kvm2.pk}"},
            format="json")
        assert response.status_code == 202, response.content
        probe_op = wait_operation(response.json()["operation"], timeout=180)
        assert probe_op.status == "succeeded", (probe_op.error, probe_op.log)
        stored = bob.get(f"/api/reachability/probes/{response.json()['id']}/").json()
        results = {r["kind"]: r for r in stored["results"]}
        guest = results["guest-ping"]
        assert "unavailable" not in guest, guest
        assert guest["command"] == ["ping", "-c", "3", "-W", "2", h2.address], guest
        assert guest["sent"] == 3 and guest["received"] >= 1, guest  # TCG may lose one
        host = results["host-ping"]
        assert host["command"][-1] == ip and host["received"] == 0, host
        assert stored["verdict"] == "one-way", stored
        assert stored["comparison"][0].startswith("The packets agree with the analysis"), stored

        # Through the API with no domain type (auto): the host's setting, not the kvm libvirt
        # offers. Defined only (one booted guest is enough), without the agent channel.
        response = bob.post("/api/vms/", {
            "host": kvm1.pk, "name": f"{NAME}b", "memory_mib": 64, "boot": "kernel",
            "kernel": volumes["vmlinuz"], "initrd": volumes["initrd.img"], "start": False,
            "guest_agent": False}, format="json")
        assert response.status_code == 202, response.content
        op = wait_operation(response.json()["id"], timeout=180)
        assert op.status == "succeeded" and f"domain type qemu ({kvm1.name} is set to qemu)" in op.log
        xml = lab_run(h1, "virsh", "dumpxml", f"{NAME}b")
        assert xml.startswith("<domain type='qemu'") and "guest_agent" not in xml
    finally:
        forget_domain(h1, NAME)
        forget_domain(h1, f"{NAME}b")
