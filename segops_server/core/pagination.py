"""Page-number pagination for ordinary lists: {count, next, previous, results}."""

from typing import Any

from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated_response(view: Any, request: Request, queryset: Any, serializer: Any) -> Response:
    """One page of `queryset` in the page-number envelope."""
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context={"request": request}).data)
