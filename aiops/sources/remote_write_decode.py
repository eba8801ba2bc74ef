"""Decode a remote-write request into columns: series key bytes, timestamps, values.

Prometheus sends every sample as its own ``TimeSeries``: the series' labels, then one
``Sample`` (value, millisecond timestamp). Decoding that with one Python object per
label costs ~15 us a series, so the common shapes are read column-wise instead:

1. upb splits the request into one ``bytes`` per series (:data:`RawWriteRequest`);
2. numpy checks the tail of every series at once for the two encodings of one sample
   with a 6-byte timestamp varint (every millisecond time from 1971 to 2109): value set
   (18 bytes: ``12 10 09 <8-byte double> 10 <varint>``) or value 0.0, which proto3
   leaves out (9 bytes: ``12 07 10 <varint>``), and reads values and timestamps from the
   joined buffer as arrays;
3. the series' **key** is everything before that tail: its encoded labels, exactly as on
   the wire. The caller interns keys; a new key is validated once by
   :func:`parse_labels` (only label fields, UTF-8 names and values), and a key that is
   not a pure label sequence sends the series through the general path after all.

Every other shape (several samples per series, exemplars, histograms, other varint
lengths) takes the general path: upb parses the series with its labels kept as bytes
(:data:`RawTimeSeries`), so keys are the same bytes either way. Samples come out in
request order, so a series' samples keep their order.

>>> from aiops.sources.remote_write_proto import encode_request, decompress
>>> body = encode_request([({"__name__": "up", "job": "a"}, [(1.5, 1_700_000_000_000)]),
...                        ({"__name__": "up", "job": "b"}, [(0.0, 1_700_000_000_000)])])
>>> d = decode_write(decompress(body, limit=1 << 20))
>>> d.value.tolist(), d.t_ms.tolist() == [1_700_000_000_000] * 2, d.general
([1.5, 0.0], True, 0)
>>> parse_labels(d.keys[1])
{'__name__': 'up', 'job': 'b'}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aiops.sources.remote_write_proto import RawTimeSeries, RawWriteRequest

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_LONG, _ZERO = 18, 9  # tail bytes of one sample: value set / value 0.0 (6-byte varint)
_SHIFTS = 7 * np.arange(6, dtype=np.int64)
_SLICES = {_LONG: slice(None, -_LONG), _ZERO: slice(None, -_ZERO)}


def _cut_long(b: bytes) -> bytes:
    return b[:-_LONG]


class LabelsInvalid(ValueError):
    """A series whose labels are not a valid label set (the reason says why)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DecodedWrite:
    """One request's samples in request order: series key bytes, ms timestamp, value."""

    keys: list[bytes]
    t_ms: I64
    value: F64
    series: int = 0
    general: int = 0  # series that took the general path
    exemplars: int = 0  # ignored (not scored)
    histograms: int = 0  # ignored (native histograms are not scored)

    def __len__(self) -> int:
        return len(self.keys)


def decode_write(data: bytes, *, general: bool = False) -> DecodedWrite:
    """The samples of a decompressed WriteRequest (``DecodeError`` if it is not one).

    ``general`` sends every series through the general path (for a request whose fast
    key turned out not to be a label sequence).
    """
    raw = RawWriteRequest()
    raw.ParseFromString(data)
    items: list[bytes] = list(raw.timeseries)
    n = len(items)
    if n == 0:
        return DecodedWrite(keys=[], t_ms=np.zeros(0, np.int64), value=np.zeros(0))
    if general:
        return _mixed(items, [False] * n, [0] * n, np.zeros(n, np.int64), np.zeros(n))
    lens = np.fromiter(map(len, items), dtype=np.int64, count=n)
    # Canonical framing (only field 1, minimal length varints) lets the series be read in
    # place; anything else (metadata, unknown fields) is read from a joined copy.
    framed = np.cumsum(1 + _varint_size(lens) + lens)
    if int(framed[-1]) == len(data):
        buf, ends = np.frombuffer(data, dtype=np.uint8), framed
    else:
        buf, ends = np.frombuffer(b"".join(items), dtype=np.uint8), np.cumsum(lens)

    at_tail = np.maximum(ends - _LONG, 0)[:, None] + np.arange(_LONG)
    tail = buf[np.minimum(at_tail, buf.shape[0] - 1)]  # each series' last 18 bytes

    def at(back: int) -> npt.NDArray[np.uint8]:
        column: npt.NDArray[np.uint8] = tail[:, _LONG - back]
        return column

    varint6 = ((np.bitwise_and.reduce(tail[:, 12:17], axis=1)) >= 0x80) & (at(1) < 0x80)
    long = (varint6 & (lens > _LONG) & (at(18) == 0x12) & (at(17) == 0x10) & (at(16) == 0x09)
            & (at(7) == 0x10))
    zero = (varint6 & ~long & (lens > _ZERO) & (at(9) == 0x12) & (at(8) == 0x07)
            & (at(7) == 0x10))
    stamp = ((tail[:, 12:] & 0x7F).astype(np.int64) << _SHIFTS).sum(1)
    value = np.zeros(n)
    if long.any():
        value[long] = np.ascontiguousarray(tail[long, 3:11]).view("<f8").ravel()
    if long.all():
        return DecodedWrite(keys=list(map(_cut_long, items)), t_ms=stamp, value=value, series=n)
    fast = long | zero
    cut = np.where(long, _LONG, _ZERO).tolist()
    if fast.all():
        keys: list[bytes] = list(map(bytes.__getitem__, items, map(_SLICES.__getitem__, cut)))
        return DecodedWrite(keys=keys, t_ms=stamp, value=value, series=n)
    return _mixed(items, fast.tolist(), cut, stamp, value)


