"""Millions of JSON strings a second: text columns assembled from parts by numpy copies.

A column is a template, a sequence of parts: constants, `Choice`s (one of a few strings a row)
and `Cells` (text of its own a row, as ids and times). Neighbouring constants and choices are
merged into one choice over the combinations that occur, so a template alternates merged
choices and cells, and each part is written into every row at once: the rows' text is one byte
buffer, and a part is copied to each row's position through a view of that buffer whose rows
start at every byte, so no row is formatted on its own.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from sys import getrefcount
from typing import TYPE_CHECKING, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

if TYPE_CHECKING:
    import pyarrow as pa

# A combination of codes up to this many values is numbered through a lookup table, larger
# ones through a sort.
_LOOKUP_LIMIT = 1 << 24
# Arrow's `string` type addresses its text with 32-bit offsets.
_MOST_BYTES = (1 << 31) - 1
# Rows written a part at a time: the part's bytes for them stay small enough to be reused.
_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class Choice:
    """`values[codes]`: one of a few strings per row."""

    values: Sequence[str]
    codes: np.ndarray


@dataclass(frozen=True)
class Cells:
    """Text of its own per row: row i is `matrix[i, :lengths[i]]`, the whole row without
    `lengths`. `matrix` holds UTF-8 bytes, one row per output row."""

    matrix: np.ndarray
    lengths: np.ndarray | None = None


@dataclass(frozen=True)
class Lookup:
    """`texts[index]`: text shared by many rows, made once for each (a session's ids, say)."""

    texts: "pa.Array"
    index: np.ndarray


Template = Sequence[Union[str, Choice, Cells, Lookup, "Template"]]


@dataclass(frozen=True)
class _Part:
    """What one part writes: row i gets `matrix[codes[i], :widths[i]]` (`codes` None: row i of
    `matrix`); `widths` an int when every row's is the same. A matrix row may run on past its
    width with bytes of no meaning."""

    matrix: np.ndarray
    codes: np.ndarray | None
    widths: np.ndarray | int

    def fills(self, rows: int) -> bool:
        """Whether the part is `rows` rows of text, each the whole row of its matrix."""
        whole = isinstance(self.widths, int) and self.widths == self.matrix.shape[1]
        return whole and self.codes is None and self.matrix.shape[0] == rows

    def padded(self) -> np.ndarray:
        """Every row's bytes as wide as the widest."""
        return self.matrix if self.codes is None else self.matrix[self.codes]

    def sliced(self, low: int, high: int) -> "_Part":
        """The part for rows `low` to `high` only."""
        widths = self.widths if isinstance(self.widths, int) else self.widths[low:high]
        if self.codes is not None:
            return _Part(self.matrix, self.codes[low:high], widths)
        constant = self.matrix.shape[0] == 1
        return _Part(self.matrix if constant else self.matrix[low:high], None, widths)


def render(template: Template, rows: int) -> "pa.Array":
    """The template's text for `rows` rows, as an Arrow string array."""
    import pyarrow as pa

    flat = _flattened(template)
    if len(flat) == 1 and isinstance(flat[0], Lookup):
        return flat[0].texts.take(pa.array(flat[0].index))
    if all(isinstance(part, str | Choice) for part in flat):  # a dictionary: Arrow takes it
        values, codes = _merged_choices(flat)
        strings = pa.array([value.decode() for value in values], pa.string())
        return pa.repeat(strings[0], rows) if codes is None else strings.take(pa.array(codes))
    parts = _compile(flat)
    if len(parts) == 1 and parts[0].fills(rows):
        return _as_strings(parts[0].matrix)
    return _assembled(parts, rows)


def _assembled(parts: list[_Part], rows: int) -> "pa.Array":
    """The parts written side by side into every row.

    A part whose values differ in width writes its widest in every row, the bytes past a
    row's own width falling on text written after it. So the parts are written in turn from
    the one after the last part of fixed width round to that part, written exactly and last:
    a part's extra bytes then fall on text still to come, up to where that last part ends in
    the same row (for the parts before it) or the next one (for those after it).
    """
    import pyarrow as pa

    offsets = np.zeros(rows + 1, np.int64)
    np.cumsum(sum((part.widths for part in parts), np.zeros(rows, np.int64)), out=offsets[1:])
    size = int(offsets[-1])
    if size > _MOST_BYTES:
        raise ValueError(
            f"{rows} rows make {size:,} bytes of text, more than one Arrow string array holds "
            f"({_MOST_BYTES:,}): render fewer rows at once"
        )
    fixed = [n for n, part in enumerate(parts) if isinstance(part.widths, int)]
    pivot = fixed[-1] if fixed else len(parts) - 1
    spill = max((part.matrix.shape[1] for part in parts[pivot + 1 :]), default=0)
    text = _buffer(size + spill)
    before_pivot = sum((part.widths for part in parts[: pivot + 1]), np.zeros(rows, np.int64))
    fences = np.append(offsets[:-1] + before_pivot, size + spill)
    for low in range(0, rows if size else 0, _CHUNK_ROWS):
        high = min(rows, low + _CHUNK_ROWS)
        chunks = [part.sliced(low, high) for part in parts]
        starts = [offsets[low:high]]
        for chunk in chunks[:-1]:
            starts.append(starts[-1] + chunk.widths)
        for n in [*range(pivot + 1, len(parts)), *range(pivot + 1)]:
            fence = fences[low:high] if n <= pivot else fences[low + 1 : high + 1]
            _write(text, starts[n], fence, chunks[n])
    return pa.StringArray.from_buffers(
        rows, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(text[:size])
    )


@contextmanager
def reusing_memory() -> Iterator[None]:
    """Text rendered within is written into the buffers of text rendered before it that no
    array refers to any more, where they are large enough."""
    token = _SPARE.set([])
    try:
        yield
    finally:
        _SPARE.reset(token)


# Buffers text may be written into (see `reusing_memory`); None: fresh ones each time.
_SPARE: ContextVar[list[np.ndarray] | None] = ContextVar("spare_text_buffers", default=None)
# An Arrow array holds its text through a view of the buffer, which holds the buffer; with no
# array left, the buffer's only references are its list's, a loop's name and getrefcount's.
_UNUSED = 3
_ROOM = 1.25  # a fresh buffer is this much larger than asked, for a later, larger batch


def _buffer(size: int) -> np.ndarray:
    """`size` bytes to write text into. Fresh memory costs the kernel a fault and the zeroing
    of every page, which on a busy machine takes longer than writing the text: when reusing
    memory, the smallest spare buffer large enough is used instead."""
    spare = _SPARE.get()
    if spare is None:
        return np.empty(size, np.uint8)
    unused = [buffer for buffer in spare if buffer.size >= size and getrefcount(buffer) == _UNUSED]
    if unused:
        return min(unused, key=len)[:size]
    spare.append(np.empty(round(size * _ROOM), np.uint8))
    return spare[-1][:size]


def _as_strings(matrix: np.ndarray) -> "pa.Array":
    """The rows of `matrix` as strings, without copying them."""
    import pyarrow as pa

    rows, width = matrix.shape
    offsets = np.arange(0, width * (rows + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(matrix))


def _write(text: np.ndarray, at: np.ndarray, fences: np.ndarray, part: _Part) -> None:
    """Copy `part` into each row of `text` from `at`; up to `fences` its bytes may run on."""
    if isinstance(part.widths, int):
        if part.widths:
            _rows_at(text, part.widths)[at] = part.padded()[:, : part.widths]
        return
    widest = part.matrix.shape[1]
    if not widest:
        return
    if np.all(fences - at >= widest):
        _rows_at(text, widest)[at] = part.padded()
        return
    by_width = np.argsort(part.widths, kind="stable")
    counts = np.bincount(part.widths, minlength=widest + 1)
    low = 0
    for width, count in enumerate(counts.tolist()):
        chosen, low = by_width[low : low + count], low + count
        if width and count:
            rows = part.matrix[chosen if part.codes is None else part.codes[chosen], :width]
            _rows_at(text, width)[at[chosen]] = rows


def _rows_at(text: np.ndarray, width: int) -> np.ndarray:
    """A writable view of `text` whose row k is `text[k:k + width]`."""
    return as_strided(text, (text.size - width + 1, width), (1, 1), writeable=True)


def _compile(flat: list[str | Choice | Cells | Lookup]) -> list[_Part]:
    """The parts to write, with neighbouring constants and choices merged."""
    parts: list[_Part] = []
    pending: _Coded | None = None
    for part in flat:
        if isinstance(part, Cells | Lookup):
            if pending is not None:
                parts.append(_merged(*pending))
                pending = None
            parts.append(_cells(part) if isinstance(part, Cells) else _looked_up(part))
            continue
        pending = _coded(part) if pending is None else _combined(pending, _coded(part))
    if pending is not None:
        parts.append(_merged(*pending))
    return parts


def _flattened(template: Template) -> list[str | Choice | Cells | Lookup]:
    flat: list[str | Choice | Cells | Lookup] = []
    for part in template:
        if isinstance(part, str | Choice | Cells | Lookup):
            flat.append(part)
        else:
            flat += _flattened(part)
    return flat


_Coded = tuple[list[bytes], np.ndarray | None]


def _coded(part: str | Choice) -> _Coded:
    if isinstance(part, str):
        return [part.encode()], None
    return [value.encode() for value in part.values], part.codes.astype(np.intp)


def _merged_choices(parts: list[str | Choice | Cells | Lookup]) -> _Coded:
    merged = _coded(parts[0])  # type: ignore[arg-type]
    for part in parts[1:]:
        merged = _combined(merged, _coded(part))  # type: ignore[arg-type]
    return merged


def _combined(first: _Coded, second: _Coded) -> _Coded:
    """`first` then `second`, as one choice over the pairs of values that occur."""
    (first_values, first_codes), (second_values, second_codes) = first, second
    if second_codes is None:
        return [value + second_values[0] for value in first_values], first_codes
    if first_codes is None:
        return [first_values[0] + value for value in second_values], second_codes
    size = len(second_values)
    pairs, present = _numbered(first_codes * size + second_codes, len(first_values) * size)
    values = [first_values[pair // size] + second_values[pair % size] for pair in present.tolist()]
    return values, pairs


def _numbered(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """`codes` renumbered 0, 1, ... over the values that occur, and those values (ascending)."""
    if size > _LOOKUP_LIMIT:
        present, numbered = np.unique(codes, return_inverse=True)
        return numbered, present
    present = np.flatnonzero(np.bincount(codes, minlength=size))
    lookup = np.zeros(size, np.intp)
    lookup[present] = np.arange(present.size)
    return lookup[codes], present


def _merged(values: list[bytes], codes: np.ndarray | None) -> _Part:
    lengths = np.array([len(value) for value in values], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return _part_of(np.frombuffer(b"".join(values), np.uint8), starts, lengths, codes)


def _looked_up(lookup: Lookup) -> _Part:
    offsets = np.frombuffer(
        lookup.texts.buffers()[1], np.int32, len(lookup.texts) + 1, lookup.texts.offset * 4
    )
    text = np.frombuffer(lookup.texts.buffers()[2] or b"", np.uint8)
    return _part_of(text, offsets[:-1], np.diff(offsets), lookup.index.astype(np.intp))


def _part_of(
    text: np.ndarray, starts: np.ndarray, lengths: np.ndarray, codes: np.ndarray | None
) -> _Part:
    """The part that writes `text[starts[c]:starts[c] + lengths[c]]` for each code `c`."""
    widest = int(lengths.max(initial=0))  # no values: a choice among no rows
    # Each value followed by the next ones' bytes, to make up the widest.
    padded = np.concatenate([text, np.zeros(widest, np.uint8)])
    matrix = (
        np.ascontiguousarray(_rows_at(padded, widest)[starts])
        if widest
        else np.zeros((lengths.size, 0), np.uint8)
    )
    if codes is None or lengths.min(initial=widest) == widest:
        return _Part(matrix, codes, widest)
    return _Part(matrix, codes, lengths[codes].astype(np.int64))


def _cells(cells: Cells) -> _Part:
    matrix = np.ascontiguousarray(cells.matrix, dtype=np.uint8)
    widths = matrix.shape[1] if cells.lengths is None else cells.lengths.astype(np.int64)
    return _Part(matrix, None, widths)
