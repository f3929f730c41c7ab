"""Benchmark phase ``serve``: how many two-party calls one core of the
emotion server (``python -m speechbrain_gemo.serve``) follows live.

For each variant (PyTorch fp32 and ONNX int8, each with micro-batching of
windows across streams and without it: ``--max_batch_size 1``) the phase
starts the server as a subprocess pinned to one core (``taskset``-like
CPU affinity, ``--threads 1``) and streams N simulated two-party calls to
it at once, N = 1, 2, 4, ... over loopback, each by a real WebSocket
client (``speechbrain_gemo.serve.client.stream_call``, all clients in this
process, pinned to another core where there is one), in real time (20 ms
pieces of 8 kHz mu-law stereo), window 3 s, hop 1 s. A call is the
eSpeak NG two-party call of ``speechbrain_gemo.testing.two_party_call``
(each party faintly on the other's channel).

An event's latency runs from the moment the piece of audio that completed
its window left the client to the moment the event arrived. N stops
growing once the p95 latency of a step reaches ``LAG_SECONDS`` (1 s).

Result keys, each a dictionary by variant (``pytorch_fp32`` and
``onnx_int8`` with micro-batching of up to 8 windows, ``--max_wait_ms``
10; ``pytorch_fp32_no_batching`` and ``onnx_int8_no_batching``, one
window at a time):

- ``serve_calls_per_core``: the largest N whose p95 latency stayed under
  1 s (0: not even one call);
- ``serve_latency_p50_s`` / ``serve_latency_p95_s``: the latencies at
  that N (at N = 1 where none kept up);
- ``serve_cpu_share``: the server's CPU time over the step's wall time
  at that N (1.0: its core was busy all the time);
- ``serve_calls_per_core_by_cpu``: N over that CPU share: the calls one
  core's CPU time would hold if the server had the core to itself (on a
  shared machine the latency criterion also counts the time other jobs
  take the core from the server);

and ``details.serve``: every step (N, p50, p95, max, events, windows per
second, CPU share, batch sizes), the model, the call and the machine's
load average before and after.

Usage::

    python bench/run.py --only serve [--quick] [--out FILE]

``--quick`` uses the small WavLM of the quick profile and a shorter
call; the full run uses WavLM-base size (random weights: the weights do
not change the cost).

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import json
import os
import sys
import tempfile
import time

from speechbrain_gemo import testing

LAG_SECONDS = 1.0
PIECE_SECONDS = 0.02
VARIANTS = {
    "pytorch_fp32": ["--backend", "pytorch", "--max_batch_size", "8"],
    "pytorch_fp32_no_batching": ["--backend", "pytorch",
                                 "--max_batch_size", "1"],
    "onnx_int8": ["--backend", "onnx", "--precision", "int8",
                  "--max_batch_size", "8"],
    "onnx_int8_no_batching": ["--backend", "onnx", "--precision", "int8",
                              "--max_batch_size", "1"],
}  # fmt: skip


def percentile(values, q):
    """The ``q`` quantile of values (linear interpolation), None when
    empty.

    Arguments
    ---------
    values : list of float
        The values.
    q : float
        In [0, 1].

    Returns
    -------
    float or None
        The quantile.

    Example
    -------
    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([], 0.5)
    (2.5, None)
    """
    if not values:
        return None
    values = sorted(values)
    position = q * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def calls_per_core(steps, lag=LAG_SECONDS):
    """The largest number of calls whose p95 latency stayed under ``lag``
    (0 when none did).

    Arguments
    ---------
    steps : list of dict
        ``calls`` and ``p95_s`` of each step.
    lag : float
        The latency limit.

    Returns
    -------
    int
        Calls.

    Example
    -------
    >>> calls_per_core([{"calls": 1, "p95_s": 0.3},
    ...                 {"calls": 2, "p95_s": 0.6},
    ...                 {"calls": 4, "p95_s": 1.7}])
    2
    """
    kept = [
        s["calls"] for s in steps if s["p95_s"] is not None and s["p95_s"] < lag
    ]
    return max(kept, default=0)


def _cpu_seconds(pid):
    """User + system CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess(testing.ServerProcess):
    """The server as a subprocess on one core, one thread; stopped by its
    pid."""

    def __init__(self, model, args, core, log_path):
        own = ["--model", model, "--threads", "1", "--log_level", "warning"]
        super().__init__(own + list(args), log_path, core=core, timeout=600)

    def cpu_seconds(self):
        return _cpu_seconds(self.proc.pid)


async def _calls_at_once(server, pieces, rate, count):
    """Streams ``count`` calls at once in real time; returns their
    events."""
    from speechbrain_gemo.serve.client import stream_call

    start = {
        "sample_rate": rate,
        "encoding": "mulaw",
        "channels": 2,
        "roles": ["agent", "customer"],
        "window": 3.0,
        "hop": 1.0,
    }
    url = server.url("/v1/stream", "ws")

    async def one(k):
        # calls start 1/count of a piece apart, as independent calls would
        await asyncio.sleep(PIECE_SECONDS * k / count)
        return await stream_call(
            url, pieces, start, realtime=True, bytes_per_second=2 * rate
        )

    return await asyncio.gather(*[one(k) for k in range(count)])


