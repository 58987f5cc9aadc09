from django import forms

from kvmweb.access import creating_teams
from teams.models import Team

from .choices import (BOOT_CHOICES, DISK_CHOICES, DISPLAY_CHOICES, DOMAIN_TYPES, LINK_STATES,
                      MACVTAP_MODES,
                      NIC_MODELS, NIC_TYPES)

_MODEL_CHOICES = [(m, m) for m in NIC_MODELS]
_MODE_CHOICES = [("", "—")] + [(m, m) for m in MACVTAP_MODES]


class Styled(forms.Form):
    """Bootstrap classes on every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = {"Select": "form-select form-select-sm", "CheckboxInput": "form-check-input"}
            field.widget.attrs.setdefault("class", css.get(type(field.widget).__name__,
                                                           "form-control form-control-sm"))


class NICForm(Styled):
    type = forms.ChoiceField(choices=NIC_TYPES, initial="network")
    source = forms.CharField(max_length=64, help_text="network, bridge or host device",
                             widget=forms.TextInput(attrs={"list": "nic-sources"}))
    mode = forms.ChoiceField(choices=_MODE_CHOICES, required=False, label="macvtap mode")
    portgroup = forms.CharField(max_length=64, required=False)
    model = forms.ChoiceField(choices=_MODEL_CHOICES, initial="virtio")
    mac = forms.CharField(max_length=17, required=False, label="MAC",
                          widget=forms.TextInput(attrs={"placeholder": "automatic"}))


class NICEditForm(NICForm):
    link_state = forms.ChoiceField(choices=[(s, s) for s in LINK_STATES], label="link")
    inbound_average = forms.IntegerField(min_value=0, required=False, label="inbound KiB/s",
                                         help_text="0 removes the limit")
    outbound_average = forms.IntegerField(min_value=0, required=False, label="outbound KiB/s")


NICFormSet = forms.formset_factory(NICForm, extra=1, min_num=0)


class VMCreateForm(Styled):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False,
                                  help_text="the team that will own it (yours if you have one)")
    name = forms.CharField(max_length=63)
    memory_mib = forms.IntegerField(min_value=16, initial=512, label="Memory (MiB)")
    vcpus = forms.IntegerField(min_value=1, initial=1, label="vCPUs")
    disk = forms.ChoiceField(choices=DISK_CHOICES, initial="none")
    pool = forms.CharField(required=False, widget=forms.TextInput(attrs={"list": "pools"}),
                           help_text="storage pool for a new volume")
    disk_gib = forms.IntegerField(min_value=1, required=False, label="Disk size (GiB)")
    volume = forms.CharField(required=False, widget=forms.TextInput(attrs={"list": "volumes"}),
                             help_text="path of an existing volume")
    boot = forms.ChoiceField(choices=BOOT_CHOICES, initial="network")
    iso = forms.CharField(required=False, label="ISO path", widget=forms.TextInput(attrs={"list": "volumes"}))
    kernel = forms.CharField(required=False, label="Kernel path")
    initrd = forms.CharField(required=False, label="Initrd path")
    cmdline = forms.CharField(required=False, label="Kernel command line", initial="console=ttyS0")
    domain_type = forms.ChoiceField(choices=DOMAIN_TYPES, initial="auto")
    display = forms.ChoiceField(choices=DISPLAY_CHOICES, initial="vnc", required=False)
    guest_agent = forms.BooleanField(
        required=False, initial=True, label="Guest agent channel",
        help_text="org.qemu.guest_agent.0: in-guest probes and the agent's addresses need it")
    start = forms.BooleanField(required=False, initial=True, label="Start after create")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = creating_teams(user)


def add_errors(form, errors):
    """Put service-level field errors on a form (unknown fields become form errors)."""
    for field, messages in errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(field if field in form.fields else None, str(message))
