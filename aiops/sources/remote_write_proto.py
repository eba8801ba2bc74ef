"""Prometheus remote-write 1.0 on the wire: the protobuf messages and snappy framing.

The messages of ``prompb`` (``remote.proto`` and ``types.proto`` of Prometheus 2.x) are
built here with the protobuf runtime (``google.protobuf``, the upb C backend) from a
descriptor written in code, in a private descriptor pool: no generated ``*_pb2.py``, no
``protoc``, and no clash with another package registering ``prometheus.WriteRequest``.
Field numbers are the wire contract:

- ``WriteRequest``: ``repeated TimeSeries timeseries = 1``, ``repeated MetricMetadata
  metadata = 3``;
- ``TimeSeries``: ``repeated Label labels = 1``, ``repeated Sample samples = 2``,
  ``repeated Exemplar exemplars = 3``, ``repeated Histogram histograms = 4``;
- ``Label``: ``string name = 1``, ``string value = 2``; ``Sample``: ``double value = 1``,
  ``int64 timestamp = 2`` (milliseconds).

Besides the full messages (used to encode: tests, the load generator), two *views* of
the same bytes are declared for decoding fast: ``RawWriteRequest`` reads each series as
opaque bytes, and ``RawTimeSeries`` keeps each label as its encoded bytes. Bodies are
snappy-compressed in the block format (not the framed one), via ``cramjam``.

>>> body = encode_request([({"__name__": "up", "job": "a"}, [(1.0, 1_700_000_000_000)])])
>>> [ts.labels[0].value for ts in parse_request(decompress(body, limit=1 << 20)).timeseries]
['up']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

__all__ = ["DecodeError", "SnappyError"]

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_MESSAGES: dict[str, list[tuple[int, str, int, int, str | None]]] = {
    "Label": [(1, "name", _F.TYPE_STRING, _OPT, None), (2, "value", _F.TYPE_STRING, _OPT, None)],
    "Sample": [(1, "value", _F.TYPE_DOUBLE, _OPT, None),
               (2, "timestamp", _F.TYPE_INT64, _OPT, None)],
    "Exemplar": [(1, "labels", _F.TYPE_MESSAGE, _REP, ".prometheus.Label"),
                 (2, "value", _F.TYPE_DOUBLE, _OPT, None),
                 (3, "timestamp", _F.TYPE_INT64, _OPT, None)],
    "MetricMetadata": [(1, "type", _F.TYPE_INT32, _OPT, None),
                       (2, "metric_family_name", _F.TYPE_STRING, _OPT, None),
                       (4, "help", _F.TYPE_STRING, _OPT, None),
                       (5, "unit", _F.TYPE_STRING, _OPT, None)],
    "TimeSeries": [(1, "labels", _F.TYPE_MESSAGE, _REP, ".prometheus.Label"),
                   (2, "samples", _F.TYPE_MESSAGE, _REP, ".prometheus.Sample"),
                   (3, "exemplars", _F.TYPE_MESSAGE, _REP, ".prometheus.Exemplar"),
                   (4, "histograms", _F.TYPE_BYTES, _REP, None)],
    "WriteRequest": [(1, "timeseries", _F.TYPE_MESSAGE, _REP, ".prometheus.TimeSeries"),
                     (3, "metadata", _F.TYPE_MESSAGE, _REP, ".prometheus.MetricMetadata")],
    # Views of the same wire bytes, for decoding without a Python object per label.
    "RawWriteRequest": [(1, "timeseries", _F.TYPE_BYTES, _REP, None)],
    "RawTimeSeries": [(1, "labels", _F.TYPE_BYTES, _REP, None),
                      (2, "samples", _F.TYPE_MESSAGE, _REP, ".prometheus.Sample"),
                      (3, "exemplars", _F.TYPE_BYTES, _REP, None),
                      (4, "histograms", _F.TYPE_BYTES, _REP, None)],
}


def _build() -> dict[str, type[Message]]:
    fd = descriptor_pb2.FileDescriptorProto(
        name="aiops/prometheus_remote_write.proto", package="prometheus", syntax="proto3")
    for name, fields in _MESSAGES.items():
        msg = fd.message_type.add(name=name)
        for number, fname, ftype, label, type_name in fields:
            field = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
            for name in _MESSAGES}


_CLASSES = _build()
WriteRequest: Any = _CLASSES["WriteRequest"]
TimeSeries: Any = _CLASSES["TimeSeries"]
Label: Any = _CLASSES["Label"]
RawWriteRequest: Any = _CLASSES["RawWriteRequest"]
RawTimeSeries: Any = _CLASSES["RawTimeSeries"]

#: HTTP headers of a remote-write 1.0 request, as Prometheus sends them.
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


class SnappyError(ValueError):
    """A body that is not snappy (block format), or that would decompress past the limit."""


def decompress(body: bytes, *, limit: int) -> bytes:
    """The snappy-compressed ``body`` decompressed, refused before decoding past ``limit``."""
    try:
        declared = int(cramjam.snappy.decompress_raw_len(body))
    except Exception as exc:  # cramjam raises its own DecompressionError
        raise SnappyError(f"body is not snappy-compressed: {exc}") from None
    if declared > limit:
        raise SnappyError(f"body decompresses to {declared} bytes (limit {limit})")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception as exc:
        raise SnappyError(f"body is not snappy-compressed: {str(exc)[:120]}") from None


def compress(data: bytes) -> bytes:
    """``data`` snappy-compressed (block format), as Prometheus sends it."""
    return bytes(cramjam.snappy.compress_raw(data))


def parse_request(data: bytes) -> Any:
    """The full :data:`WriteRequest` of decompressed bytes (raises ``DecodeError``)."""
    req = WriteRequest()
    req.ParseFromString(data)
    return req


def label_bytes(labels: Mapping[str, str]) -> bytes:
    """The wire form of a label set (sorted by name, as Prometheus sends it)."""
    ts = TimeSeries()
    for name in sorted(labels):
        ts.labels.add(name=name, value=labels[name])
    out: bytes = ts.SerializeToString()
    return out


def encode_request(
    series: Iterable[tuple[Mapping[str, str], Sequence[tuple[float, int]]]],
) -> bytes:
    """A snappy-compressed WriteRequest of ``(labels, [(value, timestamp_ms), ...])``."""
    req = WriteRequest()
    for labels, samples in series:
        ts = req.timeseries.add()
        for name in sorted(labels):
            ts.labels.add(name=name, value=labels[name])
        for value, stamp in samples:
            ts.samples.add(value=value, timestamp=stamp)
    return compress(req.SerializeToString())
