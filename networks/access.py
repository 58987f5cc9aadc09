"""Who may see, create, change and use virtual networks: the only place (on kvmweb.access).

- Administrators (staff): everything.
- Members of a team see the networks on the hosts granted to the team that are unowned
  (synced, or made by an administrator) or owned by one of their teams.
- Operators create NAT, routed and isolated networks for their team on a granted host (within
  quota, subnet from the team's pool) and change or delete the networks their team owns.
  Host bridges, macvtap/passthrough/hostdev on physical devices, TFTP roots (a directory on
  the host) and XML with foreign namespaces (``dnsmasq:options`` can make dnsmasq run a
  script on the host) stay with administrators.
- NICs go on networks the user's team owns or its grant on the host names.
"""

from kvmweb import access as core
from kvmweb.access import (HOST_MEMBER, HOST_OPERATOR, OPERATOR, SIGNED_IN, TEAM_MEMBER,
                           TEAM_OPERATOR, Check, Refused, is_admin, require)
from kvmweb.virt.xml import Network as NetworkXML
from kvmweb.virt.xml import XMLError

from . import choices
from .models import Network

# What operators may create; every other kind touches host devices or bridges.
OPERATOR_KINDS = (choices.NAT, choices.ROUTE, choices.ISOLATED)
ADMIN_ONLY_FIELDS = {"tftp_root": "a TFTP root is a directory on the host"}


def visible_networks(user):
    return Network.objects.filter(core.visible_q(user))


def can_create_network(user, host):
    """Whether the user may create some network on this host (admin, or operator there)."""
    return is_admin(user) or core.operator_teams_on(user, host.pk).exists()


def require_create_network(user, host, team=None):
    """The team a new network on ``host`` will belong to; Refused when the user may not create
    networks there (see kvmweb.access.acting_team)."""
    return core.acting_team(user, host, team)


def can_change_network(user, network):
    """Editing, stopping, deleting: administrators, or operators of the owning team. Networks
    without an owner (found on the host by a sync) are for administrators only."""
    return core.may_change_owned(user, network)


def require_change_network(user, network):
    core.require_change_owned(user, network, f"network {network.name}")


def can_read_firewall(user, network):
    """A firewall read runs nft on the host: operators of a team granted the host (rate
    limited, see kvmweb.ratelimit) and administrators."""
    return is_admin(user) or (visible_networks(user).filter(pk=network.pk).exists()
                              and core.operator_teams_on(user, network.host_id).exists())


def require_read_firewall(user, network):
    require(can_read_firewall(user, network),
            "only administrators and operators of a team granted this host read its firewall")
    if not is_admin(user):
        from kvmweb.ratelimit import hit

        hit(user, "firewall", network.pk)


def spec_refusal(user, spec):
    """Why this user may not ask for a network like ``spec`` (None: fine)."""
    if is_admin(user):
        return None
    kind = spec.get("kind") or choices.NAT
    if kind not in OPERATOR_KINDS:
        return (f"only administrators create or edit {kind} networks (they use host bridges "
                "or devices); you may use NAT, routed and isolated networks")
    for key, why in ADMIN_ONLY_FIELDS.items():
        if spec.get(key):
            return f"only administrators set {key}: {why}"
    return None


def foreign_namespaces(xml_text):
    """Namespaces other than libvirt's plain network format used in ``xml_text``."""
    try:
        root = NetworkXML.from_xml(xml_text).root
    except XMLError:
        return []
    found = set()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            found.add(element.tag[1:].split("}")[0])
        found.update(k[1:].split("}")[0] for k in element.attrib if k.startswith("{"))
    return sorted(found)


def xml_refusal(user, xml_text):
    """Why this user may not submit this network XML (None: fine). Operators may send XML of the
    kinds they may create, in libvirt's own format only."""
    if is_admin(user):
        return None
    namespaces = foreign_namespaces(xml_text)
    if namespaces:
        return ("only administrators submit XML with foreign namespaces (" + ", ".join(namespaces)
                + "): dnsmasq:options and the like change what runs on the host")
    from .spec import from_xml

    try:
        spec = from_xml(NetworkXML.from_xml(xml_text))
    except XMLError:
        return None  # intake reports the parse error
    return spec_refusal(user, spec)


def require_spec(user, spec):
    problem = spec_refusal(user, spec)
    if problem:
        raise Refused(problem)


def require_xml(user, xml_text):
    problem = xml_refusal(user, xml_text)
    if problem:
        raise Refused(problem)


def may_use_network(user, network):
    """Whether the user may attach a NIC to this network: the team owns it, or the team's
    grant on the host names it. Unowned networks not named in a grant: administrators only."""
    if is_admin(user):
        return True
    if not core.operator_teams_on(user, network.host_id).exists():
        return False
    if network.owner_id is not None and network.owner_id in core.team_ids(user, OPERATOR):
        return True
    return core.may_use_shared(user, network.host_id, "networks", network.name)


def usable_networks(user, host):
    """The networks on ``host`` the user may attach NICs to (for forms)."""
    return [n for n in host.networks.all() if may_use_network(user, n)]


# Expected rules per URL (kvmweb.access, tests/teams/test_matrix.py). The network in the test
# belongs to team blue.
_NEW = {"name": "matrix", "kind": "nat"}
_NEW_XML = ("<network><name>matrix</name><forward mode='nat'/>"
            "<ip address='10.77.7.1' netmask='255.255.255.0'/></network>")
PERMISSIONS = {
    "networks:list": SIGNED_IN,
    "networks:host_list": HOST_MEMBER,
    "networks:add": [Check(SIGNED_IN), Check(HOST_OPERATOR, "POST", {**_NEW, "host": "{host}"})],
    "networks:import": [Check(SIGNED_IN),
                        Check(HOST_OPERATOR, "POST", {"host": "{host}", "xml": _NEW_XML})],
    "networks:detail": TEAM_MEMBER,
    "networks:edit": TEAM_OPERATOR,
    "networks:xml_edit": TEAM_OPERATOR,
    "networks:xml_download": TEAM_MEMBER,
    "networks:action": [Check(TEAM_OPERATOR, "POST", action=a) for a in
                        ("start", "stop", "autostart-on", "autostart-off", "delete", "firewall")],
    "api:network-list": {"GET": SIGNED_IN,
                         "POST": Check(HOST_OPERATOR, data={**_NEW, "host": "{host}"})},
    "api:network-detail": {"GET": TEAM_MEMBER, "PUT": Check(TEAM_OPERATOR, data={"mtu": 1400}),
                           "PATCH": Check(TEAM_OPERATOR, data={"mtu": 1400}),
                           "DELETE": TEAM_OPERATOR},
    "api:network-autostart": {"POST": Check(TEAM_OPERATOR, data={"on": False})},
    "api:network-firewall": {"GET": TEAM_MEMBER, "POST": TEAM_OPERATOR},
    "api:network-leases": {"GET": TEAM_MEMBER},
    "api:network-start": {"POST": TEAM_OPERATOR},
    "api:network-stop": {"POST": TEAM_OPERATOR},
    "api:network-xml": {"GET": TEAM_MEMBER, "PUT": Check(TEAM_OPERATOR, data={"xml": "<network/>"})},
}
