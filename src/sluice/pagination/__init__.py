"""Paginators: small frozen strategies that alone decide when a chain stops."""

from .auto import AutoPaginator
from .base import Paginator
from .cursors import CursorPaginator, HeaderCursorPaginator
from .links import HeaderLinkPaginator, JSONLinkPaginator, SinglePagePaginator
from .numeric import OffsetPaginator, PageNumberPaginator

__all__ = [
    "AutoPaginator",
    "CursorPaginator",
    "HeaderCursorPaginator",
    "HeaderLinkPaginator",
    "JSONLinkPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "Paginator",
    "SinglePagePaginator",
]
