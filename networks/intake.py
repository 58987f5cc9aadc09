"""From what a user sent (form fields, a spec dict or raw XML) to checked network XML.

Shared by the API serializers and the page forms. Everything here reads the database only;
``libvirt_check`` runs libvirt's own parser in this process (test driver), never on a host.
"""

from dataclasses import dataclass, field

from kvmweb.virt.networks import libvirt_check
from kvmweb.virt.xml import Network as NetworkXML
from kvmweb.virt.xml import XMLError

from . import choices, facts as host_facts
from .plan import plan
from .spec import apply, build, from_xml, with_defaults
from .validation import HostFacts, validate

RUNTIME_ATTRIBUTES = ("connections",)  # written by libvirt on live XML, never defined


@dataclass
class Intake:
    xml: str = ""
    spec: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors


def _iface_kind(facts, name):
    return (facts.interfaces.get(name) or {}).get("kind", "")


def _finish(result, doc, facts):
    xml = doc.to_xml()
    problem = libvirt_check(xml)
    if problem:
        result.errors.setdefault("xml" if not result.spec else "__all__", []).append(
            f"libvirt rejects this definition: {problem}")
    result.xml = xml
    return result


def create_from_spec(host, spec, facts=None):
    facts = facts or host_facts.load(host)
    spec = with_defaults(spec, facts)
    errors, warnings = validate(spec, facts)
    result = Intake(spec=spec, errors=errors, warnings=warnings)
    if errors:
        return result
    doc = build(spec)
    apply(doc, spec, iface_kind=_iface_kind(facts, spec.get("bridge") or ""))
    return _finish(result, doc, facts)


def parse_xml(text):
    """A Network document from untrusted text, or XMLError with a message for the user."""
    doc = NetworkXML.from_xml(text)
    if not doc.name:
        raise XMLError("the XML has no <name>")
    for attr in RUNTIME_ATTRIBUTES:
        doc.root.attrib.pop(attr, None)
    return doc


def _xml_problems(doc, facts, creating, own_bridge=""):
    """Our rules applied to what an XML document asks for, reported against the "xml" field."""
    problem = libvirt_check(doc.to_xml())
    if problem:
        return {"xml": [f"libvirt rejects this definition: {problem}"]}, []
    spec = from_xml(doc) | {"own_bridge": own_bridge}
    errors, warnings = validate(spec, facts, creating=creating)
    messages = [f"{name}: {msg}" if name not in ("__all__", "xml") else msg
                for name, msgs in errors.items() for msg in msgs]
    return ({"xml": messages} if messages else {}), warnings


def create_from_xml(host, text, facts=None):
    facts = facts or host_facts.load(host)
    try:
        doc = parse_xml(text)
    except XMLError as exc:
        return Intake(errors={"xml": [str(exc)]})
    errors, warnings = _xml_problems(doc, facts, creating=True)
    return Intake(xml=doc.to_xml(), errors=errors, warnings=warnings)


# -- edits ------------------------------------------------------------------------------

def _edit_facts(network):
    return host_facts.load(network.host, exclude_network=network)


def edit_from_spec(network, changes):
    """Apply changed fields to the stored definition (unknown elements survive)."""
    facts = _edit_facts(network)
    doc = parse_xml(network.xml)
    spec = from_xml(doc) | dict(changes)
    if spec.get("name") != network.name:
        return Intake(spec=spec, errors={"name": ["a network cannot be renamed; "
                                                  "create a new one instead"]})
    spec = with_defaults(spec, facts)  # e.g. a cleared gateway or range: the subnet's defaults
    spec["own_bridge"] = network.bridge
    for key in ("start", "autostart"):
        spec.pop(key, None)
    errors, warnings = validate(spec, facts, creating=False)
    result = Intake(spec=spec, errors=errors, warnings=warnings)
    if errors:
        return result
    apply(doc, spec, iface_kind=_iface_kind(facts, spec.get("bridge") or ""))
    return _finish(result, doc, facts)


def edit_from_xml(network, text):
    facts = _edit_facts(network)
    try:
        doc = parse_xml(text)
    except XMLError as exc:
        return Intake(errors={"xml": [str(exc)]})
    if doc.name != network.name:
        return Intake(errors={"xml": [f"the <name> must stay {network.name!r}; "
                                      "import the XML as a new network to copy it"]})
    current = parse_xml(network.xml)
    if doc.uuid is None and current.uuid:
        doc.uuid = current.uuid
    errors, warnings = _xml_problems(doc, facts, creating=False, own_bridge=network.bridge)
    return Intake(xml=doc.to_xml(), errors=errors, warnings=warnings)


def edit_plan(network, new_xml):
    """The diff, what goes live, what needs a restart, and the VM NICs a restart cuts off."""
    current = parse_xml(network.xml).to_xml()
    result = plan(current, new_xml)
    needs_restart = bool(result["restart_reasons"]) and network.active
    result["restart_required"] = needs_restart
    result["affected_nics"] = [
        {"vm": nic.domain.name, "state": nic.domain.state, "mac": nic.mac, "target": nic.target}
        for nic in network.attached_nics()
    ] if needs_restart else []
    # An inactive network (or a change with no live part) is simply redefined.
    result["action"] = ("network.update" if not result["restart_reasons"]
                        else "network.redefine")
    return result


# -- on behalf of a user -------------------------------------------------------------------

def subnet_of(xml):
    ip4 = NetworkXML.from_xml(xml).ip_for(4)
    return str(ip4.network) if ip4 is not None and ip4.network is not None else ""


def create_for(user, host, team=None, spec=None, xml=None):
    """Check a new network asked for by ``user`` (a spec or XML) for the team it will belong to:
    who may (Refused), the team's pool subnet (IPAM), our rules, then the team's quota (Refused
    with used/allowed). Returns (team, Intake)."""
    from kvmweb.access import Refused
    from teams.quotas import over_quota, subnet_addresses

    from . import access, ipam

    team = access.require_create_network(user, host, team)
    if xml is not None:
        access.require_xml(user, xml)
        result = create_from_xml(host, xml)
    else:
        access.require_spec(user, spec)
        spec, errors = ipam.fill_subnet(user, team, host, spec)
        if errors:
            return team, Intake(spec=spec, errors=errors)
        result = create_from_spec(host, spec)
    if result.ok:
        problem = over_quota(team, max_networks=1,
                             max_addresses=subnet_addresses(subnet_of(result.xml)))
        if problem:
            raise Refused(problem)
    return team, result


def check_edit_for(user, network, result):
    """An edit by ``user``: the new definition must be one they may submit (kind, namespaces),
    a team network's subnet stays in the team's pools, and a larger subnet fits the quota."""
    from kvmweb.access import Refused, is_admin
    from teams.ipam import pool_of
    from teams.quotas import over_quota, subnet_addresses

    from . import access

    access.require_xml(user, result.xml)
    team, subnet = network.owner, subnet_of(result.xml)
    if team is None or is_admin(user) or not subnet:
        return
    if team.pools.exists() and pool_of(team, subnet) is None:
        raise Refused(f"{subnet} is outside team {team}'s address pools")
    grown = subnet_addresses(subnet) - sum(subnet_addresses(s) for s in network.subnets
                                           if ":" not in s)
    problem = over_quota(team, max_addresses=grown) if grown > 0 else None
    if problem:
        raise Refused(problem)


def no_facts():
    return HostFacts()


__all__ = ["Intake", "create_from_spec", "create_from_xml", "edit_from_spec", "edit_from_xml",
           "edit_plan", "parse_xml", "choices"]
