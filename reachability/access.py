"""Who may ask which reachability question: the only place (on topology.access, which is built
on the hosts, networks and VMs rules).

A user asks about what they may see: both ends must be in their own view of the topology (the
hosts they may see, without the networks and VMs hidden from them), and the analysis runs on
that view only, so an answer never names an object they could not open. An outside address
is anyone's to ask about (it is only a number on a LAN segment they see).
"""

from kvmweb.access import SIGNED_IN, TEAM_MEMBER, Check
from topology.access import hidden_objects, topology_hosts


def question_scope(user):
    """(host pks, (hidden network pks, hidden VM pks) or None) of what ``user`` asks about."""
    hosts = topology_hosts(user)
    return hosts, hidden_objects(user, hosts)


# Expected rules (kvmweb.access, tests/teams/test_matrix.py): bluevm belongs to team blue.
_ASK = {"source_vm": "{bluevm}", "destination": "10.0.0.1"}
PERMISSIONS = {
    "reachability:ask": [Check(SIGNED_IN), Check(TEAM_MEMBER, data=_ASK)],
    "reachability-api": Check(TEAM_MEMBER, data=_ASK),  # an APIView: rules like a page
}
