from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=N` (from 1) and `?page_size=` (1..500, default 50); a page past the end is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
