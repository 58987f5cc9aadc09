"""kvmweb's verdicts against real packets, on the two lab hosts with two tiny guests (few and
reused, TCG is slow): rg1 behind kvm1's default NAT network, rg2 on macvtap over kvm2's eth0
(a LAN lease); a host-side active probe stored and shown; the bridge over eth0 kvmweb suggests
for rg2's blind spot, applied through kvmweb, turning that verdict and the pings to reachable;
rg2 again on kvm2's default NAT network (both hosts' NAT networks: unreachable); then rg3 on a
routed network kvmweb creates on kvm1, before and after the route kvmweb suggests; last ri1 and
ri2 on an isolated network kvmweb creates on kvm1 (kvm1 asked about at its LAN address and by
name: the address its guests use, on the bridge). The guests print their own pings on their
serial consoles; the hosts ping with `ping` (from the address asked about). Every verdict must
match what the packets did, in both directions, and each blocked direction must name its cause."""

import ipaddress
import re
from pathlib import Path

import pytest

from kvmweb.lab import build_tiny_linux, lab_exec, tiny_linux_domain_xml
from tests.conftest import (LAB_PREFIX, LAB_SUBNET, add_lab_host, lab_run, wait_for,
                            wait_operation)
from tests.hostnet.conftest import lab_reset  # noqa: F401 - fixture
from tests.vms.conftest import op_ok, refresh
from vms.models import Domain

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NAT = ipaddress.ip_network("192.168.122.0/24")
ROUTED = ipaddress.ip_network("10.79.17.0/24")  # inside kvm1's namespace only
ISOLATED = ipaddress.ip_network("10.79.18.0/24")  # inside kvm1's namespace only


def console(path):
    return Path(path).read_text(errors="replace") if Path(path).exists() else ""


def boot(lab_host, name, nic, ping, kernel_initrd):
    run_dir = Path(lab_host.state_dir) / "run"
    log = run_dir / f"{name}.console.log"
    log.unlink(missing_ok=True)
    lab_run(lab_host, "virsh", "destroy", name, check=False)
    lab_run(lab_host, "virsh", "undefine", name, check=False)
    xml = tiny_linux_domain_xml(name, *kernel_initrd, nics=[nic], ping=ping, console_log=str(log))
    (run_dir / f"{name}.xml").write_text(xml)
    lab_run(lab_host, "virsh", "define", str(run_dir / f"{name}.xml"))
    lab_run(lab_host, "virsh", "start", name)
    return str(log)


def lease(log, network, timeout=120):
    def found():
        addrs = re.findall(r"KVMWEB-IP (\S+)", console(log))
        good = [a for a in addrs if a != "none" and ipaddress.ip_address(a) in network]
        return good[-1] if good else None
    return wait_for(found, timeout, interval=0.5, what=f"a lease in {network} on {log}")


def guest_pinged(log, target, timeout=120, after=0):
    """True/False: the guest's first verdict on ``target`` (it pings each target in turn),
    or its first one past ``after`` characters of its console."""
    def seen():
        found = re.findall(rf"KVMWEB-PING {re.escape(target)} (ok|fail)", console(log)[after:])
        return found[0] if found else None
    return wait_for(seen, timeout, interval=0.5, what=f"a ping of {target} in {log}") == "ok"


def host_pings(lab_host, target, tries=2, source=None):
    """Whether the host gets an answer (a loaded machine may lose one round under TCG), sent
    from ``source`` (one of its addresses) when given."""
    for _ in range(tries):
        # busybox's ping: this machine has no iputils (busybox-static is there for the guests)
        argv = ["busybox", "ping", "-c", "3", "-W", "2"] + (["-I", source] if source else [])
        proc = lab_exec(lab_host, argv + [target],
                        prefix=LAB_PREFIX, capture_output=True, text=True, timeout=30)
        assert proc.returncode in (0, 1), proc.stderr  # 1: no answer; else ping did not run
        if proc.returncode == 0:
            return True
    return False


def ask(api, vm, destination):
    response = api.get("/api/reachability/", {"source_vm": vm.pk, "destination": destination})
    assert response.status_code == 200, response.content
    return response.json()


def codes(answer):
    return {c["code"] for c in answer["causes"]}


def probe(admin_api, admin_user, source, destination):
    """Proof with packets (active) through the API; the stored probe once its operation ended,
    and the answer page that shows it."""
    response = admin_api.post("/api/reachability/probes/", {"source": source,
                                                            "destination": destination},
                              format="json")
    assert response.status_code == 202, response.content
    op = wait_operation(response.json()["operation"], timeout=120)
    assert op.status == "succeeded", (op.error, op.log)
    stored = admin_api.get(f"/api/reachability/probes/{response.json()['id']}/").json()
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    page = client.get("/reachability/", {"source": source, "destination": destination})
    return stored, page.content.decode()


