"""The watcher's libvirt subscriptions, on libvirt's test driver (the lab test proves the events
on a real host): every domain event kind kvmweb re-reads on, and network lifecycle."""

import queue

from kvmweb.virt.target import HostTarget
from kvmweb.virt.watch import HostWatch

NET = """<network><name>w1</name><bridge name='virbrw1'/>
  <ip address='10.9.9.1' prefix='24'/></network>"""


def test_it_subscribes_to_every_event_kind_and_reports_a_network_defined():
    seen = queue.Queue()
    watch = HostWatch(7, HostTarget("test:///default"), lambda *event: seen.put(event))
    watch.start()
    try:
        assert {"domain", "device-added", "device-removed", "device-removal-failed",
                "metadata", "tunable", "network"} <= set(watch.events)
        watch.conn.networkDefineXML(NET)
        assert seen.get(timeout=10) == (7, "network", "w1", "defined")
    finally:
        watch.stop()
