"""Which version of a host's interfaces a host network change was planned against (issue 11:
no silent overwrite; the shared rules are operations.versions).

The version is a short hash of the interfaces' configuration in the read model (name, kind, MAC,
MTU, master, parent, up, addresses, routes; not counters or carrier). A change that carries a
version is refused with 409 when the interfaces are no longer in that state, or while another
host network change is queued or running; the body has the diff since and the version to plan
against. The states whose version was shown are kept a while (Redis) so the diff can be told.
"""

import json

from django.urls import reverse

from kvmweb.conflicts import Conflict
from kvmweb.definitions import unified_diff, version_of
from operations import versions as shared
from operations.locks import client

KEEP_SECONDS = 6 * 3600


def state_text(host):
    lines = []
    for i in host.interfaces.order_by("name"):
        addresses = sorted(f"{a.get('address')}/{a.get('prefixlen')}" for a in i.addresses or [])
        routes = sorted(f"{r.get('dst')} via {r.get('gateway') or '-'}"
                        for r in (i.stats or {}).get("routes", []))
        lines.append(json.dumps({"name": i.name, "kind": i.kind, "mac": i.mac, "mtu": i.mtu,
                                 "master": i.master, "parent": i.parent, "up": i.up,
                                 "addresses": addresses, "routes": routes}, sort_keys=True))
    return "\n".join(lines)


def _key(host, version):
    return f"kvmweb:hostnet:state:host{host.pk}:{version}"


def _remember(host, text):
    """The version of this state of the host's interfaces, kept a while for a diff later."""
    version = version_of(text)
    try:
        client().set(_key(host, version), text, ex=KEEP_SECONDS)
    except Exception:  # noqa: BLE001 - without Redis a refusal only lacks its diff
        pass
    return version


def current_version(host):
    """The version of the host's interfaces now (and remember that state for a diff later)."""
    return _remember(host, state_text(host))


def conflict(host, seen_version, target):
    if not seen_version:
        return None
    text = state_text(host)
    now = version_of(text)
    pending = shared.operations_on(host.pk, target).filter(
        action__startswith="hostnet.", status__in=shared.BUSY).order_by("-pk").first()
    if seen_version == now and not pending:
        return None
    try:
        base = client().get(_key(host, seen_version))
    except Exception:  # noqa: BLE001
        base = None
    diff = unified_diff(base.decode(), text) if base else ""
    body = shared.refusal(f"the interfaces of {host.name}", _remember(host, text), seen_version,
                          diff, pending)
    body["replan_page"] = reverse("hostnet:host", args=[host.pk])
    return body


def refuse_if_stale(host, seen_version, target):
    body = conflict(host, seen_version, target)
    if body:
        raise Conflict(body)
