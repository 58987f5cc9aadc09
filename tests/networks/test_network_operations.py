"""The network handlers' own rollback paths, with libvirt replaced by a recording fake (the
lab tests prove the effects on real hosts)."""

import pytest

from kvmweb.virt.errors import VirtError
from networks import operations
from operations.models import Operation

OLD = "<network><name>n1</name><bridge name='br-old'/></network>"
NEW = "<network><name>n1</name><bridge name='br-new'/></network>"


class FakeVirt:
    """One running, persistent network whose new definition libvirt refuses to start."""

    def __init__(self):
        self.xml, self.active, self.calls = OLD, True, []

    def require(self, conn, name):
        return self.lookup(conn, name)

    def lookup(self, conn, name):
        return "n1"

    def xml_desc(self, net, inactive=False):
        return self.xml

    def is_persistent(self, net):
        return True

    def is_active(self, net):
        return self.active

    def define(self, conn, xml):
        self.calls.append("define")
        self.xml = xml
        return "n1"

    def stop(self, net):
        self.calls.append("stop")
        self.active = False

    def start(self, net):
        self.calls.append("start")
        if self.xml == NEW:
            raise VirtError("Cannot get interface MTU on 'br-new'", VirtError.INVALID,
                            retryable=False)
        self.active = True


@pytest.mark.django_db
def test_a_refused_redefinition_restores_the_previous_one_and_restarts_it(synced_host,
                                                                          monkeypatch):
    fake = FakeVirt()
    for name in ("require", "lookup", "xml_desc", "is_persistent", "is_active", "define",
                 "stop", "start"):
        monkeypatch.setattr(operations.virt, name, getattr(fake, name))
    monkeypatch.setattr(operations, "_conn", lambda op: object())
    monkeypatch.setattr(operations, "refresh", lambda op, conn, name: None)
    op = Operation.objects.create(host=synced_host, host_name=synced_host.name,
                                  action="network.redefine", target="network:n1",
                                  params={"xml": NEW})

    operations.redefine_operation(op)

    op.refresh_from_db()
    assert op.status == Operation.Status.ROLLED_BACK, op.log
    assert "previous definition was restored and the network restarted" in op.error
    assert fake.xml == OLD and fake.active
    assert fake.calls == ["define", "stop", "start", "define", "start"]
