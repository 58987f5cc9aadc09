"""A VM in the read model with a VNC display (no host needed)."""

import pytest

from hosts.models import Host
from vms.models import Domain

VNC_XML = """<domain type='qemu'><name>web1</name><uuid>d1</uuid><devices>
<serial type='pty'><target port='0'/></serial>
<graphics type='vnc' port='5901' autoport='yes' listen='{listen}' passwd='s3cret-vnc'>
<listen type='address' address='{listen}'/></graphics></devices></domain>"""


@pytest.fixture
def host():
    return Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.ONLINE, host_key="ssh-ed25519 AAAA")


@pytest.fixture
def vm(host):
    return Domain.objects.create(host=host, name="web1", uuid="d1", state="running",
                                 xml=VNC_XML.format(listen="0.0.0.0"))
