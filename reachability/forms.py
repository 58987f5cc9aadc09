from django import forms


class QuestionForm(forms.Form):
    """The "Can it reach…?" box: what to start from and what to reach (see services.resolve)."""

    source = forms.CharField(required=False, max_length=200, label="From",
                             help_text="a VM, a host, an IPv4 address (or a topology id)")
    destination = forms.CharField(max_length=200, label="Can it reach",
                                  help_text="a VM (name or name@host), a host, or an IPv4 "
                                            "address on a host's LAN")
    source_vm = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if not data.get("source") and data.get("source_vm") is None:
            self.add_error("source", "say where to start from")
        return data
