"""Forms: login with throttling, teams, members, grants, quotas, pools, API tokens, new users."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from . import choices, throttle, validation
from .models import AddressPool, Team


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, but after too many failures for this user name or address the
    password is not even checked until the window ends (teams.throttle)."""

    def clean(self):
        wait = throttle.seconds_locked(self.data.get("username"),
                                       throttle.client_address(self.request))
        if wait:
            raise forms.ValidationError(f"Too many failed logins: try again in {wait} s.",
                                        code="throttled")
        return super().clean()


class Styled(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class TeamForm(Styled):
    name = forms.CharField(max_length=64)
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team  # renaming this team (its own name is not taken)

    def clean_name(self):
        return validation.team_name(self.cleaned_data["name"], self.team)


class QuotaForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = [name for name, _, _ in choices.QUOTAS]
        labels = {name: f"{label}{f' ({unit})' if unit else ''}"
                  for name, label, unit in choices.QUOTAS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update({"class": "form-control", "placeholder": "no limit"})


class MemberForm(Styled):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=choices.ROLE_CHOICES)

    def clean_username(self):
        return validation.member(self.cleaned_data["username"])


class GrantForm(Styled):
    host = forms.ModelChoiceField(queryset=None)
    networks = forms.CharField(required=False, help_text="networks on the host the team may "
                                                         "attach NICs to besides its own")
    bridges = forms.CharField(required=False, help_text="host bridges the team may attach "
                                                        "NICs to (e.g. br0)")

    def __init__(self, *args, hosts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = hosts

    def clean_networks(self):
        return validation.split_names(self.cleaned_data.get("networks"))

    def clean_bridges(self):
        return validation.split_names(self.cleaned_data.get("bridges"))


class PoolForm(forms.ModelForm):
    class Meta:
        model = AddressPool
        fields = ["cidr", "prefix"]

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.team = team
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"


class TokenForm(Styled):
    name = forms.CharField(max_length=64)
    days = forms.IntegerField(min_value=1, max_value=3650, initial=90, required=False,
                              label="Expires after (days)", help_text="empty: never")


class UserCreateForm(Styled):
    """A new user (administrators): an empty password is generated and shown once; a team
    makes the user a member right away."""

    username = forms.CharField(max_length=150, label="User name")
    email = forms.EmailField(required=False, label="E-mail")
    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}), help_text="empty: one is generated and shown "
                                                           "once")
    is_staff = forms.BooleanField(required=False, label="Administrator (staff)")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False,
                                  help_text="add to this team right away")
    role = forms.ChoiceField(choices=choices.ROLE_CHOICES, initial=choices.VIEWER,
                             label="Role in the team")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["is_staff"].widget.attrs["class"] = "form-check-input"

    def clean_username(self):
        return validation.new_username(self.cleaned_data["username"])

    def clean_password(self):
        return validation.new_password(self.cleaned_data.get("password"),
                                       self.data.get("username", ""))
