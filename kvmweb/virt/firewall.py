"""The firewall rules libvirt installed for one network, picked out of `nft -j list ruleset`.

Pure functions over nft's JSON: a rule belongs to a network when it names the network's
bridge (iifname/oifname) or one of its subnets (a saddr/daddr prefix or address).
"""

import ipaddress
import json

from . import remote
from .hostnet import nft_ruleset


def read_ruleset(target):
    """The host's ruleset, read on the host (mitogen runs nft there)."""
    return remote.run(target, nft_ruleset)


def _leaves(value):
    """Every scalar and every {addr, len} prefix inside an nft JSON expression."""
    if isinstance(value, dict):
        if set(value) == {"prefix"} and isinstance(value["prefix"], dict):
            yield ("prefix", value["prefix"].get("addr"), value["prefix"].get("len"))
            return
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield ("value", value, None)


def _belongs(rule, bridge, subnets):
    for kind, value, length in _leaves(rule.get("expr", [])):
        if kind == "value" and bridge and value == bridge:
            return True
        if kind == "prefix":
            try:
                net = ipaddress.ip_network(f"{value}/{length}", strict=False)
            except ValueError:
                continue
            if net in subnets:
                return True
    return False


def _operand(value):
    if isinstance(value, dict):
        if "meta" in value:
            return value["meta"].get("key", "meta")
        if "payload" in value:
            payload = value["payload"]
            return f"{payload.get('protocol', '')} {payload.get('field', '')}".strip()
        if "prefix" in value:
            return f"{value['prefix'].get('addr')}/{value['prefix'].get('len')}"
        if "set" in value:
            return "{ " + ", ".join(_operand(v) for v in value["set"]) + " }"
        if "range" in value:
            return "-".join(_operand(v) for v in value["range"])
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _statement(expr):
    (key, value), = expr.items() if len(expr) == 1 else ((next(iter(expr)), expr),)
    if key == "match":
        op = value.get("op", "==")
        op = "" if op == "==" else f"{op} "
        return f"{_operand(value.get('left'))} {op}{_operand(value.get('right'))}"
    if key == "counter":
        return f"counter packets {value.get('packets', 0)} bytes {value.get('bytes', 0)}"
    if key in ("accept", "drop", "return", "masquerade"):
        return key
    if key in ("jump", "goto"):
        return f"{key} {value.get('target')}"
    if key == "xt":
        return f"{value.get('type', 'xt')} {value.get('name')}"
    return f"{key} {json.dumps(value, separators=(',', ':'))}"


def render(rule):
    """nft-like text of one rule, e.g. ``iifname virbr0 udp dport 53 counter … accept``."""
    return " ".join(_statement(expr) for expr in rule.get("expr", []))


def rules_for(ruleset, bridge, subnets):
    """The rules of ``ruleset`` that name ``bridge`` or one of ``subnets`` (CIDR strings)."""
    nets = [ipaddress.ip_network(s, strict=False) for s in subnets or []]
    found = []
    for item in ruleset.get("nftables", []):
        rule = item.get("rule")
        if not rule or not _belongs(rule, bridge, nets):
            continue
        counter = next((e["counter"] for e in rule.get("expr", []) if "counter" in e), {})
        found.append({
            "family": rule.get("family"), "table": rule.get("table"), "chain": rule.get("chain"),
            "handle": rule.get("handle"), "text": render(rule),
            "packets": counter.get("packets", 0), "bytes": counter.get("bytes", 0),
        })
    return found
