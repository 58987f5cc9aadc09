"""One form per host network action; clean() builds the plan from the read model so every
refusal shows on its field before anything is enqueued."""

from django import forms

from . import plans, services

COMMON = {
    "timeout": lambda: forms.IntegerField(
        initial=plans.DEFAULT_TIMEOUT, min_value=plans.MIN_TIMEOUT, max_value=plans.MAX_TIMEOUT,
        help_text="seconds kvmweb has to prove it still reaches the host; otherwise the host "
                  "restores its saved state by itself"),
    "persist": lambda: forms.BooleanField(
        required=False, initial=True, label="persist (write the network manager's files)",
        help_text="unchecked: runtime only, gone after a reboot"),
}

FIELDS = {
    "bridge_create": {
        "name": lambda: forms.CharField(max_length=32, initial="br0"),
        "uplink": lambda: forms.CharField(
            required=False, max_length=32,
            help_text="empty: isolated host-only bridge; a NIC: its addresses, routes and MAC "
                      "move to the bridge"),
        "move_addresses": lambda: forms.BooleanField(required=False, initial=True),
        "stp": lambda: forms.BooleanField(required=False, label="STP"),
        "forward_delay": lambda: forms.IntegerField(initial=0, min_value=0, max_value=30,
                                                    help_text="seconds"),
        "address": lambda: forms.CharField(
            required=False, help_text="isolated bridge only: the host's address on it, e.g. "
                                      "10.0.5.1/24"),
    },
    "bridge_delete": {
        "name": lambda: forms.CharField(max_length=32),
        "uplink": lambda: forms.CharField(required=False, max_length=32,
                                          help_text="the port that gets the addresses back"),
        "give_back": lambda: forms.BooleanField(required=False, initial=True,
                                                label="give addresses and routes back"),
    },
    "vlan_create": {
        "parent": lambda: forms.CharField(max_length=32),
        "vlan_id": lambda: forms.IntegerField(label="VLAN id"),
        "name": lambda: forms.CharField(required=False, max_length=32,
                                        help_text="default: PARENT.ID"),
    },
    "bond_create": {
        "name": lambda: forms.CharField(max_length=32, initial="bond0"),
        "mode": lambda: forms.ChoiceField(choices=[(m, m) for m in plans.BOND_MODES], initial="active-backup"),
        "members": lambda: forms.CharField(help_text="interface names, comma separated"),
    },
    "mtu": {"name": lambda: forms.CharField(max_length=32),
            "mtu": lambda: forms.IntegerField(label="MTU")},
    "link_state": {"name": lambda: forms.CharField(max_length=32),
                   "up": lambda: forms.ChoiceField(choices=[("up", "up"), ("down", "down")])},
    "addresses": {"name": lambda: forms.CharField(max_length=32),
                  "add": lambda: forms.CharField(required=False, help_text="e.g. 10.0.5.2/24"),
                  "remove": lambda: forms.CharField(required=False)},
    "port_move": {"port": lambda: forms.CharField(max_length=32, help_text="e.g. vnet1"),
                  "bridge": lambda: forms.CharField(max_length=32,
                                                    help_text="the bridge to move it to")},
}


class ChangeForm(forms.Form):
    def __init__(self, host, action, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.host, self.action, self.plan = host, action, None
        for name, make in {**FIELDS[action], **COMMON}.items():
            self.fields[name] = make()

    def params(self):
        data = dict(self.cleaned_data)
        if self.action == "link_state":
            data["up"] = data.get("up") == "up"
        return {k: v for k, v in data.items() if v not in (None, "")}

    def clean(self):
        super().clean()
        if self.errors:
            return self.cleaned_data
        try:
            self.plan = services.build_plan(self.host, self.action, self.params())
        except plans.PlanError as exc:
            for field, message in exc.errors.items():
                self.add_error(field if field in self.fields else None, message)
        return self.cleaned_data
