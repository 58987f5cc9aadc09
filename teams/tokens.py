"""API authentication with hashed, expiring, revocable per-user tokens (teams.models.ApiToken).

``Authorization: Token kvw_<id>_<secret>`` (or ``Bearer``). Only a SHA-256 digest of the secret
is stored; the secret is shown once when the token is made on the user's page.
"""

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken


class HashedTokenAuthentication(authentication.BaseAuthentication):
    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("give one token after the keyword")
        token = ApiToken.find_live(parts[1].decode("ascii", errors="replace"))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("unknown, expired or revoked token")
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
