from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.shortcuts import render

from .conflicts import Conflict


class LoginRequiredEverywhere(LoginRequiredMiddleware):
    """Every page needs a login; the API is left to DRF, which answers 401/403 instead of
    redirecting and also accepts token authentication."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class ConflictPage:
    """A page whose request was refused with kvmweb.conflicts.Conflict answers 409 with the
    reason and, where the refusal has one, the link to what must be decided first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Conflict) or request.path.startswith("/api/"):
            return None
        return render(request, "409.html", {"conflict": exception.body}, status=409)