def _mixed(items: list[bytes], fast: list[bool], cut: list[int], stamp: I64,
           value: F64) -> DecodedWrite:
    """Request order kept when some series need the general path."""
    keys: list[bytes] = []
    stamps: list[int] = []
    values: list[float] = []
    general = exemplars = histograms = 0
    st, vs = stamp.tolist(), value.tolist()
    for i, b in enumerate(items):
        if fast[i]:
            keys.append(b[:-cut[i]])
            stamps.append(st[i])
            values.append(vs[i])
            continue
        general += 1
        ts = RawTimeSeries()
        ts.ParseFromString(b)
        exemplars += len(ts.exemplars)
        histograms += len(ts.histograms)
        key = encode_labels(list(ts.labels))
        for s in ts.samples:
            keys.append(key)
            stamps.append(int(s.timestamp))
            values.append(float(s.value))
    return DecodedWrite(keys=keys, t_ms=np.array(stamps, dtype=np.int64),
                        value=np.array(values, dtype=np.float64), series=len(items),
                        general=general, exemplars=exemplars, histograms=histograms)


def _varint_size(n: I64) -> I64:
    """Bytes of the minimal varint of each length."""
    size = np.ones_like(n)
    for bits in (7, 14, 21, 28):
        size += n >= (1 << bits)
    return size


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_labels(labels: list[bytes]) -> bytes:
    """The key of a series from its encoded ``Label`` messages (field 1 of TimeSeries)."""
    return b"".join(b"\x0a" + _varint(len(label)) + label for label in labels)


def _read_varint(b: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(b) or shift > 63:
            raise LabelsInvalid("truncated varint")
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def parse_labels(key: bytes, *, max_value_bytes: int = 4096) -> dict[str, str]:
    """The label set a series key encodes; :class:`LabelsInvalid` unless it is only labels.

    Checked: every field is a ``Label`` (field 1, length-delimited) holding only a name
    (field 1) and a value (field 2), both UTF-8, no value over ``max_value_bytes``, no
    name twice, and a non-empty ``__name__``.
    """
    out: dict[str, str] = {}
    i = 0
    while i < len(key):
        if key[i] != 0x0A:
            raise LabelsInvalid(f"field tag {key[i]:#x} where a label was expected")
        size, i = _read_varint(key, i + 1)
        end = i + size
        if end > len(key):
            raise LabelsInvalid("label runs past the series")
        name, value = _label(key[i:end], max_value_bytes)
        if name in out:
            raise LabelsInvalid(f"label {name[:60]!r} appears twice")
        out[name] = value
        i = end
    if not out.get("__name__"):
        raise LabelsInvalid("series without a __name__ label")
    return out


def _label(b: bytes, max_value_bytes: int) -> tuple[str, str]:
    parts = {1: b"", 2: b""}
    i = 0
    while i < len(b):
        tag = b[i]
        if tag not in (0x0A, 0x12):
            raise LabelsInvalid(f"field tag {tag:#x} inside a label")
        size, i = _read_varint(b, i + 1)
        if i + size > len(b):
            raise LabelsInvalid("label field runs past the label")
        parts[tag >> 3] = b[i:i + size]
        i += size
    if len(parts[2]) > max_value_bytes:
        raise LabelsInvalid(f"label value of {len(parts[2])} bytes (limit {max_value_bytes})")
    try:
        return parts[1].decode("utf-8"), parts[2].decode("utf-8")
    except UnicodeDecodeError:
        raise LabelsInvalid("label name or value is not UTF-8") from None
