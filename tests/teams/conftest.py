"""A read model of two hosts and two teams, filled by hand (no host needed): who is who for the
permission tests.

kvm1 is granted to teams blue and red; kvm2 to nobody. blue owns network bluenet and VM bluevm
(disk /var/lib/libvirt/images/blue.qcow2), red owns VM redvm; network default and VM legacy on
kvm1 were found by a sync (no owner). Users: viewer (blue viewer), operator (blue operator),
other (red operator), teamadmin (blue team admin), staff (a superuser).
"""

import pytest
from rest_framework.test import APIClient

from hosts.models import Host, HostInterface
from networks.models import Network
from tests.conftest import grant
from vms.models import Domain, DomainInterface, StoragePool, Volume

NET_XML = ("<network><name>{}</name><bridge name='{}'/><forward mode='nat'/>"
           "<ip address='{}' netmask='255.255.255.0'/></network>")
DOM_XML = ("<domain type='qemu'><name>{}</name><devices><disk type='file' device='disk'>"
           "<source file='{}'/><target dev='vda'/></disk></devices></domain>")
ROLES = ("viewer", "operator", "other", "teamadmin", "staff")


class World:
    pass


@pytest.fixture
def world(db, django_user_model):
    w = World()
    w.host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                                 status=Host.Status.ONLINE, host_key="ssh-ed25519 AAAA",
                                 capabilities={"cpus": 8, "memory_mib": 16384,
                                               "domain_types": ["qemu"]})
    w.far = Host.objects.create(name="kvm2", uri="qemu+ssh://root@10.0.0.2/system",
                                status=Host.Status.ONLINE, host_key="ssh-ed25519 BBBB")
    HostInterface.objects.create(host=w.host, name="eth0", kind="physical",
                                 addresses=[{"family": "inet", "address": "10.0.0.1",
                                             "prefixlen": 24, "scope": 0}])
    HostInterface.objects.create(host=w.host, name="br0", kind="bridge")
    HostInterface.objects.create(host=w.host, name="virbr0", kind="bridge")
    pool = StoragePool.objects.create(host=w.host, name="default", uuid="p1", active=True,
                                      available=50 * 2 ** 30, path="/var/lib/libvirt/images")
    for name in ("blue.qcow2", "spare.qcow2", "installer.iso"):
        Volume.objects.create(pool=pool, name=name, path=f"/var/lib/libvirt/images/{name}")
    users = {name: django_user_model.objects.create_user(name, "", f"{name}-pass-123")
             for name in ROLES if name != "staff"}
    users["staff"] = django_user_model.objects.create_superuser("staff", "", "staff-pass-123")
    w.users = users
    w.blue = grant(users["viewer"], w.host, "viewer", "blue")
    grant(users["operator"], w.host, "operator", "blue")
    grant(users["teamadmin"], w.host, "admin", "blue")
    w.red = grant(users["other"], w.host, "operator", "red")
    w.default = Network.objects.create(
        host=w.host, name="default", uuid="n1", active=True, kind="nat", bridge="virbr0",
        subnets=["192.168.122.0/24"], xml=NET_XML.format("default", "virbr0", "192.168.122.1"))
    w.bluenet = Network.objects.create(
        host=w.host, name="bluenet", uuid="n2", active=True, kind="nat", bridge="virbr5",
        subnets=["10.20.0.0/24"], owner=w.blue,
        xml=NET_XML.format("bluenet", "virbr5", "10.20.0.1"))
    w.bluevm = Domain.objects.create(host=w.host, name="bluevm", uuid="d1", state="running",
                                     vcpus=1, memory_kib=262144, owner=w.blue,
                                     xml=DOM_XML.format("bluevm", "/var/lib/libvirt/images/blue.qcow2"))
    DomainInterface.objects.create(domain=w.bluevm, mac="52:54:00:00:00:01", type="network",
                                   source="bluenet", model="virtio")
    w.redvm = Domain.objects.create(host=w.host, name="redvm", uuid="d2", state="running",
                                    owner=w.red, xml=DOM_XML.format("redvm", "/x/red.qcow2"))
    DomainInterface.objects.create(domain=w.redvm, mac="52:54:00:00:00:02", type="network",
                                   source="default", model="virtio")
    w.legacy = Domain.objects.create(host=w.host, name="legacy", uuid="d3", state="running",
                                     xml=DOM_XML.format("legacy", "/x/legacy.qcow2"))
    w.farvm = Domain.objects.create(host=w.far, name="farvm", uuid="d4", state="running",
                                    xml=DOM_XML.format("farvm", "/x/far.qcow2"))
    return w


def api_as(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api(world):
    """api(role) -> an API client signed in as that user of the world (None: anonymous)."""
    return lambda role: api_as(world.users[role] if role else None)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings, request):
    """Rate-limit and login counters live in Redis: a prefix per test keeps them apart. (And a
    fast password hasher: the world makes five users per test.)"""
    import uuid

    if not request.node.get_closest_marker("browser"):  # daphne must read the hashes too
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.KVMWEB_RATELIMIT_PREFIX = f"kvmweb-rl-test-{uuid.uuid4().hex[:8]}"
