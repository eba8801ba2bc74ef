"""A remote-write load generator: encoded batches replayed as fast as the receiver takes them.

Run as its own process (``python -m aiops.bench.remote_write_load``), so its CPU is not
the receiver's. Each series' labels are encoded once (the protobuf runtime); every
round gives each series one sample (value, millisecond time), written into the bytes
of a pre-built request with numpy (the wire form Prometheus sends: one sample per
``TimeSeries``) and snappy-compressed, before sending starts. Like Prometheus, series
are split over ``concurrency`` senders (each owns its requests, sent in round order, so
a series' samples arrive in order); a 5xx is retried after ``Retry-After``.

Protocol on stdin/stdout (one JSON line each): the generator encodes, sends the
``warm`` rounds, prints ``{"stage": "warm"}`` and waits for a line on stdin, then sends
the remaining rounds and prints its figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from aiops.sources.remote_write_proto import HEADERS, compress, label_bytes

SUFFIX = 18  # one sample: 12 10 09 <double> 10 <6-byte varint>


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class RequestTemplate:
    """The bytes of one request over a fixed set of series, with room for their samples."""

    def __init__(self, labels: Sequence[dict[str, str]]) -> None:
        parts: list[bytes] = []
        starts: list[int] = []
        size = 0
        for lb in labels:
            encoded = label_bytes(lb)
            head = b"\x0a" + _varint(len(encoded) + SUFFIX) + encoded
            parts += [head, bytes(SUFFIX)]
            size += len(head)
            starts.append(size)
            size += SUFFIX
        self.template = np.frombuffer(b"".join(parts), dtype=np.uint8).copy()
        self.at = np.array(starts, dtype=np.int64)[:, None] + np.arange(SUFFIX)
        self.count = len(labels)

    def body(self, values: np.ndarray, t_ms: int) -> bytes:
        """The compressed request with one sample per series (values must be non-zero)."""
        n = self.count
        suffix = np.empty((n, SUFFIX), dtype=np.uint8)
        suffix[:, 0], suffix[:, 1], suffix[:, 2], suffix[:, 11] = 0x12, 0x10, 0x09, 0x10
        suffix[:, 3:11] = np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(n, 8)
        stamp = np.frombuffer(_varint(t_ms), dtype=np.uint8)
        if stamp.shape[0] != 6:
            raise ValueError("timestamps must take a 6-byte varint (1971-2109 in ms)")
        suffix[:, 12:] = stamp
        out = self.template.copy()
        out[self.at] = suffix
        return compress(out.tobytes())


def series_labels(series: int, *, metrics: Sequence[str], namespace: str = "bench",
                  prefix: str = "bench_") -> list[dict[str, str]]:
    """Label sets of ``series`` series: the metrics over workloads w00000, w00001, ..."""
    workloads = max(1, series // len(metrics))
    return [{"__name__": f"{prefix}{m}", "namespace": namespace, "workload": f"w{i:05d}",
             "instance": "loadgen:0", "job": "bench"}
            for m in metrics for i in range(workloads)]


def encode_rounds(labels: Sequence[dict[str, str]], *, rounds: int, per_request: int,
                  start_ms: int, step_ms: int, seed: int = 7) -> list[list[bytes]]:
    """``bodies[r][k]``: round ``r``'s request ``k`` (series ``k*per_request`` onwards)."""
    rng = np.random.default_rng(seed)
    templates = [RequestTemplate(labels[i:i + per_request])
                 for i in range(0, len(labels), per_request)]
    out: list[list[bytes]] = []
    for r in range(rounds):
        values = 1.0 + 0.03 * rng.standard_normal(len(labels))
        values[values == 0.0] = 1.0
        out.append([tpl.body(values[k * per_request:k * per_request + tpl.count],
                             start_ms + r * step_ms) for k, tpl in enumerate(templates)])
    return out


class Sender:
    """Sends rounds of requests over ``concurrency`` connections, retrying 5xx."""

    def __init__(self, url: str, *, concurrency: int, token: str | None = None) -> None:
        self.url = url
        self.concurrency = concurrency
        self.headers = dict(HEADERS)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.status: dict[str, int] = {}
        self.samples = 0
        self._lock = threading.Lock()

    def send(self, rounds: list[list[bytes]], per_request: list[int]) -> float:
        """Send every round; returns the seconds it took."""
        t0 = time.perf_counter()
        workers = [threading.Thread(target=self._worker, args=(w, rounds, per_request))
                   for w in range(self.concurrency)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return time.perf_counter() - t0

    def _worker(self, w: int, rounds: list[list[bytes]], per_request: list[int]) -> None:
        with httpx.Client(timeout=60.0) as client:
            for bodies in rounds:
                for k in range(w, len(bodies), self.concurrency):
                    self._post(client, bodies[k], per_request[k])

    def _post(self, client: httpx.Client, body: bytes, samples: int) -> None:
        while True:
            try:
                r = client.post(self.url, content=body, headers=self.headers)
                code = str(r.status_code)
            except httpx.HTTPError as exc:
                r, code = None, type(exc).__name__
            with self._lock:
                self.status[code] = self.status.get(code, 0) + 1
            if r is not None and r.status_code < 300:
                with self._lock:
                    self.samples += samples
                return
            if r is not None and r.status_code < 500:
                return  # 4xx: Prometheus drops such a batch too
            wait = float(r.headers.get("retry-after", "0.05")) if r is not None else 0.2
            time.sleep(min(wait, 1.0))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--warm", type=int, default=2, help="rounds sent before the measured ones")
    p.add_argument("--per-request", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--start-ms", type=int, default=0)
    p.add_argument("--step-ms", type=int, default=5000)
    p.add_argument("--token", default=None)
    args = p.parse_args(argv)
    metrics = ["cpu_usage", "memory_usage", "latency_p99", "request_rate"]
    labels = series_labels(args.series, metrics=metrics)
    start = args.start_ms or int(time.time() * 1000) - (args.rounds + args.warm) * args.step_ms
    t0 = time.perf_counter()
    rounds = encode_rounds(labels, rounds=args.rounds + args.warm, per_request=args.per_request,
                           start_ms=start, step_ms=args.step_ms)
    encode_s = time.perf_counter() - t0
    sizes = [min(args.per_request, len(labels) - i) for i in range(0, len(labels),
                                                                  args.per_request)]
    sender = Sender(args.url, concurrency=args.concurrency, token=args.token)
    warm_s = sender.send(rounds[:args.warm], sizes)
    print(json.dumps({"stage": "warm", "samples": sender.samples, "seconds": warm_s}),
          flush=True)
    sys.stdin.readline()
    before = sender.samples
    seconds = sender.send(rounds[args.warm:], sizes)
    result: dict[str, Any] = {
        "stage": "done", "series": len(labels), "samples": sender.samples - before,
        "seconds": seconds, "encode_seconds": encode_s, "status": sender.status,
        "bytes_per_sample": sum(map(len, rounds[-1])) / len(labels),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