def measure_step(server, pieces, rate, count):
    """One step: ``count`` calls at once.

    Returns
    -------
    dict
        ``calls``, latency quantiles, events, CPU share, wall seconds.
    """
    cpu0, wall0 = server.cpu_seconds(), time.monotonic()
    events = asyncio.run(_calls_at_once(server, pieces, rate, count))
    wall = time.monotonic() - wall0
    cpu = server.cpu_seconds() - cpu0
    latencies = [
        e["latency"] for call in events for e in call if "latency" in e
    ]
    return {
        "calls": count,
        "events": len(latencies),
        "p50_s": percentile(latencies, 0.5),
        "p95_s": percentile(latencies, 0.95),
        "max_s": max(latencies, default=None),
        "cpu_share": round(cpu / wall, 3),
        "wall_s": round(wall, 2),
        "windows_per_s": round(len(latencies) / wall, 2),
    }


def run_variant(name, model, args, pieces, rate, cores, work, max_calls):
    """Steps N = 1, 2, 4, ... until the p95 latency reaches the limit."""
    from bench.common import log

    server = ServerProcess(
        model, args, cores[0], os.path.join(work, f"{name}.log")
    )
    steps = []
    try:
        count = 1
        while count <= max_calls:
            step = measure_step(server, pieces, rate, count)
            steps.append(step)
            log(
                f"  serve {name}: {count} call(s): p50 {step['p50_s']:.3f} s,"
                f" p95 {step['p95_s']:.3f} s, server CPU "
                f"{step['cpu_share']:.2f} of a core"
            )
            if step["p95_s"] is None or step["p95_s"] >= LAG_SECONDS:
                break
            count *= 2
    finally:
        server.stop()
    return steps


def run(config):
    """Runs the phase.

    Arguments
    ---------
    config : BenchConfig or argparse.Namespace
        ``quick`` and ``large`` (model size).

    Returns
    -------
    dict
        The result keys (see the module docstring) and ``details.serve``.
    """
    import soundfile

    from bench.common import log
    from bench.phases.onnx import build_export
    from speechbrain_gemo.onnx import export_onnx
    from speechbrain_gemo.serve.client import encode
    from speechbrain_gemo.testing import two_party_call

    quick = bool(getattr(config, "quick", False))
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        # the clients on the other cores, the server on the first
        os.sched_setaffinity(0, set(cores[1:]))
    load_before = os.getloadavg()[0]
    details = {"load_average_before": round(load_before, 2)}
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        export_dir, backbone, _ = build_export(
            work, quick, bool(getattr(config, "large", False))
        )
        onnx_dir = export_onnx(export_dir, os.path.join(work, "onnx"), True)
        log(
            f"  serve: {backbone}, exported and converted in "
            f"{time.perf_counter() - start:.0f} s"
        )
        rate = 8000
        call = two_party_call(
            utterances=4 if quick else 8, seed=1, sample_rate=rate
        )
        data = encode(call, rate, "mulaw")
        piece = int(PIECE_SECONDS * rate) * 2
        pieces = [data[k : k + piece] for k in range(0, len(data), piece)]
        details.update(
            {
                "backbone": backbone,
                "call_seconds": round(len(call) / rate, 2),
                "window_s": 3.0,
                "hop_s": 1.0,
                "server_core": cores[0],
                "client_cores": cores[1:] or cores[:1],
                "lag_limit_s": LAG_SECONDS,
            }
        )
        soundfile.write(os.path.join(work, "call.wav"), call, rate, "ULAW")
        max_calls = 4 if quick else 16
        result = {
            "serve_calls_per_core": {},
            "serve_latency_p50_s": {},
            "serve_latency_p95_s": {},
            "serve_cpu_share": {},
            "serve_calls_per_core_by_cpu": {},
        }
        for name, args in VARIANTS.items():
            model = export_dir if name.startswith("pytorch") else onnx_dir
            steps = run_variant(
                name, model, args, pieces, rate, cores, work, max_calls
            )
            details[name] = steps
            best = calls_per_core(steps)
            at = next((s for s in steps if s["calls"] == best), steps[0])
            result["serve_calls_per_core"][name] = best
            result["serve_latency_p50_s"][name] = at["p50_s"]
            result["serve_latency_p95_s"][name] = at["p95_s"]
            result["serve_cpu_share"][name] = at["cpu_share"]
            result["serve_calls_per_core_by_cpu"][name] = round(
                at["calls"] / at["cpu_share"], 2
            )
    details["load_average_after"] = round(os.getloadavg()[0], 2)
    result["details"] = {"serve": details}
    return result


if __name__ == "__main__":
    from types import SimpleNamespace

    print(
        json.dumps(run(SimpleNamespace(quick="--quick" in sys.argv)), indent=2)
    )
