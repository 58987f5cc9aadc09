"""Team quotas: what a team uses (what it owns plus what its queued operations will create)
against what an administrator allowed. Reads the other apps' rows only through the reverse
relations of Team (networks, vms, operations), so this module imports none of their code."""

import ipaddress

from django.db.models import Count, Sum

from . import choices

PENDING_CREATES = ("network.create", "vm.create", "nic.add")


def _addresses(subnets):
    total = 0
    for text in subnets or []:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if net.version == 4:
            total += net.num_addresses
    return total


def usage(team):
    """{quota field: amount used}, counting queued creations so two quick requests cannot
    both slip under a limit."""
    vms = team.vms.aggregate(n=Count("pk", distinct=True), vcpus=Sum("vcpus"),
                             memory=Sum("memory_kib"))
    used = {
        "max_networks": team.networks.count(),
        "max_vms": vms["n"] or 0,
        "max_vcpus": vms["vcpus"] or 0,
        "max_memory_mib": (vms["memory"] or 0) // 1024,
        "max_nics": team.vms.aggregate(n=Count("nics"))["n"] or 0,
        "max_addresses": sum(_addresses(s) for s in team.networks.values_list("subnets", flat=True)),
    }
    pending = team.operations.filter(action__in=PENDING_CREATES, finished__isnull=True)
    for op in pending.only("action", "params"):
        params = op.params or {}
        if op.action == "network.create":
            used["max_networks"] += 1
            used["max_addresses"] += int(params.get("addresses") or 0)
        elif op.action == "vm.create":
            spec = params.get("spec") or {}
            used["max_vms"] += 1
            used["max_vcpus"] += int(spec.get("vcpus") or 0)
            used["max_memory_mib"] += int(spec.get("memory_mib") or 0)
            used["max_nics"] += len(spec.get("nics") or [])
        else:
            used["max_nics"] += 1
    return used


def over_quota(team, **adding):
    """A message naming each quota that ``adding`` (quota field -> amount) would exceed, with
    used and allowed; None when it fits (or there is no team: administrators' objects)."""
    if team is None:
        return None
    used, problems = usage(team), []
    for name, label, unit in choices.QUOTAS:
        allowed, extra = getattr(team, name), adding.get(name, 0)
        if allowed is not None and extra and used[name] + extra > allowed:
            unit = f" {unit}" if unit else ""
            problems.append(f"{label}: {used[name]}{unit} used + {extra}{unit} asked > "
                            f"{allowed}{unit} allowed")
        # Nothing asked of this quota, or no limit: fine.
    if not problems:
        return None
    return (f"over team {team}'s quota — " + "; ".join(problems)
            + ". Free something up or ask an administrator for a larger quota.")


def rows(team):
    """Each quota with what is used, for the team page and the API: [{"name" (the Team field),
    "label", "used", "allowed" (None: no limit), "unit"}]."""
    used = usage(team)
    return [{"name": name, "label": label, "used": used[name], "allowed": getattr(team, name),
             "unit": unit} for name, label, unit in choices.QUOTAS]


def subnet_addresses(subnet):
    return _addresses([subnet] if subnet else [])
