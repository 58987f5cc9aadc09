"""The worker side: send each planned active probe and store what came back; read whether a
host routes IPv4 (part of every host sync)."""

from hosts import operations as host_operations
from hosts.models import Host
from kvmweb.virt import domains
from kvmweb.virt import probes as virt_probes
from kvmweb.virt.errors import VirtError
from operations import services as ops

from .models import Probe


def _send(spec):
    host = Host.objects.filter(pk=spec["host"]).first()
    if host is None:
        return {"command": [], "sent": None, "received": None, "output": "",
                "unavailable": "the host is no longer known to kvmweb"}
    target = host.target()
    if spec["kind"] == "host-ping":
        return virt_probes.from_host(target, "ping", spec["to"], spec.get("iface", ""))
    if spec["kind"] == "host-arping":
        return virt_probes.from_host(target, "arping", spec["to"], spec["iface"])
    dom = domains.lookup(host_operations.libvirt_connection(host), spec["vm"])
    return virt_probes.from_guest(dom, spec["to"])


def _line(result):
    if result.get("unavailable"):
        return f"{result['title']}: {result['unavailable']}"
    return (f"{result['title']}: {result.get('received')}/{result.get('sent')} came back "
            f"({' '.join(result.get('command') or [])})")


@ops.handler("reachability.probe", resumable=True, retry=False)
def probe(op):
    """Send the probes one by one (each a few seconds at most). Step-checked: a run resumed
    after its worker died skips the probes whose results are already stored."""
    row = Probe.objects.get(pk=op.params["probe"])
    total = len(row.planned)
    for i, spec in enumerate(row.planned):
        if i < len(row.results):
            continue
        ops.report(op, f"sending: {spec['title']}", progress=5 + 90 * i // max(total, 1))
        try:
            result = _send(spec)
        except VirtError as exc:  # a host that is down fails its probes, not the others
            result = {"command": [], "sent": None, "received": None, "output": "",
                      "unavailable": f"could not run: {exc}"}
        row.results = row.results + [{**spec, **result}]
        row.save(update_fields=["results"])
        ops.report(op, _line(row.results[-1]), progress=5 + 90 * (i + 1) // max(total, 1))


def read_ip_forwarding(host):
    """Part of every host sync (hosts.operations.SYNC_EXTENSIONS): whether the host routes IPv4,
    kept in its capabilities for the analysis (until a sync records it, it is an assumption)."""
    from kvmweb.virt.netlink import read_ip_forwarding as read

    forwarding = read(host.target())
    caps = dict(Host.objects.filter(pk=host.pk).values_list("capabilities", flat=True).first() or {})
    caps["ip_forward"] = forwarding
    Host.objects.filter(pk=host.pk).update(capabilities=caps)
