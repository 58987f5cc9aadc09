"""Page forms. They turn text fields into a spec; networks.intake does the checking."""

from django import forms

from hosts.access import visible_hosts
from hosts.models import Host
from kvmweb.access import creating_teams
from teams.models import Team

from . import choices

MANAGED = " ".join(choices.MANAGED)
LINES_HELP = "one per line"


def _text(label, kinds=MANAGED, help_text="", placeholder=""):
    return forms.CharField(label=label, required=False, help_text=help_text, widget=forms.TextInput(
        attrs={"data-kinds": kinds, "placeholder": placeholder}))


def _lines(label, kinds=MANAGED, help_text=LINES_HELP, placeholder=""):
    return forms.CharField(label=label, required=False, help_text=help_text, widget=forms.Textarea(
        attrs={"rows": 2, "data-kinds": kinds, "placeholder": placeholder}))


def _int(label, kinds=MANAGED, help_text=""):
    return forms.IntegerField(label=label, required=False, help_text=help_text,
                              widget=forms.NumberInput(attrs={"data-kinds": kinds}))


def _check(label, kinds=MANAGED, initial=False):
    return forms.BooleanField(label=label, required=False, initial=initial,
                              widget=forms.CheckboxInput(attrs={"data-kinds": kinds}))


class NetworkForm(forms.Form):
    """Every option; fields carry data-kinds so networks.js shows only those the kind uses."""

    host = forms.ModelChoiceField(queryset=Host.objects.none())
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False,
                                  help_text="the team that will own it (yours if you have one)")
    name = forms.CharField(max_length=50)
    kind = forms.ChoiceField(choices=choices.KIND_CHOICES, initial=choices.NAT)
    bridge = _text("Bridge", f"{MANAGED} bridge", "bridge kind: the host bridge (br0, an OVS "
                   "bridge); others: empty lets libvirt pick virbrN")
    subnet = _text("IPv4 subnet", help_text="empty: the next free 192.168.X.0/24",
                   placeholder="192.168.100.0/24")
    gateway = _text("Gateway", help_text="empty: the subnet's first address")
    dhcp = _check("DHCP", initial=True)
    dhcp_start = _text("DHCP start", help_text="empty: upper half of the subnet")
    dhcp_end = _text("DHCP end")
    static_hosts = _lines("Static DHCP hosts", help_text="MAC IP [hostname], one per line",
                          placeholder="52:54:00:12:34:56 192.168.100.10 web1")
    ipv6_subnet = _text("IPv6 subnet", placeholder="fd00:100::/64")
    ipv6_gateway = _text("IPv6 gateway")
    dhcpv6 = _check("DHCPv6")
    dns_domain = _text("DNS domain", help_text="empty: the network's name")
    dns_hosts = _lines("DNS hosts", help_text="IP name [name…], one per line")
    dns_forwarders = _lines("DNS forwarders", help_text="address [domain], one per line")
    forward_dev = _text("Forward only through", "nat route open", "a host device, e.g. eth0")
    nat_port_start = _int("NAT port start", "nat")
    nat_port_end = _int("NAT port end", "nat")
    devices = _text("Host devices", " ".join(choices.MACVTAP), "macvtap: host devices, "
                    "space separated", "eth0")
    pf = _text("Physical function (PF)", "hostdev", "SR-IOV PF whose VFs form the pool")
    mtu = _int("MTU", f"{MANAGED} bridge")
    portgroups = _lines("Portgroups", " ".join(choices.KINDS), "name [vlan] [default], one per line")
    tftp_root = _text("TFTP root (PXE)")
    bootp_file = _text("BOOTP file (PXE)", placeholder="pxelinux.0")
    qos_inbound = _int("QoS inbound average (KiB/s)", " ".join(choices.KINDS))
    qos_outbound = _int("QoS outbound average (KiB/s)", " ".join(choices.KINDS))
    start = forms.BooleanField(label="Start now", required=False, initial=True)
    autostart = forms.BooleanField(label="Start when the host boots", required=False, initial=True)

    def __init__(self, *args, user=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = visible_hosts(user)
        self.fields["team"].queryset = creating_teams(user)
        if editing:
            for name in ("host", "team", "name", "start", "autostart"):
                del self.fields[name]
        for field in self.fields.values():
            widget = field.widget
            css = ("form-check-input" if isinstance(widget, forms.CheckboxInput) else
                   "form-select" if isinstance(widget, forms.Select) else "form-control")
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def _split_lines(self, name, build):
        items = []
        for n, line in enumerate(self.cleaned_data.get(name, "").splitlines(), 1):
            words = line.split()
            if not words:
                continue
            try:
                items.append(build(words))
            except (IndexError, ValueError):
                self.add_error(name, f"line {n}: cannot read {line.strip()!r} ({self.fields[name].help_text})")
        return items

    def to_spec(self):
        """The spec for networks.intake; call after is_valid()."""
        data = self.cleaned_data
        spec = {k: v for k, v in data.items() if k in (
            "name", "kind", "bridge", "gateway", "dhcp", "dhcp_start", "dhcp_end", "ipv6_subnet",
            "ipv6_gateway", "dhcpv6", "forward_dev", "nat_port_start", "nat_port_end", "pf",
            "mtu", "tftp_root", "bootp_file", "qos_inbound", "qos_outbound", "start", "autostart")}
        if data.get("subnet"):
            spec["subnet"] = data["subnet"]
        if data.get("dns_domain"):
            spec["dns_domain"] = data["dns_domain"]
        spec["devices"] = (data.get("devices") or "").split()
        spec["static_hosts"] = self._split_lines(
            "static_hosts", lambda w: {"mac": w[0], "ip": w[1], "name": w[2] if len(w) > 2 else ""})
        spec["dns_hosts"] = self._split_lines("dns_hosts", lambda w: {"ip": w[0], "hostnames": w[1:]})
        spec["dns_forwarders"] = self._split_lines(
            "dns_forwarders", lambda w: {"addr": w[0], "domain": w[1] if len(w) > 1 else ""})
        spec["portgroups"] = self._split_lines("portgroups", _portgroup)
        return spec

    def add_errors(self, errors):
        for name, messages in errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message if target else f"{name}: {message}")


