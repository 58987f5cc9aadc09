"""Count failed and successful logins for the login throttle (teams.throttle)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from . import throttle


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    throttle.failed(credentials.get("username"), throttle.client_address(request))


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    throttle.succeeded(user.get_username())
