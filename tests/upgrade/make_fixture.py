"""Make the upgrade fixture: a SQLite database written by an earlier commit of kvmweb.

Run from a checkout of that commit (its own migrations and ORM make the data), e.g.:

    git worktree add --detach /tmp/kvmweb-old c1e6c7a
    ln -s "$PWD/.venv" /tmp/kvmweb-old/.venv
    cd /tmp/kvmweb-old && KVMWEB_STATE_DIR=/tmp/kvmweb-old/var \
        DATABASE_URL=sqlite:////tmp/out.sqlite3 .venv/bin/python /path/to/kvmweb/tests/upgrade/make_fixture.py /tmp/out.sqlite3
    git worktree remove --force /tmp/kvmweb-old

It migrates a fresh database, then writes a host, a NAT network with a lease, a VM with two NICs,
a team with a member, a grant, a quota, an API token, an audit entry and an operation with XML,
through that commit's models only (fields every later commit still has). The names and values
are read back by tests/upgrade/test_upgrade.py (FIXTURE_FACTS).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvmweb.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

NET_XML = """<network>
  <name>default</name>
  <uuid>8d2b1f1a-7d3c-4a55-9d51-9b3c1c0a0001</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:0a:00:01'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>
"""

VM_XML = """<domain type='qemu'>
  <name>web1</name>
  <uuid>8d2b1f1a-7d3c-4a55-9d51-9b3c1c0a0002</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/></os>
  <devices>
    <interface type='network'>
      <mac address='52:54:00:aa:00:01'/>
      <source network='default'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:aa:00:02'/>
      <source bridge='br0'/>
      <target dev='vnet1'/>
      <model type='e1000'/>
    </interface>
  </devices>
</domain>
"""


def main(out):
    from hosts.models import Host
    from networks.models import Lease, Network
    from operations.models import Operation
    from teams.models import ApiToken, AuditEntry, HostGrant, Membership, Team
    from vms.models import Domain, DomainInterface

    call_command("migrate", verbosity=0)
    User = get_user_model()
    admin = User.objects.create_superuser("admin", "", "admin-pass-123")
    alice = User.objects.create_user("alice", "", "alice-pass-123")
    host = Host.objects.create(
        name="kvm1", uri="qemu+ssh://root@10.0.0.1/system", status="online",
        host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVwZ3JhZGUtZml4dHVyZS1ob3N0LWtleS0wMDAx",
        host_key_fingerprint="SHA256:upgrade-fixture", hostname="kvm1.example.org",
        libvirt_version="9.0.0", hypervisor_version="7.2.0")
    team = Team.objects.create(name="blue", description="the blue team", max_vms=5, max_networks=3)
    Membership.objects.create(team=team, user=alice, role="operator")
    HostGrant.objects.create(team=team, host=host, networks=["default"], bridges=["br0"])
    net = Network.objects.create(host=host, owner=team, name="default",
                                 uuid="8d2b1f1a-7d3c-4a55-9d51-9b3c1c0a0001", xml=NET_XML,
                                 active=True, autostart=True, kind="nat", bridge="virbr0",
                                 subnets=[{"family": "ipv4", "address": "192.168.122.1",
                                           "prefix": 24}], dhcp=True)
    Lease.objects.create(network=net, mac="52:54:00:aa:00:01", ip="192.168.122.50", prefix=24,
                         hostname="web1")
    vm = Domain.objects.create(host=host, owner=team, name="web1",
                               uuid="8d2b1f1a-7d3c-4a55-9d51-9b3c1c0a0002", state="running",
                               vcpus=1, memory_kib=131072, xml=VM_XML)
    DomainInterface.objects.create(domain=vm, mac="52:54:00:aa:00:01", type="network",
                                   source="default", model="virtio", target="vnet0")
    DomainInterface.objects.create(domain=vm, mac="52:54:00:aa:00:02", type="bridge",
                                   source="br0", model="e1000", target="vnet1")
    Operation.objects.create(user=admin, host=host, host_name=host.name, team=team,
                             action="network.redefine", target="network:default",
                             status="succeeded", progress=100, log="redefined\n",
                             xml_before=NET_XML, xml_after=NET_XML.replace("stp='on'", "stp='off'"))
    token, secret = ApiToken.issue(alice, "ci")
    AuditEntry.objects.create(user=admin, username="admin", team=team, team_name="blue",
                              action="member.add", target="alice", after={"role": "operator"})
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    connection.close()
    facts = {"commit": commit, "token": secret, "database": Path(out).name}
    Path(out).with_suffix(".json").write_text(json.dumps(facts, indent=1) + "\n")
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1])
