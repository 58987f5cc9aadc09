"""Proof with packets (active probes): which probes a question gets (hand-made read models),
how ping / arping summaries are read, a guest without qemu-guest-agent (libvirt's test
driver), who may send probes, and how the stored results sit beside the analysis. The lab test
(test_reachability_lab.py) sends real ones."""

import libvirt
import pytest

from kvmweb.virt import probes as virt_probes
from operations.models import Operation
from reachability import choices as C
from reachability import probes
from reachability.analysis import end_for
from reachability.models import Probe
from reachability.places import Index
from tests.reachability.test_analysis import NIC1, nat_pair
from tests.teams.conftest import _fresh_rate_limits, api, world  # noqa: F401 - fixtures


def test_a_host_pings_and_a_guest_pings_in_the_right_directions():
    model = nat_pair()
    ix = Index(model)
    planned = probes.plan(ix, end_for(ix, NIC1), end_for(ix, "host:2"))
    kinds = [(p["kind"], p["direction"], p["to"]) for p in planned]
    assert ("guest-ping", C.FORWARD, "10.79.1.12") in kinds      # from inside the guest
    assert ("host-ping", C.BACKWARD, "192.168.122.10") in kinds  # kvm2 pings the guest
    arping = next(p for p in planned if p["kind"] == "host-arping")
    assert (arping["host"], arping["iface"], arping["to"]) == (1, "virbr0", "192.168.122.10")


def test_a_host_pings_from_the_address_the_question_is_about():
    from reachability.places import address_ends
    from tests.reachability.test_analysis import private_net
    from tests.topology.topology_fixtures import two_hosts

    model = two_hosts()
    vm = private_net(model, 1, "inet", "virbr9", None, "10.9.0.0/24", "iso", "52:54:00:dd:00:01",
                     "10.9.0.5")
    ix = Index(model)
    for host, source in (("host:1", "10.9.0.1"), ("10.79.1.11", "10.79.1.11")):
        a, b = address_ends(ix, end_for(ix, vm), end_for(ix, host))
        ping = next(p for p in probes.plan(ix, a, b) if p["kind"] == "host-ping")
        assert (ping["to"], ping["iface"]) == ("10.9.0.5", source)
        assert ping["title"] == f"ping iso (10.9.0.5) from kvm1 at {source}" + (
            " (its address on inet)" if host == "host:1" else "")


def test_a_guest_without_an_address_gets_no_ping_towards_it():
    model = nat_pair()
    model.nics[0].ips = []
    ix = Index(model)
    planned = probes.plan(ix, end_for(ix, "host:2"), end_for(ix, NIC1))
    assert [p["kind"] for p in planned] == ["guest-ping"]  # only the guest can ping out


@pytest.mark.parametrize("tool,output,expected", [
    ("ping", "3 packets transmitted, 3 received, 0% packet loss, time 2003ms", (3, 3)),
    ("ping", "3 packets transmitted, 0 packets received, 100% packet loss", (3, 0)),
    ("arping", "Sent 3 probe(s) (1 broadcast(s))\nReceived 2 response(s)", (3, 2)),
    ("arping", "Sent 3 probes (1 broadcast(s))\nReceived 0 response(s)", (3, 0)),
    ("ping", "ping: sendto: Network unreachable", (None, None)),
])
def test_it_reads_ping_and_arping_summaries(tool, output, expected):
    assert virt_probes.counts(tool, output) == expected


def test_it_refuses_anything_but_an_address_before_sending():
    for bad in ("10.0.0.1; reboot", "-f", "::1"):
        with pytest.raises(ValueError):
            virt_probes.check(bad)
    with pytest.raises(ValueError):
        virt_probes.check("10.0.0.1", "eth0 -f")


def test_a_guest_without_the_agent_says_so():
    conn = libvirt.open("test:///default")
    try:
        result = virt_probes.from_guest(conn.lookupByName("test"), "10.0.0.1")
    finally:
        conn.close()
    assert result["sent"] is None and result["unavailable"].startswith("guest agent not available")
    assert result["command"] == ["ping", "-c", "3", "-W", "2", "10.0.0.1"]


def _ask(api, role, vm):
    return api(role).post("/api/reachability/probes/", {"source_vm": vm.pk,
                                                        "destination": "10.0.0.1"}, format="json")


@pytest.mark.django_db
def test_a_plain_user_may_not_send_probes(world, api):
    response = _ask(api, "viewer", world.bluevm)
    assert response.status_code == 403, response.content
    assert "operators of team blue" in response.json()["detail"]
    assert not Probe.objects.exists() and not Operation.objects.exists()
    assert _ask(api, "other", world.bluevm).status_code == 404  # team red does not see bluevm at all


