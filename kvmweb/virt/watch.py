"""Hold a libvirt connection to one host and report its events (used by the watcher process).

Callbacks run on libvirt's event-loop thread, so they only hand plain tuples to ``report``;
the caller processes them on its own thread.
"""

import libvirt

from .connection import open_connection

_CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "the connection failed",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "the host closed the connection",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "the host stopped answering keepalives",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "closed by kvmweb",
}
_LIFECYCLE = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}
_NET_LIFECYCLE = {
    libvirt.VIR_NETWORK_EVENT_DEFINED: "defined",
    libvirt.VIR_NETWORK_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_NETWORK_EVENT_STARTED: "started",
    libvirt.VIR_NETWORK_EVENT_STOPPED: "stopped",
}


class HostWatch:
    """Events of one host, reported as ``report(key, kind, name, detail)``.

    kinds: "domain" (lifecycle), "device-added", "device-removed", "network", "lost".
    """

    def __init__(self, key, target, report, keepalive=(2, 2)):
        self.key = key
        self.target = target
        self.report = report
        self.keepalive = keepalive
        self.conn = None
        self._callbacks = []

    def start(self):
        """Open the connection and register callbacks; raises VirtError when the host is down."""
        conn = open_connection(self.target, keepalive=self.keepalive)
        self.conn = conn
        self._callbacks = [
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        self._on_lifecycle, None),
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                        self._on_device_added, None),
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                        self._on_device_removed, None),
        ]
        self._net_callback = conn.networkEventRegisterAny(
            None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, self._on_network, None)
        conn.registerCloseCallback(self._on_close, None)
        return self

    def stop(self):
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.unregisterCloseCallback()
            for cb in self._callbacks:
                conn.domainEventDeregisterAny(cb)
            conn.networkEventDeregisterAny(self._net_callback)
            conn.close()
        except libvirt.libvirtError:
            pass  # the connection is already gone

    # Callbacks (libvirt's event thread): report and return.
    def _on_lifecycle(self, _conn, dom, event, _detail, _opaque):
        self.report(self.key, "domain", dom.name(), _LIFECYCLE.get(event, str(event)))

    def _on_device_added(self, _conn, dom, dev_alias, _opaque):
        self.report(self.key, "device-added", dom.name(), dev_alias)

    def _on_device_removed(self, _conn, dom, dev_alias, _opaque):
        self.report(self.key, "device-removed", dom.name(), dev_alias)

    def _on_network(self, _conn, net, event, _detail, _opaque):
        self.report(self.key, "network", net.name(), _NET_LIFECYCLE.get(event, str(event)))

    def _on_close(self, _conn, reason, _opaque):
        self.report(self.key, "lost", "", _CLOSE_REASONS.get(reason, f"closed ({reason})"))
