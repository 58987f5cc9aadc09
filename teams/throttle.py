"""Login throttling: after KVMWEB_LOGIN_FAILURES failed logins for one user name or from one
address within KVMWEB_LOGIN_WINDOW seconds, further attempts are refused without checking the
password until the window ends. Counted in Redis, so every web process sees the same count."""

from django.conf import settings

from kvmweb import redisconn


def _redis():
    return redisconn.connect()


def _keys(username, address):
    prefix = f"{settings.KVMWEB_RATELIMIT_PREFIX}:login"
    return [f"{prefix}:user:{(username or '').lower()[:150]}", f"{prefix}:addr:{address or '-'}"]


def client_address(request):
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def seconds_locked(username, address):
    """0 when a login may be tried; otherwise how long until it may."""
    client = _redis()
    for key in _keys(username, address):
        count = int(client.get(key) or 0)
        if count >= settings.KVMWEB_LOGIN_FAILURES:
            return max(1, client.ttl(key))
    return 0


def failed(username, address):
    client = _redis()
    for key in _keys(username, address):
        if client.incr(key) == 1:
            client.expire(key, settings.KVMWEB_LOGIN_WINDOW)


def succeeded(username):
    _redis().delete(_keys(username, "")[0])
