"""The permission matrix, generated from kvmweb/urls.py (pages and the DRF router, per HTTP
method) and the websocket group kinds (kvmweb.consumers.FOLLOW_RULES): every entry is tried as
anonymous, a viewer, an operator and a team admin of the owning team (blue), an operator of
another team (red, granted the same host) and staff, and must be allowed or denied as the rule
declared in its app's access module (``PERMISSIONS``, see kvmweb.access) says.

A new URL, method or group kind without a rule fails test_every_endpoint_has_a_rule: add one
next to your code (e.g. ``"topology:view": HOST_MEMBER`` in topology/access.py).
Denied means 401/403/404 (anonymous pages: a redirect to the login page) and no Operation.
"""

import importlib
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from kvmweb import access as core
from kvmweb.consumers import FOLLOW_RULES, LiveConsumer
from operations.models import Operation
from teams.models import AddressPool, ApiToken

ROLES = ("anonymous", "viewer", "operator", "other", "teamadmin", "staff")
ALLOWED = {
    core.PUBLIC: set(ROLES),
    core.SIGNED_IN: set(ROLES) - {"anonymous"},
    core.HOST_MEMBER: {"viewer", "operator", "other", "teamadmin", "staff"},
    core.HOST_OPERATOR: {"operator", "other", "teamadmin", "staff"},
    core.TEAM_MEMBER: {"viewer", "operator", "teamadmin", "staff"},
    core.TEAM_OPERATOR: {"operator", "teamadmin", "staff"},
    core.OWNING_TEAM_ADMIN: {"teamadmin", "staff"},
    core.ADMIN: {"staff"},
    core.SELF: {"operator"},
    core.SELF_OR_ADMIN: {"operator", "staff"},
    core.MONITORING: set(),  # a token or an allowed address, never a session (health.access)
}


def _walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, (namespace, p.namespace))) or None
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "/" + prefix)
            yield name, p


def endpoints():
    """{key: methods or None}: url names (API: one key per name, the methods it answers)."""
    found = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        if (name.startswith("admin:") or name.startswith("/admin/")) and name != "admin:index":
            continue  # the Django admin checks staff itself; admin:index stands for it
        actions = getattr(pattern.callback, "actions", None)
        # HEAD is GET without a body (DRF routes it to the same action).
        found[name] = sorted(m.upper() for m in actions if m != "head") if actions else None
    return found


def rules():
    """Every app's declared PERMISSIONS, merged."""
    merged = dict(core.PERMISSIONS)
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.access")
        except ModuleNotFoundError:
            continue
        merged.update(getattr(module, "PERMISSIONS", {}))
    return merged


def checks():
    """(id, url name, Check) for every declared rule."""
    out, table = [], rules()
    for name, methods in endpoints().items():
        rule = table.get(name)
        if rule is None:
            continue
        if methods:  # an API route: a rule per method
            for method in methods:
                check = rule.get(method) if isinstance(rule, dict) else None
                if check is None:
                    continue
                check = check if isinstance(check, core.Check) else core.Check(check)
                check.method = method
                out.append((f"{name} {method}", name, check))
        else:
            for check in rule if isinstance(rule, list) else [rule]:
                check = check if isinstance(check, core.Check) else core.Check(check)
                out.append((f"{name} {check.method} {check.kwargs or ''}".strip(), name, check))
    return out


def test_every_endpoint_has_a_rule():
    table, missing = rules(), []
    for name, methods in endpoints().items():
        rule = table.get(name)
        if rule is None:
            missing.append(name)
        elif methods:
            if not isinstance(rule, dict):
                missing.append(f"{name} (give a rule per method: {methods})")
            else:
                missing += [f"{name} {m}" for m in methods if m not in rule]
    missing += [f"ws:{kind}" for kind in FOLLOW_RULES if f"ws:{kind}" not in table]
    assert not missing, ("endpoints without a permission rule (add them to PERMISSIONS in the "
                         "app's access.py, see kvmweb/access.py):\n" + "\n".join(missing))


# -- the objects each URL parameter names ------------------------------------------------------

OBJECT_OF = {  # namespace or API basename -> the world attribute its pk names
    "hosts": "host", "host": "host", "hostnet": "host", "networks": "bluenet",
    "network": "bluenet", "vms": "bluevm", "vm": "bluevm", "operations": "op",
    "operation": "op", "teams": "blue", "team": "blue", "drift": "drift",
}


