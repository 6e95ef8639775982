"""The binary snapshot's worked example in docs/protocol.md, read from the
document's own text by a decoder written from the document alone, agrees
with its decoded JSON and with the game's own decoder."""
from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

from game.core import protocol as P

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
SECTION = DOC[DOC.index("### Binary snapshots and areas"):]
SECTION = SECTION[:SECTION.index("\n### correction")]


def hex_blocks() -> list[bytes]:
    return [bytes.fromhex(block) for block in re.findall(r"```text\n([0-9a-f ]+)\n```", SECTION)]


class DocDecoder:
    """What a third party writes from the section: varints, id lists, the
    table of last positions and steps in quarter pixels."""

    def __init__(self) -> None:
        self.units: dict[int, tuple[int, int, int, int]] = {}  # id -> x, y, step x, step y

    @staticmethod
    def _body(data: bytes) -> tuple[int, bytes]:
        assert data[0] == 1
        body = data[2:]
        return data[1], zlib.decompress(body, -15) if data[1] & 1 else body

    @staticmethod
    def _varint(body: bytes, i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = body[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    def _ids(self, body: bytes, i: int) -> tuple[list[int], int]:
        n, i = self._varint(body, i)
        ids, prev = [], 0
        for _ in range(n):
            gap, i = self._varint(body, i)
            prev += gap
            ids.append(prev)
        return ids, i

    def area(self, data: bytes) -> dict:
        flags, body = self._body(data)
        if flags & 2:
            self.units.clear()
        ids, i = self._ids(body, 0)
        enter = []
        for pid in ids:
            x, i = self._varint(body, i)
            y, i = self._varint(body, i)
            sx, sy = (int.from_bytes(body[i:i + 1], "big", signed=True),
                      int.from_bytes(body[i + 1:i + 2], "big", signed=True))
            i += 2
            self.units[pid] = (x, y, sx, sy)
            enter += [pid, x / 4, y / 4]
        leave, i = self._ids(body, i)
        for pid in leave:
            self.units.pop(pid, None)
        return {"enter": enter, "leave": leave, "reset": bool(flags & 2)}

    def snapshot(self, data: bytes) -> dict:
        _, body = self._body(data)
        tick, i = self._varint(body, 0)
        t, i = self._varint(body, i)
        p = []
        ids, i = self._ids(body, i)
        for pid in ids:
            x, i = self._varint(body, i)
            y, i = self._varint(body, i)
            self.units[pid] = (x, y, 0, 0)
            p += [pid, x / 4, y / 4]
        ids, i = self._ids(body, i)
        for pid in ids:
            dx, dy = (int.from_bytes(body[i:i + 1], "big", signed=True),
                      int.from_bytes(body[i + 1:i + 2], "big", signed=True))
            i += 2
            x, y, sx, sy = self.units[pid]
            sx, sy = sx + dx, sy + dy
            self.units[pid] = (x + sx, y + sy, sx, sy)
            p += [pid, (x + sx) / 4, (y + sy) / 4]
        gone, i = self._ids(body, i)
        assert i == len(body)
        for pid in gone:
            self.units.pop(pid, None)
        out = {"tick": tick, "t": t, "p": p}
        if gone:
            out["gone"] = gone
        return out


def test_the_worked_example_decodes_as_the_document_says():
    snapshot, area = hex_blocks()
    assert f"These {len(snapshot)} bytes are a snapshot" in SECTION
    decoded = json.loads(re.findall(r"```json\n(.*?)\n```", SECTION, re.S)[-1])
    mine = DocDecoder()
    assert mine.area(area) == {"enter": [7, 880.5, 96.25, 9, 200.0, 201.0], "leave": [12],
                               "reset": False}
    assert mine.snapshot(snapshot) == decoded
    book = P.PositionBook()
    book.area(area)
    assert book.snapshot(snapshot) == decoded
    assert book.known == mine.units == {4: (5568, 4672, 0, 0), 7: (3554, 381, 32, -4),
                                        9: (797, 804, -3, 0)}


def test_the_document_decoder_reads_what_the_host_encodes_compressed():
    """The same decoder, on a deflated snapshot the host's encoder made."""
    deltas = [(pid, (pid % 9) - 4, 8) for pid in range(10, 210)]
    data = P.encode_snapshot(99, 123456, [(5, 40, 44)], deltas, [3])
    assert data[1] & P.FLAG_DEFLATE
    mine = DocDecoder()
    mine.units.update({pid: (1000, 1000, 3, -2) for pid in range(10, 210)})
    book = P.PositionBook()
    book.known.update(mine.units)
    assert mine.snapshot(data) == book.snapshot(data)


def test_the_raw_frames_appendix_shows_real_binary_messages():
    lines = DOC[DOC.index("## 14. Appendix: the raw frames"):].splitlines()
    shown = []
    for before, line in zip(lines, lines[1:]):
        if line.startswith("<- (binary) "):
            event = re.match(r'<- 451-\["(\w+)"', before).group(1)
            data = bytes.fromhex(line[len("<- (binary) "):].split("  ")[0])
            book = P.PositionBook()
            shown.append(book.snapshot(data) if event == "snapshot" else book.area(data))
    assert shown == [{"enter": [], "leave": [], "reset": True},
                     {"tick": 2728, "t": 1795625689036, "p": [6, 1392.0, 1168.0]}]
