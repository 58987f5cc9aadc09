"""The fault suite: real workers killed with SIGKILL, the real Redis restarted, a lab host's
libvirtd restarted or paused (SIGSTOP), its sshd cut off with nft, each at a chosen step of a
real operation. Every operation must end within 30 s finished correctly (checked on the host
with virsh / ip) or failed cleanly (nothing half-made left); none stays running, none runs
twice. A table of what happened is printed at the end of the module.

"A chosen step": the workers here run with KVMWEB_FAULT_POINTS (operations.services.checkpoint),
which makes an operation pause at a named step until the test lets it go; the real operation
runs, nothing is mocked.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from hosts.models import Host
from hosts.tasks import check_all_hosts, request_background_sync
from kvmweb.celery import app, background_queue
from operations.models import Operation
from tests.conftest import (LAB_PREFIX, LAB_SUBNET, ROOT, add_lab_host, database_url, lab_run,
                            start_worker, stop_worker, wait_for, worker_ready)
from tests.hostnet.conftest import reset_lab_host
from tests.test_watcher_lab import block_ssh, unblock_ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECOVERY = 30  # seconds an operation may take to end after its fault
POINTS = ",".join([
    "network.create:defined@network:tf-kill", "network.redefine:stopped", "vm.create:volume",
    "nic.update:live", "hostnet.bridge_create:applied",
    "network.create:defined@network:tf-redis", "network.create:defined@network:tf-libvirtd",
    "network.create:defined@network:tf-ssh",
])
# Short beats so the suite is quick: a dead worker is noticed after 4 s, its leases last 3 s.
FAST = {"KVMWEB_HEARTBEAT": "1", "KVMWEB_HEARTBEAT_STALE": "4", "KVMWEB_LOCK_LEASE": "3",
        "KVMWEB_REAP_INTERVAL": "1", "KVMWEB_REQUEUE_AFTER": "8"}
RESULTS = defaultdict(lambda: {"hit": 0, "finished": 0, "failed_cleanly": 0, "bad": 0,
                               "recovery": []})


class Rig:
    """Two operations workers, one background worker and beat (with the reaper), all on a
    private queue, all paused at the fault points."""

    def __init__(self, tmp):
        self.tmp, self.queue = tmp, f"kvmweb-faults-{os.getpid()}"
        self.env = {**FAST, "KVMWEB_FAULT_POINTS": POINTS, "KVMWEB_FAULT_DIR": str(tmp),
                    "CELERY_QUEUE": self.queue}
        self.workers, self.spawned = {}, 0

    def spawn(self, wait=False):
        self.spawned += 1
        proc = start_worker([self.queue], self.tmp / f"ops{self.spawned}.log",
                            name=f"{self.queue}-{self.spawned}", env=self.env, wait=wait)
        self.workers[proc.pid] = proc
        return proc

    def start(self):
        self.background = start_worker([background_queue()], self.tmp / "background.log",
                                       name=f"{self.queue}-bg", env=self.env, concurrency=8,
                                       wait=False)
        first, second = self.spawn(), self.spawn()
        with open(self.tmp / "beat.log", "w") as out:
            self.beat = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "kvmweb", "beat", "--loglevel", "INFO",
                 "--schedule", str(self.tmp / "beat-schedule")],
                cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url(), **self.env},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        for proc in (first, second, self.background):
            worker_ready(proc)

    def stop(self):
        for proc in [*self.workers.values(), self.background]:
            stop_worker(proc)
        self.beat.terminate()
        self.beat.wait(20)

    def paused(self, op, point, timeout=60):
        def there():
            if (self.tmp / f"op{op.pk}-{point}.paused").exists():
                return True
            now = Operation.objects.get(pk=op.pk)
            assert not now.is_finished, f"{op.action} ended before {point}: {now.log}"
        wait_for(there, timeout, what=f"{op.action} to reach {point}")
        return Operation.objects.get(pk=op.pk)

    def release(self, op, point):
        (self.tmp / f"op{op.pk}-{point}.go").touch()

    def kill_worker_of(self, op):
        """SIGKILL the whole worker running ``op`` (as the OOM killer or a crash would), and
        start a replacement in the background, as a supervisor would."""
        pid = int(op.worker.split(":")[1])
        victim = self.workers.pop(pid)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        self.spawn()
        return time.monotonic()


@pytest.fixture(scope="module")
def rig(lab_hosts, tmp_path_factory, request):
    previous = app.conf.task_default_queue
    rig = Rig(tmp_path_factory.mktemp("faults"))
    app.conf.task_default_queue = rig.queue
    rig.start()
    yield rig
    rig.stop()
    app.conf.task_default_queue = previous
    _print_table(request.config)


def _print_table(config):
    rows = [("fault", "ops hit", "finished ok", "failed cleanly", "lost/half-made",
             "recovery (max)")]
    for fault, r in RESULTS.items():
        rows.append((fault, str(r["hit"]), str(r["finished"]), str(r["failed_cleanly"]),
                     str(r["bad"]), f"{max(r['recovery']):.1f} s" if r["recovery"] else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["", "fault suite (tests/operations/test_faults_lab.py):"]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    text = "\n".join(lines)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text)
    else:
        print(text)
    (Path(settings.STATE_DIR) / "fault_table.txt").write_text(text + "\n")


def record(fault, op, outcome, recovered_in, problems):
    """Count one operation a fault hit; ``problems``: what is lost or half-made (goal: none)."""
    r = RESULTS[fault]
    r["hit"] += 1
    r["recovery"].append(recovered_in)
    if problems or outcome not in ("finished", "failed_cleanly"):
        r["bad"] += 1
    else:
        r[outcome] += 1
    assert not problems, f"{fault} / {op.action}: {problems}\n{op.log}"
    assert recovered_in <= RECOVERY, f"{op.action} took {recovered_in:.1f} s to end\n{op.log}"


def ended(op_pk, since):
    """Wait (up to RECOVERY s) for an operation to end; return it and the seconds it took."""
    def done():
        op = Operation.objects.get(pk=op_pk)
        return op if op.is_finished else None
    op = wait_for(done, RECOVERY + 10, interval=0.2, what=f"operation {op_pk} to end")
    return op, time.monotonic() - since


# ------------------------------------------------------------------------------ host checks

def net_info(lab, name):
    """`virsh net-info` as {"active": bool, "autostart": bool}, or None when undefined."""
    out = lab_run(lab, "virsh", "net-info", name, check=False)
    if "Name:" not in out:
        return None
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.lower(): fields[k].strip() == "yes" for k in ("Active", "Autostart")}


def networks_named(lab, name):
    return lab_run(lab, "virsh", "-q", "net-list", "--all", "--name").split().count(name)


def forget_network(lab, name):
    lab_run(lab, "virsh", "net-destroy", name, check=False)
    lab_run(lab, "virsh", "net-undefine", name, check=False)


def network_xml(name, third_octet):
    return (f"<network><name>{name}</name><ip address='192.168.{third_octet}.1' "
            "netmask='255.255.255.0'/></network>")


def check_network_made(lab, op, name, runs=2):
    problems = []
    if op.status != "succeeded":
        problems.append(f"status {op.status}: {op.error}")
    if networks_named(lab, name) != 1:
        problems.append(f"{networks_named(lab, name)} networks named {name} on the host")
    if net_info(lab, name) != {"active": True, "autostart": True}:
        problems.append(f"{name} on the host: {net_info(lab, name)}")
    if op.attempts > runs:
        problems.append(f"ran {op.attempts} times")
    return problems


def create_network(user, host, name, octet):
    from networks.services import request_create

    return request_create(user, host, network_xml(name, octet))


# ------------------------------------------------------------------------------ the tests

def test_a_killed_worker_loses_no_operation(rig, admin_api, admin_user, lab_hosts):
    """SIGKILL the worker in the middle of each long kind of operation."""
    from hostnet import services as hostnet
    from networks.services import start as start_network_op
    from vms.models import Domain
    from vms.services import request_nic_update

    lab = lab_hosts[0]
    for name in ("tf-kill", "tf-redef"):
        forget_network(lab, name)
    lab_run(lab, "virsh", "destroy", "tf-vm", check=False)
    lab_run(lab, "virsh", "undefine", "tf-vm", "--remove-all-storage", check=False)
    if "images" not in lab_run(lab, "virsh", "pool-list", "--all", "--name"):
        lab_run(lab, "virsh", "pool-define-as", "images", "dir", "--target",
                "/var/lib/libvirt/images")
    lab_run(lab, "virsh", "pool-start", "images", check=False)
    lab_run(lab, "virsh", "vol-delete", "tf-vm.qcow2", "--pool", "images", check=False)
    host, sync = add_lab_host(admin_api, lab, "faults1")
    assert sync.status == "succeeded", sync.error
    fault = "worker SIGKILL"

    # network.create, killed after the define, before autostart and start.
    op = create_network(admin_user, host, "tf-kill", 231)
    op = rig.paused(op, "defined")
    since = rig.kill_worker_of(op)
    rig.release(op, "defined")
    op, took = ended(op.pk, since)
    record(fault, op, "finished", took, check_network_made(lab, op, "tf-kill"))
    assert op.attempts == 2 and "resuming on another worker" in op.log

    # network.redefine, killed after it stopped the network, before it started it again.
    op = create_network(admin_user, host, "tf-redef", 232)
    op, _ = ended(op.pk, time.monotonic())
    assert op.status == "succeeded", op.error
    from kvmweb.virt.xml import Network as NetworkXML

    edited = NetworkXML.from_xml(lab_run(lab, "virsh", "net-dumpxml", "--inactive", "tf-redef"))
    edited.mtu = 1400
    op = start_network_op(admin_user, host, "network.redefine", "tf-redef", xml=edited.to_xml())
    op = rig.paused(op, "stopped")
    assert net_info(lab, "tf-redef")["active"] is False  # half way: the network is down
    since = rig.kill_worker_of(op)
    rig.release(op, "stopped")
    op, took = ended(op.pk, since)
    problems = check_network_made(lab, op, "tf-redef")
    if "mtu size='1400'" not in lab_run(lab, "virsh", "net-dumpxml", "tf-redef"):
        problems.append("the new definition is not the running one")
    record(fault, op, "finished", took, problems)

    # vm.create, killed after it made the new volume, before the define.
    response = admin_api.post("/api/vms/", {
        "host": host.pk, "name": "tf-vm", "memory_mib": 64, "vcpus": 1, "disk": "new",
        "pool": "images", "disk_gib": 1, "boot": "hd", "start": False}, format="json")
    assert response.status_code == 202, response.content
    op = rig.paused(Operation.objects.get(pk=response.json()["id"]), "volume")
    since = rig.kill_worker_of(op)
    rig.release(op, "volume")
    op, took = ended(op.pk, since)
    problems = [] if op.status == "succeeded" else [f"status {op.status}: {op.error}"]
    volumes = lab_run(lab, "virsh", "-q", "vol-list", "images").split()
    if volumes.count("tf-vm.qcow2") != 1:
        problems.append(f"volumes: {volumes}")
    if "tf-vm.qcow2" not in lab_run(lab, "virsh", "dumpxml", "tf-vm", check=False):
        problems.append("tf-vm is not defined with its volume")
    record(fault, op, "finished", took, problems)
    lab_run(lab, "virsh", "undefine", "tf-vm", "--remove-all-storage", check=False)

    # nic.update (link down), killed after the live change, before the config change.
    vm = Domain.objects.get(host=host, name="pxe1")
    nic = vm.nics.first()
    try:
        op = request_nic_update(admin_user, vm, nic, {"link_state": "down"})
        op = rig.paused(op, "live")
        since = rig.kill_worker_of(op)
        rig.release(op, "live")
        op, took = ended(op.pk, since)
        problems = [] if op.status == "succeeded" else [f"status {op.status}: {op.error}"]
        for where in ([], ["--config"]):
            state = lab_run(lab, "virsh", "domif-getlink", "pxe1", nic.mac, *where).split()[-1]
            if state != "down":
                problems.append(f"link {' '.join(where) or 'live'} is {state}")
        record(fault, op, "finished", took, problems)
    finally:
        for where in ([], ["--config"]):
            lab_run(lab, "virsh", "domif-setlink", "pxe1", nic.mac, "up", *where, check=False)

    # bridge over the uplink, killed once applied, before it was proven: restored.
    plen = LAB_SUBNET.split("/")[1]
    try:
        op = hostnet.start(admin_user, host, "bridge_create",
                           {"name": "kbr9", "uplink": "eth0", "stp": False, "persist": False})
        op = rig.paused(op, "applied")
        assert "kbr9" in {i["ifname"] for i in json.loads(lab_run(lab, "ip", "-j", "link"))}
        since = rig.kill_worker_of(op)
        rig.release(op, "applied")
        op, took = ended(op.pk, since)
        problems = [] if op.status == "rolled_back" else [f"status {op.status}: {op.error}"]
        links = {i["ifname"]: i for i in json.loads(lab_run(lab, "ip", "-j", "addr"))}
        if "kbr9" in links or links["eth0"].get("master"):
            problems.append("the bridge is still there")
        if not any(a["local"] == lab.address for a in links["eth0"]["addr_info"]):
            problems.append("eth0 lost the management address")
        record(fault, op, "failed_cleanly", took, problems)
    finally:
        reset_lab_host(lab, plen)
    # A vm.create whose worker died for the last time it may: the next run gives up and
    # removes the volume it had made. (The row is set up as a run interrupted 4 times; the
    # reaper, the worker and the clean-up are the real ones.)
    lab_run(lab, "virsh", "vol-create-as", "images", "tf-gone.qcow2", "1M", "--format", "qcow2")
    spec = {"name": "tf-gone", "memory_mib": 64, "vcpus": 1, "disk": "new", "pool": "images",
            "disk_gib": 1, "boot": "hd", "start": False, "nics": [], "uuid": str(uuid.uuid4())}
    stale = timezone.now() - timedelta(seconds=60)
    op = Operation.objects.create(
        host=host, action="vm.create", target="domain:tf-gone", status="running", attempts=4,
        worker="gone:1:gone", heartbeat=stale, started=stale,
        params={"name": "tf-gone", "spec": spec, "made_volume": True},
        log="07:00:00 creating a 1 GiB qcow2 volume in pool images\n")
    op, took = ended(op.pk, time.monotonic())
    problems = [] if op.status == "failed" else [f"status {op.status}"]
    if "gave up after 4 interrupted attempts" not in op.error \
            or "Removed the new volume" not in op.error:
        problems.append(f"error: {op.error}")
    if "tf-gone.qcow2" in lab_run(lab, "virsh", "-q", "vol-list", "images"):
        problems.append("the volume it made is still there")
    record("worker gone, out of attempts", op, "failed_cleanly", took, problems)

    for name in ("tf-kill", "tf-redef"):
        forget_network(lab, name)
    assert not Operation.objects.filter(status__in=["queued", "running"]).exists()


def restart_redis():
    """Stop the test Redis (its data is gone: no persistence, as ./test and ./run start it) and
    start it again on the same port; ./test stops whichever Redis runs there at its end."""
    port = redis.Redis.from_url(settings.REDIS_URL).connection_pool.connection_kwargs["port"]
    info = redis.Redis.from_url(settings.REDIS_URL).info("server")
    os.kill(int(info["process_id"]), signal.SIGTERM)
    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True
                                    ).returncode != 0, 10, what="Redis to stop")
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            start_new_session=True)
    assert proc.poll() is None
    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True
                                    ).returncode == 0, 10, what="Redis to start")


def test_redis_libvirtd_and_sshd_faults_at_a_chosen_step(rig, admin_api, admin_user, lab_hosts):
    """network.create paused after its define, then: Redis restarted (with a second operation
    queued behind it), libvirtd restarted, sshd cut off until the operation notices."""
    from kvmweb.lab import restart_libvirtd

    from kvmweb.lab import pxe_domain_xml
    from vms.models import Domain
    from vms.services import request_nic_add

    lab = lab_hosts[0]
    names = ("tf-redis", "tf-libvirtd", "tf-ssh")
    for name in names:
        forget_network(lab, name)
    lab_run(lab, "virsh", "undefine", "tf-off", check=False)
    off_xml = Path(lab.state_dir) / "run" / "tf-off.xml"
    off_xml.write_text(pxe_domain_xml("tf-off", "default", "52:54:00:7f:00:01"))
    lab_run(lab, "virsh", "define", off_xml)  # a shut-off VM: NICs go to its config only
    host, sync = add_lab_host(admin_api, lab, "faults2")
    assert sync.status == "succeeded", sync.error

    if os.environ.get("KVMWEB_TEST_REDIS_RESTARTABLE"):  # ./test owns this Redis
        fault = "Redis restarted"
        first = rig.paused(create_network(admin_user, host, "tf-redis", 233), "defined")
        # Another app's change to the same host's plumbing waits for the host's lock.
        vm = Domain.objects.get(host=host, name="tf-off")
        second = request_nic_add(admin_user, vm, {"type": "network", "source": "default"})
        time.sleep(1.5)
        assert Operation.objects.get(pk=second.pk).status == "queued"
        since = time.monotonic()
        restart_redis()
        rig.release(first, "defined")
        first, took = ended(first.pk, since)
        record(fault, first, "finished", took, check_network_made(lab, first, "tf-redis"))
        second, took = ended(second.pk, since)
        problems = [] if second.status == "succeeded" else [f"{second.status}: {second.error}"]
        if second.started < first.finished:
            problems.append("the NIC change ran while the network change held the host")
        mac = second.params["nic"]["mac"]
        if mac not in lab_run(lab, "virsh", "domiflist", "tf-off", "--inactive"):
            problems.append(f"tf-off has no NIC {mac}")
        record(fault, second, "finished", took, problems)

    fault = "libvirtd restarted"
    op = rig.paused(create_network(admin_user, host, "tf-libvirtd", 235), "defined")
    restart_libvirtd(lab, prefix=LAB_PREFIX)
    since = time.monotonic()
    rig.release(op, "defined")
    op, took = ended(op.pk, since)
    record(fault, op, "finished", took, check_network_made(lab, op, "tf-libvirtd"))

    fault = "sshd dropped (nft)"
    op = rig.paused(create_network(admin_user, host, "tf-ssh", 236), "defined")
    block_ssh(lab)
    try:
        rig.release(op, "defined")
        # The connection's keepalive gives up after ~15 s: the run is interrupted, resumes.
        wait_for(lambda: "interrupted" in Operation.objects.get(pk=op.pk).log, 40,
                 what="the operation to notice the cut")
    finally:
        unblock_ssh(lab)
    since = time.monotonic()
    op, took = ended(op.pk, since)
    # A connect attempt made while sshd was still cut may fail once more: up to 3 runs.
    record(fault, op, "finished", took, check_network_made(lab, op, "tf-ssh", runs=3))
    for name in names:
        forget_network(lab, name)
    lab_run(lab, "virsh", "undefine", "tf-off", check=False)
    assert not Operation.objects.filter(status__in=["queued", "running"]).exists()


def test_a_paused_host_delays_nobody_else(rig, admin_api, admin_user, lab_hosts):
    """libvirtd of one host paused (SIGSTOP): its health check, sync and a user's change hang
    in their own slots; a user's change on another host starts within 1 s."""
    slow_lab, lab = lab_hosts[1], lab_hosts[0]
    for name in ("tf-iso1",):
        forget_network(lab, name)
    forget_network(slow_lab, "tf-iso2")
    host, _ = add_lab_host(admin_api, lab, "iso1")
    slow, _ = add_lab_host(admin_api, slow_lab, "iso2")
    os.kill(slow_lab.libvirtd_pid, signal.SIGSTOP)
    try:
        check_all_hosts.delay()
        request_background_sync(slow.pk)
        stuck = create_network(admin_user, slow, "tf-iso2", 237)
        wait_for(lambda: Operation.objects.get(pk=stuck.pk).status == "running", 10,
                 what="the change on the paused host to start")
        time.sleep(1)  # the check and the sync of the paused host are hanging by now
        op = create_network(admin_user, host, "tf-iso1", 238)
        op, took = ended(op.pk, time.monotonic())
        waited = (op.started - op.created).total_seconds()
        print(f"\nchange on the healthy host started {waited:.2f} s after it was created, "
              f"finished in {took:.1f} s, while {slow} is paused")
        problems = check_network_made(lab, op, "tf-iso1")
        if waited >= 1:
            problems.append(f"it waited {waited:.2f} s to start")
        assert Operation.objects.get(pk=stuck.pk).status == "running"  # really hanging
        record("libvirtd paused (SIGSTOP), other host", op, "finished", waited, problems)
    finally:
        os.kill(slow_lab.libvirtd_pid, signal.SIGCONT)
    stuck, _ = ended(stuck.pk, time.monotonic())
    assert stuck.status == "succeeded", stuck.error + stuck.log
    assert Host.objects.get(pk=slow.pk).status in ("online", "offline")
    forget_network(lab, "tf-iso1")
    forget_network(slow_lab, "tf-iso2")