@pytest.fixture
def world_plus(world):
    world.op = Operation.objects.create(user=world.users["operator"], host=world.host,
                                        host_name="kvm1", team=world.blue, action="vm.start",
                                        target="domain:d1", status="succeeded")
    world.pool = AddressPool.objects.create(team=world.blue, cidr="10.20.0.0/16")
    world.token, _ = ApiToken.issue(world.users["operator"], "mine")
    if apps.is_installed("drift"):
        from django.utils import timezone

        from drift.models import Drift

        now = timezone.now()
        host_xml = world.bluenet.xml.replace("</network>", "<domain name='changed'/></network>")
        world.drift = Drift.objects.create(
            host=world.host, target="network:bluenet", kind="network", name="bluenet",
            noticed_by="sync", noticed=now, last_seen=now, baseline_xml=world.bluenet.xml,
            baseline_version="a" * 16, host_xml=host_xml, host_version="b" * 16, diff="+ x")
        world.bluenet.xml = host_xml
        world.bluenet.save()
    if apps.is_installed("reachability"):
        from reachability.models import Probe

        world.probe = Probe.objects.create(user=world.users["operator"], source="vm:1:d1",
                                           destination="ip:10.0.0.1", verdict="reachable")
    if apps.is_installed("consoles"):
        from consoles.models import ConsoleSession

        world.console_session = ConsoleSession.objects.create(
            user=world.users["operator"], username="operator", vm=world.bluevm,
            vm_name="bluevm", host_name="kvm1", kind="serial")
    return world


def placeholder(value, world):
    """"{attr}" in a rule's data or kwargs: the pk of that object of the test world."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return getattr(world, value[1:-1]).pk
    return value


def url_for(name, check, world):
    if name.startswith("/"):
        return name
    resolver_kwargs = {}
    pattern = dict(_walk(get_resolver().url_patterns))[name]
    params = set(pattern.pattern.regex.groupindex) - {"format"}
    kind = name.split(":", 1)[1].split("-")[0] if name.startswith("api:") else name.split(":")[0]
    for param in params:
        if param in check.kwargs:
            resolver_kwargs[param] = placeholder(check.kwargs[param], world)
        elif param == "pk":
            obj = world.token if name == "teams:token_revoke" else getattr(world, OBJECT_OF[kind])
            resolver_kwargs[param] = obj.pk
        elif param == "host_pk":
            resolver_kwargs[param] = world.host.pk
        elif param == "member_pk":
            resolver_kwargs[param] = world.blue.memberships.get(user__username="viewer").pk
        elif param == "grant_pk":
            resolver_kwargs[param] = world.blue.grants.get().pk
        elif param == "pool_pk":
            resolver_kwargs[param] = world.pool.pk
        else:
            raise AssertionError(f"{name}: say which value {param} takes (Check(..., {param}=...))")
    return reverse(name, kwargs=resolver_kwargs)


def fill(data, world):
    return {k: placeholder(v, world) for k, v in (data or {}).items()}


def attempt(name, check, world, role):
    url = url_for(name, check, world)
    user = world.users.get(role)
    api = url.startswith("/api/")
    client = APIClient() if api else Client()
    if user is not None and api:
        client.force_authenticate(user)  # no session to write: the matrix makes ~700 requests
    elif user is not None:
        client.force_login(user)
    data = fill(check.data, world)
    method = check.method.lower()
    if check.kind == core.MONITORING:  # from outside KVMWEB_METRICS_ALLOW: only roles count
        client.defaults["REMOTE_ADDR"] = "192.0.2.10"
    if method == "get":
        return client.get(url + ("?" + urlencode(data) if data else ""))
    if api:
        return getattr(client, method)(url, data, format="json")
    return getattr(client, method)(url, data)


def denied(response):
    if response.status_code in (401, 403, 404):
        return True
    # Pages send anonymous users to log in (logging out also ends on the login page: allowed).
    return response.status_code == 302 and "/login/?next=" in response.get("Location", "")


@pytest.mark.django_db
@pytest.mark.parametrize("key,name,check", checks(), ids=[c[0] for c in checks()])
def test_the_matrix(world_plus, key, name, check):
    wrong = []
    for role in ROLES:
        with transaction.atomic():  # each role starts from the same world
            before = Operation.objects.count()
            response = attempt(name, check, world_plus, role)
            expected = role in ALLOWED[check.kind]
            if denied(response) == expected:
                wrong.append(f"{role}: {response.status_code} but should be "
                             f"{'allowed' if expected else 'denied'}")
            elif not expected and Operation.objects.count() != before:
                wrong.append(f"{role}: denied, yet an Operation was created")
            transaction.set_rollback(True)
    assert not wrong, f"{key} ({check.kind}):\n" + "\n".join(wrong)


GROUP_OBJECT = {"host": "host", "rates": "host", "operation": "op"}


def follows(user, group):
    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        if not connected:
            return False
        await communicator.send_json_to({"follow": group})
        answer = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return answer["type"] == "following"

    return async_to_sync(session)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(FOLLOW_RULES))
def test_the_websocket_matrix(world_plus, kind):
    from django.contrib.auth.models import AnonymousUser

    rule = rules()[f"ws:{kind}"]
    assert kind in GROUP_OBJECT, f"say in GROUP_OBJECT which test object a {kind} group names"
    group = f"{kind}.{getattr(world_plus, GROUP_OBJECT[kind]).pk}"
    wrong = [role for role in ROLES
             if follows(world_plus.users.get(role) or AnonymousUser(), group)
             != (role in ALLOWED[rule])]
    assert not wrong, f"{group} ({rule}): wrong for {wrong}"
