"""Forms: login with throttling, teams, members, grants, quotas, pools, API tokens."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from . import throttle


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
