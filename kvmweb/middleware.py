from django.contrib.auth.middleware import LoginRequiredMiddleware


class LoginRequiredEverywhere(LoginRequiredMiddleware):
    """Every page needs a login; the API is left to DRF, which answers 401/403 instead of
    redirecting and also accepts token authentication."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