@pytest.mark.django_db(transaction=True)
def test_probes_are_stored_with_the_question_and_compared(world, api, monkeypatch):
    response = _ask(api, "operator", world.bluevm)
    assert response.status_code == 202, response.content
    probe = Probe.objects.get(pk=response.json()["id"])
    assert probe.user == world.users["operator"] and probe.operation.action == "reachability.probe"
    assert [p["kind"] for p in probe.planned] == ["guest-ping"]
    # The worker's side, with the packets faked: the analysis says bluevm reaches kvm1 (its
    # own host, through virbr5), the ping says 0/3 came back.
    from reachability import operations

    monkeypatch.setattr(operations, "_send", lambda spec: {
        "command": ["ping", "-c", "3", "-W", "2", "10.0.0.1"], "sent": 3, "received": 0,
        "output": "3 packets transmitted, 0 packets received"})
    op = probe.operation
    operations.probe(op)
    operations.probe(op)  # resumed: the stored result is not sent again
    probe.refresh_from_db()
    assert len(probe.results) == 1 and probe.results[0]["received"] == 0
    (line,) = probes.compare(probe)
    assert line.startswith("The analysis says bluevm") and "but 0/3 pings came back" in line
    answer = api("operator").get("/api/reachability/", {"source_vm": world.bluevm.pk,
                                                        "destination": "10.0.0.1"}).json()
    (shown,) = answer["probes"]
    assert shown["id"] == probe.pk and shown["comparison"] == [line]
    assert shown["results"][0]["command"][0] == "ping"
    # Beside the analysis on the page, in plain words.
    from django.test import Client

    client = Client()
    client.force_login(world.users["operator"])
    page = client.get("/reachability/", {"source_vm": world.bluevm.pk,
                                         "destination": "10.0.0.1"}).content.decode()
    assert f'data-probe="{probe.pk}"' in page and "<b>0/3</b> came back" in page
    assert "but 0/3 pings came back" in page and "active" in page
    # Listed for who asked (and administrators), not for other members of the team.
    assert len(api("operator").get("/api/reachability/probes/").json()["results"]) == 1
    assert api("viewer").get(f"/api/reachability/probes/{probe.pk}/").status_code == 404
    assert api("staff").get(f"/api/reachability/probes/{probe.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_page_offers_probes_only_to_who_may_send_them(world):
    from django.test import Client

    query = {"source_vm": world.bluevm.pk, "destination": "10.0.0.1"}
    pages = {}
    for role in ("viewer", "operator"):
        client = Client()
        client.force_login(world.users[role])
        pages[role] = client.get("/reachability/", query).content.decode()
    assert 'id="reach-probe-form"' in pages["operator"] and "Send probes (active)" in pages["operator"]
    assert 'id="reach-probe-form"' not in pages["viewer"] and 'id="reach-probe-refused"' in pages["viewer"]
    client = Client()
    client.force_login(world.users["viewer"])  # and the page refuses the POST all the same
    assert client.post("/reachability/probe/", query).status_code == 403
    assert not Probe.objects.exists()


def test_the_host_side_probe_runs_ping_with_an_argument_list():
    """kvmweb.virt.hostnet.probe as a host runs it (here: this machine, busybox's ping where
    iputils is missing), on loopback only."""
    from kvmweb.virt import hostnet

    done = hostnet.probe("ping", "127.0.0.1", count=1, wait=1)
    assert done["command"] == ["ping", "-c", "1", "-W", "1", "127.0.0.1"]
    assert done["returncode"] == 0, done
    assert virt_probes.counts("ping", done["output"]) == (1, 1)
    with pytest.raises(ValueError):
        hostnet.probe("ping", "127.0.0.1; id")
    with pytest.raises(ValueError):
        hostnet.probe("sh", "127.0.0.1")


def test_a_disagreement_on_an_ambiguous_address_says_the_replies_may_be_another_machines():
    row = Probe(source_label="kvm2", destination_label="web (192.168.122.10)",
                verdict="unreachable", forward=False, backward=False,
                causes=["nat-inbound", "overlapping-subnets"], results=[
                    {"kind": "host-ping", "direction": "a-to-b", "to": "192.168.122.10",
                     "command": ["ping", "192.168.122.10"], "sent": 3, "received": 3}])
    (line,) = probes.compare(row)
    assert line.startswith("The analysis says kvm2 cannot reach web (192.168.122.10) "
                           "(unreachable) but 3/3 pings came back")
    assert "may come from another machine" in line


def test_a_guest_with_the_agent_pings_through_guest_exec(monkeypatch):
    """The guest agent's side, as QEMU's guest agent answers (guest-exec, then
    guest-exec-status until it exited, output in base64)."""
    import base64
    import json

    class Dom:
        def XMLDesc(self, flags):  # noqa: N802 - libvirt's name
            return ("<domain><devices><channel type='unix'><target type='virtio' "
                    "name='org.qemu.guest_agent.0'/></channel></devices></domain>")

    asked, polls = [], iter([{"exited": False}, {"exited": True, "exitcode": 0, "out-data":
                             base64.b64encode(b"3 packets transmitted, 2 received").decode()}])

    def agent(dom, command, timeout, flags):
        asked.append(json.loads(command))
        if asked[-1]["execute"] == "guest-exec":
            return json.dumps({"return": {"pid": 42}})
        return json.dumps({"return": next(polls)})

    monkeypatch.setattr(virt_probes.libvirt_qemu, "qemuAgentCommand", agent)
    monkeypatch.setattr(virt_probes.time, "sleep", lambda s: None)
    result = virt_probes.from_guest(Dom(), "10.0.0.1")
    assert (result["sent"], result["received"]) == (3, 2) and "unavailable" not in result
    assert asked[0]["arguments"] == {"path": "ping", "arg": ["-c", "3", "-W", "2", "10.0.0.1"],
                                     "capture-output": True}
    assert [a["execute"] for a in asked[1:]] == ["guest-exec-status"] * 2
