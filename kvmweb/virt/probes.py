"""Active reachability probes: real packets, sent where the host can send them.

From a host: ``ping`` / ``arping`` run on the host (kvmweb.virt.hostnet.probe, shipped by
mitogen, argument lists only). From a guest: ``ping`` run through qemu-guest-agent's
``guest-exec`` (libvirt_qemu.qemuAgentCommand), when the VM has the agent; otherwise the answer
says so and nothing is faked. Every probe is short (a few packets, a few seconds).

Each function returns a plain dict: ``command`` (the argument list), ``sent``, ``received``,
``output`` (an excerpt) and, when the probe could not run, ``unavailable`` (why)."""

import base64
import ipaddress
import json
import re
import time

import libvirt_qemu

from . import domains, hostnet, remote
from .connection import call
from .errors import VirtError
from .xml import safe_parse

COUNT, WAIT = 3, 2
AGENT_CHANNEL = "org.qemu.guest_agent.0"
_IFNAME = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
# iputils: "3 packets transmitted, 3 received"; busybox: "3 packets transmitted, 0 packets
# received"; arping (both): "Sent 3 probe(s)" / "Received 1 response(s)".
_PING = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_ARP_SENT = re.compile(r"Sent (\d+) probe")
_ARP_RECEIVED = re.compile(r"Received (\d+) (?:response|reply)")


def counts(tool, output):
    """(sent, received) read from ping's / arping's summary; (None, None) without one."""
    if tool == "ping":
        m = _PING.search(output or "")
        return (int(m[1]), int(m[2])) if m else (None, None)
    sent, received = _ARP_SENT.search(output or ""), _ARP_RECEIVED.search(output or "")
    return (int(sent[1]) if sent else None, int(received[1]) if received else None)


def check(ip, iface=""):
    """Validated arguments, before anything is sent to a host (ValueError says why). ``iface``
    is an interface name or, for ping, a source address (``ping -I`` takes both)."""
    address = ipaddress.ip_address(ip)
    if address.version != 4:
        raise ValueError(f"{ip} is not an IPv4 address")
    if iface and not _IFNAME.fullmatch(iface):
        raise ValueError(f"{iface!r} is not an interface name")
    return str(address), iface


def _excerpt(text, limit=600):
    text = (text or "").strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def from_host(target, tool, ip, iface="", count=COUNT, wait=WAIT):
    """``ping`` (optionally from ``iface``) or ``arping`` (on ``iface``) run on the host."""
    ip, iface = check(ip, iface)
    try:
        done = remote.run(target, hostnet.probe, tool, ip, count, wait, iface)
    except VirtError as exc:
        if exc.code != VirtError.REMOTE or exc.retryable:
            raise
        return {"command": [tool, ip], "sent": None, "received": None, "output": "",
                "unavailable": str(exc)}
    sent, received = counts(tool, done["output"])
    return {"command": done["command"], "sent": sent, "received": received,
            "output": _excerpt(done["output"])}


def has_agent_channel(domain_xml):
    """Whether the domain has the qemu-guest-agent channel (the guest may still not run it)."""
    root = safe_parse(domain_xml)
    return any(t.get("name") == AGENT_CHANNEL
               for t in root.iterfind("./devices/channel/target"))


def _agent(dom, command, timeout=5):
    """One guest agent command; VirtError with libvirt's message when the agent is not there."""
    reply = call(libvirt_qemu.qemuAgentCommand, dom, json.dumps(command), timeout, 0)
    return json.loads(reply).get("return")


def from_guest(dom, ip, count=COUNT, wait=WAIT):
    """``ping`` run inside the guest through the guest agent (guest-exec, guest-exec-status)."""
    ip, _ = check(ip)
    args = ["-c", str(count), "-W", str(wait), ip]
    shown = ["ping"] + args
    unavailable = None
    if not has_agent_channel(domains.xml(dom)):
        unavailable = ("guest agent not available: the VM has no qemu-guest-agent channel "
                       f"({AGENT_CHANNEL}), so kvmweb cannot run ping inside it")
    if unavailable is None:
        try:
            started = _agent(dom, {"execute": "guest-exec", "arguments": {
                "path": "ping", "arg": args, "capture-output": True}})
        except VirtError as exc:
            unavailable = f"guest agent not available: {exc}"
    if unavailable is not None:
        return {"command": shown, "sent": None, "received": None, "output": "",
                "unavailable": unavailable}
    deadline = time.monotonic() + count * wait + 10
    status = {}
    while time.monotonic() < deadline:
        status = _agent(dom, {"execute": "guest-exec-status",
                              "arguments": {"pid": started["pid"]}}) or {}
        if status.get("exited"):
            break
        time.sleep(0.5)
    output = "".join(base64.b64decode(status.get(k) or b"").decode(errors="replace")
                     for k in ("out-data", "err-data"))
    if not status.get("exited"):
        output += f"\n(ping had not ended after {count * wait + 10} s)"
    sent, received = counts("ping", output)
    return {"command": shown, "sent": sent, "received": received, "output": _excerpt(output)}

