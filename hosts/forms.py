from django import forms

from .models import Host


class HostForm(forms.ModelForm):
    class Meta:
        model = Host
        fields = ["name", "uri", "key_path"]
        widgets = {
            "uri": forms.TextInput(attrs={"placeholder": "qemu+ssh://root@kvm1.example.org/system"}),
            "key_path": forms.TextInput(attrs={"placeholder": "/etc/kvmweb/id_ed25519 (optional)"}),
        }


class PinKeyForm(forms.Form):
    fingerprint = forms.CharField(widget=forms.HiddenInput)
