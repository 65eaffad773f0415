import pytest

from helpers.report import format_table


def test_format_table_cells_alignment_and_missing_values():
    rows = [{"name": "a", "x": 0.5}, {"name": "b", "x": None}, {"name": "c"}]
    text = format_table(rows, [("name", "name", "", "left"), ("x", "value", ".0%")])
    assert text.splitlines() == ["| name | value |", "|---|---:|", "| a | 50% |", "| b | n/a |", "| c | n/a |"]


def test_format_table_refuses_unknown_alignment():
    with pytest.raises(ValueError, match="align"):
        format_table([{"a": 1}], [("a", "a", "d", "centre")])
