"""List-query rules: 1-based page/limit with defaults and bounds, query flags, search."""

from __future__ import annotations

import pytest

from sandbox.domain.pagination import matches_search, paginate, read_choice, read_flag, read_paging


def test_paging_defaults_to_first_page_of_twenty():
    problems: list[str] = []
    assert read_paging(None, None, problems) == (1, 20)
    assert problems == []


def test_paging_accepts_strings_and_integers():
    problems: list[str] = []
    assert read_paging("3", "100", problems) == (3, 100)
    assert read_paging(2, 1, problems) == (2, 1)
    assert problems == []


PAGE = "page: must be an integer of at least 1"
LIMIT = "limit: must be an integer between 1 and 100"


@pytest.mark.parametrize("page, limit, expected", [
    ("0", None, [PAGE]),
    ("-1", None, [PAGE]),
    ("one", None, [PAGE]),
    (True, None, [PAGE]),
    (None, "0", [LIMIT]),
    (None, "101", [LIMIT]),
    (None, "2.5", [LIMIT]),
    ("0", "500", [PAGE, LIMIT]),
])
def test_paging_reports_each_bad_parameter(page, limit, expected):
    problems: list[str] = []
    read_paging(page, limit, problems)
    assert problems == expected


def test_paginate_slices_one_based_pages_and_counts_everything():
    items = list(range(7))
    assert paginate(items, 1, 3) == ([0, 1, 2], {"total": 7, "page": 1, "limit": 3})
    assert paginate(items, 3, 3) == ([6], {"total": 7, "page": 3, "limit": 3})
    assert paginate(items, 4, 3) == ([], {"total": 7, "page": 4, "limit": 3})


def test_a_page_walk_returns_every_item_exactly_once():
    items = [f"item{i}" for i in range(23)]
    walked = []
    for page in range(1, 6):
        chunk, meta = paginate(items, page, 5)
        walked += chunk
        assert meta["total"] == 23
    assert walked == items


@pytest.mark.parametrize("raw, expected", [(None, None), ("true", True), ("false", False), ("TRUE", True),
                                           (True, True), (False, False)])
def test_flags_read_true_false_strings(raw, expected):
    problems: list[str] = []
    assert read_flag("active", raw, problems) is expected
    assert problems == []


def test_a_bad_flag_names_the_parameter():
    problems: list[str] = []
    assert read_flag("includeArchived", "yes", problems) is None
    assert problems == ["includeArchived: must be one of true, false"]


def test_choice_is_exact_and_names_the_choices():
    problems: list[str] = []
    assert read_choice("category", "file", ("file", "flags"), problems) == "file"
    assert read_choice("category", "File", ("file", "flags"), problems) is None
    assert problems == ["category: must be one of file, flags"]


def test_search_is_a_case_insensitive_substring_over_any_value():
    assert matches_search("acme", "Auto Insurance Quotes", "HXZ", "Acme Insurance")
    assert matches_search("hx", "Auto Insurance Quotes", "HXZ")
    assert not matches_search("solar", "Auto Insurance Quotes", None)
    assert matches_search(None, "anything")
    assert matches_search("  ", "anything")
