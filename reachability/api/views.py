from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound as NotFoundError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from .serializers import AnswerSerializer, QuestionSerializer


class ReachabilityView(APIView):
    """Can A reach B? Worked out from what kvmweb knows (never a live host): the verdict, the
    hops, each cause with the fixes, and the assumptions made. Only about objects you may
    see."""

    @extend_schema(parameters=[QuestionSerializer], responses=AnswerSerializer)
    def get(self, request):
        question = QuestionSerializer(data=request.query_params)
        question.is_valid(raise_exception=True)
        try:
            answer = services.ask(request.user, **question.validated_data)
        except services.NotFound as exc:
            raise NotFoundError(str(exc)) from exc
        return Response(AnswerSerializer(answer).data)
