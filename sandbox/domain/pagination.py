"""List queries of the catalogue endpoints: page/limit paging, ``"true"``/``"false"`` flags, search.

Used by ``GET /campaigns`` and ``GET /clients`` (paging, G27/G28) and ``GET /field-library`` (flags
and search only; it is not paginated). Readers collect problems into a list instead of raising, so
one request with a bad ``page`` *and* a bad ``limit`` is answered with both (G5).

The one thing a reader might get wrong: the docs type every query parameter as a *string*, so
``"2"`` and ``2`` must both be accepted, and ``page`` is 1-based — ``page=0`` is a 400, not the
first page. A page past the end is not an error: it is an empty page with the true ``total``.
"""

from __future__ import annotations

DEFAULT_PAGE = 1
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FLAG_VALUES = ("true", "false")


PAGE_PROBLEM = "page: must be an integer of at least 1"
LIMIT_PROBLEM = f"limit: must be an integer between 1 and {MAX_LIMIT}"


def _as_int(raw) -> int | None:
    if isinstance(raw, bool):  # bool is an int in Python; True is not a page number
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    return int(text) if text.isdigit() else None


def read_paging(page, limit, problems: list[str]) -> tuple[int, int]:
    """``(page, limit)`` with defaults applied; appends one problem per bad parameter.

    The wording matches the ``x-error`` of openapi.yaml's PageQuery/LimitQuery, which reject the
    same values first when the request comes through the API.
    """
    page_number = DEFAULT_PAGE if page is None else _as_int(page)
    if page_number is None or page_number < 1:
        problems.append(PAGE_PROBLEM)
        page_number = DEFAULT_PAGE
    size = DEFAULT_LIMIT if limit is None else _as_int(limit)
    if size is None or not 1 <= size <= MAX_LIMIT:
        problems.append(LIMIT_PROBLEM)
        size = DEFAULT_LIMIT
    return page_number, size


def read_flag(name: str, raw, problems: list[str]) -> bool | None:
    """A ``"true"``/``"false"`` query flag as a bool; None when absent."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in FLAG_VALUES:
        problems.append(f"{name}: must be one of true, false")
        return None
    return text == "true"


def read_choice(name: str, raw, choices: tuple[str, ...], problems: list[str]) -> str | None:
    """An enumerated query value (exact spelling); None when absent."""
    if raw is None:
        return None
    if raw not in choices:
        problems.append(f"{name}: must be one of {', '.join(choices)}")
        return None
    return raw


def matches_search(needle: str | None, *haystack) -> bool:
    """Case-insensitive substring match against any of the given values (None values skipped)."""
    if not needle or not needle.strip():
        return True
    wanted = needle.strip().casefold()
    return any(wanted in str(value).casefold() for value in haystack if value is not None)


def paginate(items: list, page: int, limit: int) -> tuple[list, dict]:
    """The slice for a 1-based ``page`` and the response's ``pagination`` block."""
    start = (page - 1) * limit
    return items[start:start + limit], {"total": len(items), "page": page, "limit": limit}
