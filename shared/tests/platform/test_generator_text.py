"""The columnar generator's text assembly: every row gets exactly its parts, whatever their widths."""

import numpy as np
import pyarrow as pa
import pytest

from dataplatform.platform.generator._days import numbered
from dataplatform.platform.generator._text import Cells, Choice, Lookup, render, reusing_memory


def ascii_rows(*rows: str) -> np.ndarray:
    """A byte matrix of equally long ASCII rows."""
    return np.array([list(row.encode()) for row in rows], np.uint8)


def test_constants_choices_and_cells_make_each_rows_text() -> None:
    kind = Choice(["page", "track"], np.array([0, 1, 1]))
    ids = Cells(ascii_rows("a1", "b2", "c3"))

    text = render(['{"type":"', kind, '","id":"', ids, '"}'], 3)

    assert text.to_pylist() == [
        '{"type":"page","id":"a1"}',
        '{"type":"track","id":"b2"}',
        '{"type":"track","id":"c3"}',
    ]


def test_parts_of_varying_width_before_and_after_the_last_fixed_one() -> None:
    # The widths vary a lot from row to row, so a row's longest choice would overrun its
    # neighbour's text were the parts not written in the right turn.
    words = ["", "x", "longer-word", "a-much-much-longer-word"]
    first = np.array([3, 0, 1, 2, 3, 0])
    last = np.array([0, 3, 2, 0, 1, 3])
    ids = Cells(ascii_rows("11", "22", "33", "44", "55", "66"))

    text = render([Choice(words, first), "|", ids, "|", Choice(words, last)], 6)

    assert text.to_pylist() == [
        "a-much-much-longer-word|11|",
        "|22|a-much-much-longer-word",
        "x|33|longer-word",
        "longer-word|44|",
        "a-much-much-longer-word|55|x",
        "|66|a-much-much-longer-word",
    ]


def test_cells_of_their_own_lengths_with_no_fixed_part_to_lean_on() -> None:
    names = Cells(ascii_rows("ann__", "bo___", "cyril"), lengths=np.array([3, 2, 5]))
    ending = Choice(["!", "?!"], np.array([1, 0, 1]))

    text = render([Choice(["hi ", ""], np.array([0, 1, 0])), names, ending], 3)

    assert text.to_pylist() == ["hi ann?!", "bo!", "hi cyril?!"]


def test_a_lookup_repeats_text_made_once_for_many_rows() -> None:
    sessions = render(['{"session":"', Cells(ascii_rows("s1", "s2")), '"}'], 2)
    session_of = np.array([0, 0, 1, 0])

    alone = render([Lookup(sessions, session_of)], 4)
    inside = render(["[", Cells(ascii_rows("e1", "e2", "e3", "e4")), ",", Lookup(sessions, session_of), "]"], 4)  # fmt: skip

    assert alone.to_pylist() == [
        '{"session":"s1"}',
        '{"session":"s1"}',
        '{"session":"s2"}',
        '{"session":"s1"}',
    ]
    assert inside.to_pylist() == [
        '[e1,{"session":"s1"}]',
        '[e2,{"session":"s1"}]',
        '[e3,{"session":"s2"}]',
        '[e4,{"session":"s1"}]',
    ]


def test_templates_nest_and_only_choices_make_a_dictionary() -> None:
    flag = Choice(["false", "true"], np.array([1, 0]))
    inner = ['{"on":', flag, "}"]

    assert render(["[", inner, "]"], 2).to_pylist() == ['[{"on":true}]', '[{"on":false}]']
    assert render(["same"], 2).to_pylist() == ["same", "same"]
    assert render([Cells(ascii_rows("ab", "cd"))], 2).to_pylist() == ["ab", "cd"]


def test_no_rows_make_an_empty_column() -> None:
    empty = np.zeros(0, np.int64)

    text = render(["{", Choice(["a", "bb"], empty), Cells(np.zeros((0, 4), np.uint8)), "}"], 0)

    assert text.type == pa.string() and len(text) == 0


def test_rows_across_many_chunks_keep_their_own_text() -> None:
    rows = 150_000  # more than two chunks of rows written a part at a time
    number = np.arange(rows)
    digits = numbered("", rows)
    word = Choice(["odd", "even-number"], number % 2 == 0)

    text = render([word, ":", digits, ";", word], rows).to_pylist()

    assert text[0] == "even-number:000000;even-number"
    assert text[70_001] == "odd:070001;odd"
    assert text[-1] == "odd:149999;odd"
    assert len(set(text)) == rows


def test_ids_past_a_million_grow_a_digit_as_the_formatted_ones_do() -> None:
    ids = numbered("user-", 1_000_002)

    text = render([ids], 1_000_002)

    assert [text[i].as_py() for i in (0, 42, 999_999, 1_000_000, 1_000_001)] == [
        "user-000000",
        "user-000042",
        "user-999999",
        "user-1000000",
        "user-1000001",
    ]


def test_reused_memory_never_overwrites_text_still_in_use() -> None:
    template = ["<", Cells(ascii_rows("aa", "bb")), ">"]
    with reusing_memory():
        kept = render(template, 2)
        other = render(["(", Cells(ascii_rows("xx", "yy")), ")"], 2)
        dropped_at = other.buffers()[2].address
        del other
        again = render(["[", Cells(ascii_rows("zz", "ww")), "]"], 2)

        assert kept.to_pylist() == ["<aa>", "<bb>"]
        assert again.to_pylist() == ["[zz]", "[ww]"]
        assert again.buffers()[2].address == dropped_at  # the freed buffer, written again


def test_more_text_than_an_arrow_array_holds_is_refused_naming_the_rows() -> None:
    huge = "x" * (1 << 20)

    with pytest.raises(ValueError, match="2100 rows make 2,202,009,600 bytes"):
        render([Choice([huge], np.zeros(2_100, np.int64)), Cells(np.zeros((2_100, 0), np.uint8))], 2_100)  # fmt: skip
