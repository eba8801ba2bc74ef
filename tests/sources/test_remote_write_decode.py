"""Remote-write decoding: the column fast path agrees with protobuf's own parse, always."""

from __future__ import annotations

import math
import struct

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from aiops.sources.remote_write_decode import LabelsInvalid, decode_write, parse_labels
from aiops.sources.remote_write_proto import (
    SnappyError,
    WriteRequest,
    compress,
    decompress,
    encode_request,
    parse_request,
)

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
names = st.text("abcxyz_", min_size=1, max_size=6)
values = st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, STALE, 1.0]))
stamps = st.one_of(st.integers(1_600_000_000_000, 1_900_000_000_000),
                   st.integers(-(2**40), 2**62))
series = st.tuples(
    st.dictionaries(names, st.text(max_size=8), max_size=4),
    st.lists(st.tuples(values, stamps), min_size=0, max_size=3),
)


def reference(data: bytes) -> list[tuple[dict[str, str], int, float]]:
    """Every sample as protobuf's full parse sees it: (labels, timestamp, value)."""
    out = []
    for ts in parse_request(data).timeseries:
        labels = {lb.name: lb.value for lb in ts.labels}
        out += [(labels, s.timestamp, s.value) for s in ts.samples]
    return out


def same(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))


def decoded_labels(data: bytes) -> tuple[list[dict[str, str]], list[int], list[float]]:
    """What the receiver makes of a request: fast path, and the general one for a key that
    is not a label sequence (as the route does when interning raises LabelsInvalid)."""
    decoded = decode_write(data)
    try:
        labels = [parse_labels(k) for k in decoded.keys]
    except LabelsInvalid:
        decoded = decode_write(data, general=True)
        labels = [parse_labels(k) for k in decoded.keys]
    return labels, decoded.t_ms.tolist(), decoded.value.tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(series, max_size=12))
def test_columns_match_the_protobuf_parse(batch: list[tuple[dict[str, str], list]]) -> None:
    """Keys, timestamps and values equal the full parse, in request order, for any shape."""
    data = decompress(encode_request(
        [({"__name__": "m", **labels}, samples) for labels, samples in batch]), limit=1 << 24)
    labels, stamps, vals = decoded_labels(data)
    want = reference(data)
    assert labels == [w[0] for w in want]
    assert stamps == [w[1] for w in want]
    assert all(same(v, w[2]) for v, w in zip(vals, want, strict=True))


def test_prometheus_shaped_requests_take_the_fast_path() -> None:
    """One sample per series with current millisecond times: no series is parsed singly."""
    now = 1_765_000_000_000
    body = encode_request([({"__name__": "up", "pod": f"p{i}"}, [(float(i % 3), now + i)])
                           for i in range(500)])
    decoded = decode_write(decompress(body, limit=1 << 24))
    assert decoded.general == 0 and decoded.series == 500
    assert decoded.value.tolist() == [float(i % 3) for i in range(500)]


def test_a_tail_that_only_looks_like_a_sample_is_caught() -> None:
    """A series with two samples ends like a one-sample series; its key is then not labels."""
    req = WriteRequest()
    ts = req.timeseries.add()
    ts.labels.add(name="__name__", value="up")
    ts.samples.add(value=1.0, timestamp=1_765_000_000_000)
    ts.samples.add(value=2.0, timestamp=1_765_000_001_000)
    data = req.SerializeToString()
    fast = decode_write(data)
    with pytest.raises(LabelsInvalid):
        parse_labels(fast.keys[0])
    full = decode_write(data, general=True)
    assert [parse_labels(k) for k in full.keys] == [{"__name__": "up"}] * 2
    assert full.value.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(("key", "why"), [
    (b"\x0a\x06\x0a\x01a\x12\x01b", "__name__"),
    (b"\x0a\x0e\x0a\x08__name__\x12\x02\xff\xfe", "UTF-8"),
    (b"\x12\x00", "tag"),
    (b"\x0a\x0a\x0a\x08__name__\x0a\x0a\x0a\x08__name__", "twice"),
    (b"\x0a\x7f\x0a", "past"),
])
def test_invalid_label_sets_are_refused_with_a_reason(key: bytes, why: str) -> None:
    """No __name__, bad UTF-8, a foreign field, a name twice, a truncated label."""
    with pytest.raises(LabelsInvalid, match=why):
        parse_labels(key)


def test_snappy_declared_size_is_checked_before_decompressing() -> None:
    """A body that would inflate past the limit is refused from its header alone."""
    bomb = compress(b"\0" * 5_000_000)
    assert len(bomb) < 300_000
    with pytest.raises(SnappyError, match="limit"):
        decompress(bomb, limit=1_000_000)
    with pytest.raises(SnappyError, match="not snappy"):
        decompress(b"\xff\xff\xff\xff\x0fnot snappy", limit=1 << 40)