def test_verdicts_match_the_guests_pings(admin_api, admin_user, celery_worker, lab_hosts,
                                         lab_reset):
    h1, h2 = lab_hosts
    lan = ipaddress.ip_network(LAB_SUBNET)
    kernel_initrd = build_tiny_linux("/var/cache/kvmweb-lab")
    kvm1, _ = add_lab_host(admin_api, h1)
    kvm2, _ = add_lab_host(admin_api, h2)
    for host, lab in ((kvm1, h1), (kvm2, h2)):  # the sync read IP forwarding (a NAT network is on)
        host.refresh_from_db()
        assert host.capabilities["ip_forward"] is (
            lab_run(lab, "cat", "/proc/sys/net/ipv4/ip_forward").strip() == "1") is True
    try:
        log2 = boot(h2, "rg2", {"type": "direct", "source": "eth0", "mode": "bridge",
                                "mac": "52:54:00:79:00:02"}, [h2.address, h1.address],
                    kernel_initrd)
        ip2 = lease(log2, lan)
        log1 = boot(h1, "rg1", {"type": "network", "source": "default",
                                "mac": "52:54:00:79:00:01"}, [h2.address, ip2], kernel_initrd)
        ip1 = lease(log1, NAT)
        packets = {
            "rg1->kvm2": guest_pinged(log1, h2.address), "kvm2->rg1": host_pings(h2, ip1),
            "rg1->rg2": guest_pinged(log1, ip2),
            "rg2->kvm2": guest_pinged(log2, h2.address), "kvm2->rg2": host_pings(h2, ip2),
            "rg2->kvm1": guest_pinged(log2, h1.address), "kvm1->rg2": host_pings(h1, ip2),
        }
        # What the packets did: NAT out only; macvtap blind to its own host only.
        assert packets == {"rg1->kvm2": True, "kvm2->rg1": False, "rg1->rg2": True,
                           "rg2->kvm2": False, "kvm2->rg2": False,
                           "rg2->kvm1": True, "kvm1->rg2": True}, packets
        refresh(admin_api, kvm1)
        refresh(admin_api, kvm2)
        rg1 = Domain.objects.get(host=kvm1, name="rg1")
        rg2 = Domain.objects.get(host=kvm2, name="rg2")

        answer = ask(admin_api, rg1, "kvm2")  # kvm2 by name: its LAN address, as pinged
        assert (answer["forward"], answer["backward"]) == (True, False), answer
        assert answer["verdict"] == "one-way" and "nat-inbound" in codes(answer)
        assert answer["destination"]["ip"] == h2.address
        answer = ask(admin_api, rg1, f"vm:{kvm2.pk}:{rg2.uuid}")
        assert (answer["forward"], answer["backward"]) == (True, False), answer
        assert "nat-inbound" in codes(answer)
        assert not any("IP forwarding assumed" in a for a in answer["assumptions"])
        answer = ask(admin_api, rg2, "kvm2")
        assert answer["verdict"] == "unreachable" and codes(answer) == {"macvtap-own-host"}
        assert answer["destination"]["ip"] == h2.address
        answer = ask(admin_api, rg2, "kvm1")
        assert answer["verdict"] == "reachable", answer
        assert answer["destination"]["ip"] == h1.address
        assert answer["hops"][-1] == f"host:{kvm1.pk}" and f"if:{kvm2.pk}:eth0" in answer["hops"]

        # Proof with packets, from kvm1 to its own NAT guest rg1: kvm1's ping and its arping
        # on virbr0 come back (as the analysis says); the tiny guest has no qemu-guest-agent,
        # and the answer says so instead of pretending.
        rg1_id = f"vm:{kvm1.pk}:{rg1.uuid}"
        stored, page = probe(admin_api, admin_user, f"host:{kvm1.pk}", rg1_id)
        results = {r["kind"]: r for r in stored["results"]}
        assert stored["verdict"] == "reachable" and stored["user"] == admin_user.username
        ping = results["host-ping"]
        assert ping["command"][:1] == ["ping"] and ping["command"][-1] == ip1
        assert ping["sent"] == 3 and ping["received"] >= 1, ping  # TCG may drop one under load
        arping = results["host-arping"]
        assert arping["iface"] == "virbr0" and arping["received"] >= 1, arping
        assert results["guest-ping"]["unavailable"].startswith("guest agent not available")
        assert stored["comparison"][0].startswith("The packets agree with the analysis")
        assert f'data-probe="{stored["id"]}"' in page and "guest agent not available" in page
        assert "The packets agree with the analysis" in page

        # The bounce kvmweb offers after a NIC's source moved: the link goes down, then up,
        # and libvirt says it is up again.
        op = op_ok(admin_api, admin_api.post(f"/api/vms/{rg1.pk}/nics/52:54:00:79:00:01/bounce/"))
        assert "set down (live)" in op.log and "set up (live)" in op.log
        assert "up" in lab_run(h1, "virsh", "domif-getlink", "rg1", "52:54:00:79:00:01")

        # Applying the fix kvmweb suggests for rg2's blind spot: the bridge over eth0 on kvm2
        # (the hostnet plan its link opens, as pre-filled) and rg2's NIC moved to it. The tiny
        # guest configures its NIC once, at boot: the move is made while it is off.
        answer = ask(admin_api, rg2, "kvm2")
        fixes = {f["kind"]: f for c in answer["causes"] for f in c["fixes"]}
        bridge, move = fixes["bridge-over-uplink"], fixes["move-nic"]
        assert bridge["href"] == f"/hostnet/{kvm2.pk}/bridge_create/?name=br0&uplink=eth0"
        lab_run(h2, "virsh", "destroy", "rg2")  # eth0 cannot join a bridge under a macvtap
        op_ok(admin_api, admin_api.post(f"/api/hostnet/{kvm2.pk}/bridge_create/", {
            "name": bridge["target"]["bridge"], "uplink": bridge["target"]["iface"],
            "persist": False}, format="json"))
        refresh(admin_api, kvm2)
        op_ok(admin_api, admin_api.patch(
            f"/api/vms/{rg2.pk}/nics/{move['target']['mac']}/",
            {"type": "bridge", "source": move["target"]["bridge"]}, format="json"))
        Path(log2).unlink(missing_ok=True)
        lab_run(h2, "virsh", "start", "rg2")
        ip2 = lease(log2, lan)
        assert guest_pinged(log2, h2.address) and host_pings(h2, ip2)  # the blind spot is gone
        refresh(admin_api, kvm2)
        answer = ask(admin_api, rg2, "kvm2")
        assert answer["verdict"] == "reachable" and not answer["causes"], answer

        # Both hosts' default NAT networks: rg2 comes back on kvm2's default network (the
        # same 192.168.122.0/24 as rg1's on kvm1) and pings rg1: nothing gets there, and
        # kvmweb names the cause.
        log2 = boot(h2, "rg2", {"type": "network", "source": "default",
                                "mac": "52:54:00:79:00:02"}, [ip1], kernel_initrd)
        nat2 = lease(log2, NAT)
        if nat2 != ip1:  # the same address would be rg2's own
            assert not guest_pinged(log2, ip1)
        refresh(admin_api, kvm2)
        rg2 = Domain.objects.get(host=kvm2, name="rg2")
        answer = ask(admin_api, rg2, f"vm:{kvm1.pk}:{rg1.uuid}")
        assert answer["verdict"] == "unreachable", answer
        assert "nat-different-networks" in codes(answer), answer
        lab_run(h2, "virsh", "destroy", "rg2")  # at most two guests at once

        # A routed network on kvm1 (made through kvmweb): rg3's packets reach kvm2, kvm2's
        # replies go to its default gateway, which has no route back. Then the fix kvmweb
        # shows (the LAN route; kvmweb does not manage that router, here kvm2 is the LAN side).
        op_ok(admin_api, admin_api.post("/api/networks/", {
            "host": kvm1.pk, "name": "rnet", "kind": "route", "subnet": str(ROUTED)},
            format="json"))
        log3 = boot(h1, "rg3", {"type": "network", "source": "rnet",
                                "mac": "52:54:00:79:00:03"}, [h2.address], kernel_initrd)
        ip3 = lease(log3, ROUTED)
        assert not guest_pinged(log3, h2.address) and not host_pings(h2, ip3)
        refresh(admin_api, kvm1)
        rg3 = Domain.objects.get(host=kvm1, name="rg3")
        answer = ask(admin_api, rg3, "kvm2")
        assert answer["verdict"] == "unreachable" and codes(answer) == {"no-route-back"}, answer
        fix = answer["causes"][0]["fixes"][0]
        assert fix["detail"] == f"ip route add {ROUTED} via {h1.address}"
        lab_run(h2, "ip", "route", "add", str(ROUTED), "via", h1.address)
        mark = len(console(log3))
        wait_for(lambda: f"KVMWEB-PING {h2.address} ok" in console(log3)[mark:], 90,
                 interval=0.5, what="rg3's ping of kvm2 after the route")
        assert host_pings(h2, ip3)
        op_ok(admin_api, admin_api.post(f"/api/hosts/{kvm2.pk}/sync/"))  # kvm2's routes
        answer = ask(admin_api, rg3, "kvm2")
        assert answer["verdict"] == "reachable" and not answer["causes"], answer

        # An isolated network on kvm1 (made through kvmweb: an <ip> with DHCP, no <forward>),
        # two guests on it with fixed leases, and kvm2 given a route to it through kvm1 (so
        # kvm2's pings do get to kvm1, and libvirt's rules are what stops them).
        for name in ("rg1", "rg3"):  # at most two guests at once
            lab_run(h1, "virsh", "destroy", name)
        gw, ipa, ipb = (str(ISOLATED[i]) for i in (1, 11, 12))
        op_ok(admin_api, admin_api.post("/api/networks/", {
            "host": kvm1.pk, "name": "inet", "kind": "isolated", "subnet": str(ISOLATED),
            "static_hosts": [{"mac": "52:54:00:79:00:0a", "ip": ipa},
                             {"mac": "52:54:00:79:00:0b", "ip": ipb}]}, format="json"))
        lab_run(h2, "ip", "route", "add", str(ISOLATED), "via", h1.address)
        loga = boot(h1, "ri1", {"type": "network", "source": "inet", "mac": "52:54:00:79:00:0a"},
                    [ipb, gw, h2.address], kernel_initrd)
        logb = boot(h1, "ri2", {"type": "network", "source": "inet", "mac": "52:54:00:79:00:0b"},
                    [ipa, gw, h1.address], kernel_initrd)
        assert (lease(loga, ISOLATED), lease(logb, ISOLATED)) == (ipa, ipb)
        marks = len(console(loga)), len(console(logb))  # both up: the pings from here count
        packets = {
            "ri1->ri2": guest_pinged(loga, ipb, after=marks[0]),
            "ri2->ri1": guest_pinged(logb, ipa, after=marks[1]),
            "ri1->kvm1": guest_pinged(loga, gw), "kvm1->ri1": host_pings(h1, ipa, source=gw),
            "ri2->kvm1": guest_pinged(logb, gw), "ri2->kvm1-lan": guest_pinged(logb, h1.address),
            "kvm1-lan->ri2": host_pings(h1, ipb, tries=1, source=h1.address),
            "ri1->kvm2": guest_pinged(loga, h2.address), "kvm2->ri1": host_pings(h2, ipa),
        }
        # What the packets did: the guests see each other and the host at its virbr address
        # (both ways), not at its LAN one (libvirt's DHCP gives them no gateway: no way there,
        # and no way back for the host's pings from there), and nothing beyond kvm1 (libvirt
        # rejects it on the bridge, kvm2's route through kvm1 or not).
        assert packets == {"ri1->ri2": True, "ri2->ri1": True,
                           "ri1->kvm1": True, "kvm1->ri1": True, "ri2->kvm1": True,
                           "ri2->kvm1-lan": False,
                           "kvm1-lan->ri2": False,
                           "ri1->kvm2": False, "kvm2->ri1": False}, packets
        refresh(admin_api, kvm1)
        ri1 = Domain.objects.get(host=kvm1, name="ri1")
        ri2 = Domain.objects.get(host=kvm1, name="ri2")
        answer = ask(admin_api, ri1, f"vm:{kvm1.pk}:{ri2.uuid}")
        assert answer["verdict"] == "reachable" and not answer["causes"], answer
        answer = ask(admin_api, ri1, gw)
        assert answer["verdict"] == "reachable" and not answer["causes"], answer
        answer = ask(admin_api, ri2, h1.address)
        assert (answer["forward"], answer["backward"]) == (False, False), answer
        assert codes(answer) == {"isolated"} and "no default gateway" in answer["causes"][0]["text"]
        assert answer["destination"]["label"] == f"kvm1 at {h1.address}"
        # kvm1 by name: the address these guests use, at which both directions work.
        for vm in (ri1, ri2):
            answer = ask(admin_api, vm, "kvm1")
            assert answer["verdict"] == "reachable" and not answer["causes"], answer
            assert answer["destination"]["ip"] == gw
            assert answer["destination"]["label"] == f"kvm1 at {gw} (its address on inet)"
        answer = ask(admin_api, ri1, "kvm2")
        assert answer["verdict"] == "unreachable" and codes(answer) == {"isolated"}, answer
        assert {c["direction"] for c in answer["causes"]} == {"a-to-b", "b-to-a"}, answer
    finally:
        for lab, name in ((h1, "rg1"), (h2, "rg2"), (h1, "rg3"), (h1, "ri1"), (h1, "ri2")):
            lab_run(lab, "virsh", "destroy", name, check=False)
            lab_run(lab, "virsh", "undefine", name, check=False)
        lab_run(h1, "virsh", "net-destroy", "rnet", check=False)
        lab_run(h1, "virsh", "net-undefine", "rnet", check=False)
        lab_run(h2, "ip", "route", "del", str(ROUTED), check=False)
        lab_run(h1, "virsh", "net-destroy", "inet", check=False)
        lab_run(h1, "virsh", "net-undefine", "inet", check=False)
        lab_run(h2, "ip", "route", "del", str(ISOLATED), check=False)
        lab_run(h2, "ip", "link", "del", "br0", check=False)  # lab_reset puts eth0 back
