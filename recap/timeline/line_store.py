"""A long timeline's `EventLine`s kept in a temporary file, so that compiling a recording
holds a few bytes per event rather than the events themselves.

Lines arrive by ref number (mostly in order: a held input comes late) and are read back
by index, as the budget and the renderer need them. A short timeline never touches the
disk: the file is made only past `SPILL_AT` lines, and it is gone once the store closes
(or the process ends, since it is never linked into a folder).
"""

from __future__ import annotations

import dataclasses
import marshal
import sys
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from typing import IO, Any, Final, overload

from recap.timeline.budget import EventLine
from recap.timeline.models import EventKind

SPILL_AT: Final = 8192
"""Lines held in memory before the store moves to its file."""
_MISSING: Final = -1
_KINDS: Final = {kind.value: kind for kind in EventKind}


class LineStore(Sequence[EventLine]):
    """`EventLine`s by index (ref number - 1); use it as a context manager."""

    def __init__(self, spill_at: int | None = None) -> None:
        self._spill_at = SPILL_AT if spill_at is None else spill_at
        self._memory: list[EventLine | None] | None = []
        self._file: IO[bytes] | None = None
        self._offsets = array("q")
        self._sizes = array("I")
        self._end = 0

    def __enter__(self) -> LineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def put(self, ref: int, line: EventLine) -> None:
        """Store the line of ref `ref` (1, 2, …)."""
        memory = self._memory
        if memory is not None:
            while len(memory) < ref:
                memory.append(None)
            memory[ref - 1] = line
            if len(memory) >= self._spill_at:
                self._spill(memory)
            return
        while len(self._offsets) < ref:
            self._offsets.append(_MISSING)
            self._sizes.append(0)
        self._write(ref - 1, line)

    @property
    def spilled(self) -> bool:
        return self._memory is None

    def _spill(self, memory: list[EventLine | None]) -> None:
        try:
            # Open as long as the store is (closed by `close`), so not in a `with`.
            self._file = tempfile.TemporaryFile(prefix="recap-lines-")  # noqa: SIM115
        except OSError:
            # No writable temporary folder (a read-only container): memory will do.
            self._spill_at = sys.maxsize
            return
        self._memory = None
        self._offsets = array("q", [_MISSING]) * len(memory)
        self._sizes = array("I", [0]) * len(memory)
        for index, line in enumerate(memory):
            if line is not None:
                self._write(index, line)

    def _write(self, index: int, line: EventLine) -> None:
        assert self._file is not None
        record = marshal.dumps(
            (
                line.ref,
                line.t_ms,
                line.window,
                line.kind.value,
                line.target,
                line.value,
                tuple(map(str, line.flags)),  # a `Flag` is a str subclass, not marshalled
                line.effect,
                line.url,
                line.duration_ms,
                line.react_ms,
                line.count,
            )
        )
        self._file.seek(self._end)
        self._file.write(record)
        self._offsets[index] = self._end
        self._sizes[index] = len(record)
        self._end += len(record)

    def __len__(self) -> int:
        return len(self._memory) if self._memory is not None else len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> EventLine: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[EventLine]: ...

    def __getitem__(self, index: int | slice) -> EventLine | Sequence[EventLine]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if self._memory is not None:
            line = self._memory[index]
        else:
            line = self._read(index) if self._offsets[index] != _MISSING else None
        if line is None:
            raise LookupError(f"no line was stored for ref e{index + 1}")
        return line

    def __iter__(self) -> Iterator[EventLine]:
        for index in range(len(self)):
            yield self[index]

    def _read(self, index: int) -> EventLine:
        assert self._file is not None
        self._file.seek(self._offsets[index])
        fields: tuple[Any, ...] = marshal.loads(self._file.read(self._sizes[index]))
        ref, t_ms, window, kind, target, value, flags, effect, url, duration, react, count = fields
        return EventLine(
            ref,
            t_ms,
            window,
            _KINDS[kind],
            target,
            value,
            flags,
            effect,
            url,
            duration,
            react,
            count,
        )

    def moved(self, shift: int) -> None:
        """Count every line's time `shift` ms later, and none before 0 (see `compile`)."""
        for index in range(len(self)):
            line = self[index]
            t_ms = max(0, line.t_ms + shift)
            if t_ms == line.t_ms:
                continue
            if self._memory is not None:
                self._memory[index] = dataclasses.replace(line, t_ms=t_ms)
            else:
                self._write(index, dataclasses.replace(line, t_ms=t_ms))
