"""One host cannot take the watcher down: kvm1's libvirtd paused and resumed (SIGSTOP/SIGCONT)
again and again with a sync in flight, then kvm1's watcher process killed with SIGSEGV; kvm2's
events (netlink: a veth added on the host; libvirt: a network defined with virsh) keep reaching
the read model within seconds all along, and kvm1 is taken over again by a restarted process."""

import os
import signal
import time

import pytest
import redis
from django.conf import settings

from hosts.models import Host, HostInterface
from networks.models import Network
from operations.models import Operation
from tests.conftest import add_lab_host, lab_run, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def owner_pid(claims, host):
    """The pid of the watcher process holding ``host`` (its claim is "hostname:pid")."""
    value = claims.get(f"kvmweb:watch:host{host.pk}")
    return int(value.decode().rsplit(":", 1)[1]) if value else None


def flows(lab_host, host, name, timeout=10):
    """A veth added on the host shows in the read model within ``timeout`` s, and goes
    when removed; returns how long the first took."""
    lab_run(lab_host, "ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    started = time.monotonic()
    try:
        wait_for(lambda: HostInterface.objects.filter(host=host, name=name).exists(),
                 timeout=timeout, interval=0.1, what=f"{name} added on {host} shown")
        took = time.monotonic() - started
    finally:
        lab_run(lab_host, "ip", "link", "del", name, check=False)
    wait_for(lambda: not HostInterface.objects.filter(host=host, name=name).exists(),
             timeout=timeout, interval=0.1, what=f"{name} removed on {host} shown")
    return took


def test_one_host_cannot_stop_the_others_events(admin_api, lab_hosts, watcher, tmp_path):
    lab1, lab2 = lab_hosts
    for lab in lab_hosts:
        for link in ("kwd1", "kwd2", "kwd3", "kwd4", "kwd5"):
            lab_run(lab, "ip", "link", "del", link, check=False)
        lab_run(lab, "virsh", "net-undefine", "kw-crash", check=False)
    host1, sync1 = add_lab_host(admin_api, lab1)
    host2, sync2 = add_lab_host(admin_api, lab2)
    assert sync1.status == sync2.status == "succeeded"
    assert host1.pk % 2 != host2.pk % 2  # two groups: two watcher processes
    claims = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: owner_pid(claims, host1) and owner_pid(claims, host2), timeout=60,
             what="both hosts claimed")
    first = owner_pid(claims, host1)
    assert first != owner_pid(claims, host2), "both hosts in one watcher process"
    flows(lab2, host2, "kwd1", timeout=20)  # the netlink streams are open

    # kvm1 paused and resumed, for shorter and longer than libvirt's keepalive allows, each
    # time with a sync of kvm1 in flight; kvm2's events keep coming meanwhile.
    for i, paused in enumerate((2, 6, 1, 5)):
        response = admin_api.post(f"/api/hosts/{host1.pk}/sync/")
        assert response.status_code in (202, 409), response.content
        os.kill(lab1.libvirtd_pid, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            took = flows(lab2, host2, f"kwd{2 + i % 2}")
            print(f"round {i}: kvm1 paused; kvm2's link shown after {took:.2f} s")
            time.sleep(max(0.0, paused - (time.monotonic() - stopped)))
        finally:
            os.kill(lab1.libvirtd_pid, signal.SIGCONT)
        time.sleep(0.5)  # the crash came 0.1 s after a resume: kvm2 right after it
        took = flows(lab2, host2, "kwd4")
        print(f"round {i}: kvm1 resumed; kvm2's link shown after {took:.2f} s")
    survived = owner_pid(claims, host1) == first
    print(f"kvm1's watcher process {'survived' if survived else 'did not survive'} the pauses")
    wait_for(lambda: Host.objects.get(pk=host1.pk).status == Host.Status.ONLINE, timeout=30,
             what="kvm1 online after the pauses")
    wait_for(lambda: not Operation.objects.filter(host=host1, status__in=["queued", "running"])
             .exists(), timeout=120, what="kvm1's syncs finished")

    # The crash itself, by hand: kvm1's watcher process dies of SIGSEGV. kvm2's libvirt and
    # netlink events still arrive, and kvm1 is picked up again at once (claims released).
    victim = wait_for(lambda: owner_pid(claims, host1), timeout=30, what="kvm1 claimed")
    os.kill(victim, signal.SIGSEGV)
    killed = time.monotonic()
    (tmp_path / "net.xml").write_text(
        "<network><name>kw-crash</name><ip address='192.168.239.1' netmask='255.255.255.0'/>"
        "</network>")
    lab_run(lab2, "virsh", "net-define", str(tmp_path / "net.xml"))
    try:
        wait_for(lambda: Network.objects.filter(host=host2, name="kw-crash").exists(), timeout=10,
                 interval=0.1, what="kvm2's network defined with virsh shown")
    finally:
        lab_run(lab2, "virsh", "net-undefine", "kw-crash", check=False)
    flows(lab2, host2, "kwd5")
    new = wait_for(lambda: (owner_pid(claims, host1) or victim) != victim and owner_pid(claims, host1),
                   timeout=30, interval=0.1, what="kvm1 claimed by a new watcher process")
    print(f"kvm1 claimed by pid {new} {time.monotonic() - killed:.1f} s after pid {victim} "
          "died of SIGSEGV")
    log = (tmp_path / "watcher.log").read_text()
    assert f"(pid {victim}) exited (killed by SIGSEGV)" in log, log[-3000:]
    assert f"released the claims of watcher group {host1.pk % 2}/2 (pid {victim}) on hosts " \
           f"{host1.pk}" in log, log[-3000:]
    took = flows(lab1, host1, "kwd1", timeout=30)
    print(f"kvm1's events flow again ({took:.2f} s for a link)")
    assert Host.objects.get(pk=host1.pk).status == Host.Status.ONLINE
