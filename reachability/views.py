"""The reachability page: the question box and the answer. Reads the database only."""

from django.shortcuts import render

from . import services
from .forms import QuestionForm


def ask(request):
    if not request.GET:
        return render(request, "reachability/ask.html", {"form": QuestionForm()})
    form = QuestionForm(request.GET)
    answer, status = None, 200
    if form.is_valid():
        try:
            answer = services.ask(request.user, **form.cleaned_data)
        except services.NotFound as exc:
            form.add_error(None, str(exc))
            status = 404  # the same for what does not exist and what the user may not see
    return render(request, "reachability/ask.html", {"form": form, "answer": answer},
                  status=status)
