"""What an installation holds and whether it answers, as JSON on stdout.

Run as a separate process against any installation (its DATABASE_URL and KVMWEB_STATE_DIR in the
environment): ``python tests/install_probe.py [API_TOKEN ...]``. The backup and upgrade tests
run it on a restored or upgraded database, which is not the test process's own.
Pages and the API are asked through Django's test client as the first superuser (and with each
token given, as its owner would, over the real authentication path).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvmweb.settings")
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from hosts.models import Host  # noqa: E402
from networks.models import Lease, Network  # noqa: E402
from operations.models import Operation  # noqa: E402
from teams.models import ApiToken, AuditEntry, HostGrant, Membership, Team  # noqa: E402
from vms.models import Domain, DomainInterface  # noqa: E402


def main(tokens):
    User = get_user_model()
    facts = {
        "users": sorted(User.objects.values_list("username", flat=True)),
        "hosts": {h.name: {"uri": h.uri, "host_key": h.host_key,
                           "fingerprint": h.host_key_fingerprint}
                  for h in Host.objects.all()},
        "networks": sorted(f"{n.host.name}/{n.name}/{n.owner.name if n.owner else ''}"
                           for n in Network.objects.select_related("host", "owner")),
        "leases": sorted(f"{x.network.name}/{x.mac}/{x.ip}" for x in Lease.objects.all()),
        "vms": sorted(f"{d.host.name}/{d.name}/{d.owner.name if d.owner else ''}"
                      for d in Domain.objects.select_related("host", "owner")),
        "nics": sorted(f"{n.domain.name}/{n.mac}/{n.type}/{n.source}"
                       for n in DomainInterface.objects.select_related("domain")),
        "teams": {t.name: {"max_vms": t.max_vms, "max_networks": t.max_networks}
                  for t in Team.objects.all()},
        "members": sorted(f"{m.team.name}/{m.user.username}/{m.role}"
                          for m in Membership.objects.select_related("team", "user")),
        "grants": sorted(f"{g.team.name}/{g.host.name}/{','.join(g.networks)}"
                         for g in HostGrant.objects.select_related("team", "host")),
        "audit": sorted(f"{a.username}/{a.action}/{a.target}" for a in AuditEntry.objects.all()),
        "tokens": sorted(f"{t.user.username}/{t.name}"
                         for t in ApiToken.objects.select_related("user")),
        "operations": sorted(f"{o.action}/{o.host_name}/{o.status}/{len(o.xml_before)}"
                             for o in Operation.objects.all()),
        "pages": {},
        "token_api": {},
    }
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    client = Client()
    if admin is not None:
        client.force_login(admin)
    urls = [] if admin is None else ["/hosts/", "/networks/", "/vms/", "/teams/", "/api/hosts/",
                                     "/api/networks/",
            "/api/vms/"]
    urls += [f"/hosts/{pk}/" for pk in Host.objects.values_list("pk", flat=True)]
    urls += [f"/networks/{pk}/" for pk in Network.objects.values_list("pk", flat=True)]
    urls += [f"/vms/{pk}/" for pk in Domain.objects.values_list("pk", flat=True)]
    urls += [f"/api/vms/{pk}/" for pk in Domain.objects.values_list("pk", flat=True)]
    for url in urls:
        response = client.get(url)
        facts["pages"][url] = response.status_code
        if url.startswith("/api/vms/") and url != "/api/vms/" and response.status_code == 200:
            vm = response.json()
            # A NIC's traffic counters (domifstat, stored by every read of the VM) move with
            # the guest's traffic: a background read between the probe and the backup changes
            # them, whether or not the restore kept everything.
            for nic in vm.get("nics", []):
                nic.pop("stats", None)
            facts.setdefault("vm_api", {})[url] = vm
    for token in tokens:
        response = Client().get("/api/hosts/", HTTP_AUTHORIZATION=f"Token {token}")
        facts["token_api"][token[:16]] = response.status_code
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1:])