def _portgroup(words):
    vlan = next((int(w) for w in words[1:] if w.isdigit()), None)
    return {"name": words[0], "vlan": vlan, "default": "default" in words[1:]}


def initial_from_spec(spec):
    """Form initial values from networks.spec.from_xml()."""
    initial = dict(spec)
    initial["devices"] = " ".join(spec.get("devices") or [])
    initial["static_hosts"] = "\n".join(
        " ".join(filter(None, (h["mac"], h["ip"], h.get("name")))) for h in spec["static_hosts"])
    initial["dns_hosts"] = "\n".join(" ".join([h["ip"], *h["hostnames"]]) for h in spec["dns_hosts"])
    initial["dns_forwarders"] = "\n".join(
        " ".join(filter(None, (f["addr"], f["domain"]))) for f in spec["dns_forwarders"])
    initial["portgroups"] = "\n".join(
        " ".join(filter(None, (g["name"], str(g["vlan"]) if g["vlan"] is not None else "",
                               "default" if g["default"] else ""))) for g in spec["portgroups"])
    return initial


class XMLForm(forms.Form):
    xml = forms.CharField(widget=forms.Textarea(attrs={"rows": 24, "class": "font-monospace"}),
                          required=False)
    file = forms.FileField(required=False, help_text="or upload a .xml file")

    def __init__(self, *args, user=None, importing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if importing:
            self.fields["host"] = forms.ModelChoiceField(queryset=visible_hosts(user))
            self.fields["team"] = forms.ModelChoiceField(queryset=creating_teams(user),
                                                         required=False)
            self.order_fields(["host", "team", "file", "xml"])
        else:
            del self.fields["file"]

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            data["xml"] = upload.read(2 * 1024 * 1024).decode("utf-8", errors="replace")
        if not data.get("xml"):
            self.add_error("xml", "paste a <network> definition or upload a file")
        return data
