"""The reachability page: the question box and the answer. Reads the database only."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

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
        else:
            form = _labelled(form, answer)
    return render(request, "reachability/ask.html", {"form": form, "answer": answer},
                  status=status)


def _labelled(form, answer):
    """The box again, holding the two ends by their labels (services.form_label: "web1 · NIC
    52:54:… on kvm1"), not by the graph ids or VM id the question may have come with; asked
    again, the labels name the same ends."""
    data = form.data.copy()
    data["source"] = answer["source"]["form_label"]
    data["destination"] = answer["destination"]["form_label"]
    data.pop("source_vm", None)
    labelled = QuestionForm(data)
    labelled.is_valid()
    return labelled


@require_POST
def probe(request):
    """Send probes for the question (active): refused unless the user may change the source;
    back to the answer, where the probe's results appear as they come."""
    form = QuestionForm(request.POST)
    if not form.is_valid():
        raise Http404("say what to probe")
    try:
        row = services.start_probe(request.user, **form.cleaned_data)
    except services.NotFound as exc:
        raise Http404(str(exc)) from exc
    except services.Invalid as exc:
        messages.error(request, str(exc))
        row = None
    if row is not None:
        messages.info(request, f"Sending probes for {row.source_label} → "
                               f"{row.destination_label}: operation #{row.operation_id}.")
    query = {"source": row.source, "destination": row.destination} if row else {
        k: v for k, v in request.POST.items() if k in form.fields and v}
    return redirect(reverse("reachability:ask") + "?" + urlencode(query))
