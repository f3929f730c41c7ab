"""The benchmark's one timing helper, and its statistics.

Every measurement of the benchmark goes through :func:`interleaved` (or
:func:`time_call` for a single run): callables timed alternately after
warm-up, on a chosen clock, the device synchronised around each run, the
random generators reseeded identically for every callable of a repeat.
:func:`summary` and :func:`ratio_of` turn the timings into the reported
numbers; :func:`peak_rss_mb` and :func:`current_rss_mb` measure memory.

Clocks: ``"wall"`` (``time.perf_counter``, elapsed seconds) or ``"cpu"``
(``time.process_time``, the CPU seconds of this process, which leave out
the time it waits for a core on a machine shared with other jobs; best
with one thread, since idle threads spinning at barriers count). A
zero-argument callable returning seconds is accepted as a clock too.

Authors
 * speechbrain-gemo developers 2026
"""

import gc
import statistics
import sys
import time

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK_TEXT = {
    "wall": "wall (elapsed seconds)",
    "cpu": "cpu (CPU seconds of the benchmark process, which leaves out "
    "the time it waits for a core on a machine shared with other jobs)",
}


def median(values):
    """Median of a non-empty list of numbers.

    Arguments
    ---------
    values : list of float
        The numbers.

    Returns
    -------
    float
        The median.

    Example
    -------
    >>> median([3.0, 1.0, 2.0])
    2.0
    """
    return float(statistics.median(values))


def summary(times):
    """Median, minimum, maximum and count of a list of timings.

    Arguments
    ---------
    times : list of float
        Seconds.

    Returns
    -------
    dict
        ``median``, ``min``, ``max``, ``n``.

    Example
    -------
    >>> summary([1.0, 3.0, 2.0])
    {'median': 2.0, 'min': 1.0, 'max': 3.0, 'n': 3}
    """
    return {
        "median": median(times),
        "min": float(min(times)),
        "max": float(max(times)),
        "n": len(times),
    }


def ratio_of(times_a, times_b):
    """The ratio of two interleaved timing series.

    Arguments
    ---------
    times_a : list of float
        Numerator timings.
    times_b : list of float
        Denominator timings, taken alternately with ``times_a``.

    Returns
    -------
    dict
        ``ratio`` (median of a / median of b, the reported value) and
        ``paired_ratio`` (median of the per-repeat ratios, less sensitive
        to slow drifts of the machine's load), both rounded to 4 decimals.

    Example
    -------
    >>> ratio_of([2.0, 2.2, 2.1], [1.0, 1.0, 1.1])
    {'ratio': 2.1, 'paired_ratio': 2.0}
    """
    paired = [a / b for a, b in zip(times_a, times_b)]
    return {
        "ratio": round(median(times_a) / median(times_b), 4),
        "paired_ratio": round(median(paired), 4),
    }


def get_clock(clock):
    """The clock function of a clock name.

    Arguments
    ---------
    clock : str or callable
        ``"wall"``, ``"cpu"``, or a zero-argument callable returning
        seconds (returned as it is).

    Returns
    -------
    callable
        The clock.

    Example
    -------
    >>> get_clock("cpu") is time.process_time
    True
    """
    if callable(clock):
        return clock
    if clock not in CLOCKS:
        raise ValueError(
            f"clock must be one of {sorted(CLOCKS)} or a callable, "
            f"not {clock!r}"
        )
    return CLOCKS[clock]


def sync(device):
    """Waits for the device's queued work (a no-op on the CPU).

    Arguments
    ---------
    device : str
        A torch device string.

    Example
    -------
    >>> sync("cpu")
    """
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_call(fn, device="cpu", clock="wall"):
    """Seconds taken by ``fn()`` on the clock, with the device
    synchronised around it (after a garbage collection, outside the timed
    part).

    Arguments
    ---------
    fn : callable
        The work.
    device : str
        The device it runs on.
    clock : str or callable
        See :func:`get_clock`.

    Returns
    -------
    float
        Seconds.

    Example
    -------
    >>> 0.01 <= time_call(lambda: time.sleep(0.01)) < 1.0
    True
    >>> time_call(lambda: time.sleep(0.01), clock="cpu") < 0.01
    True
    """
    now = get_clock(clock)
    gc.collect()
    sync(device)
    start = now()
    fn()
    sync(device)
    return now() - start


def seed_all(seed):
    """Seeds Python's, NumPy's and torch's random generators.

    Arguments
    ---------
    seed : int
        The seed.

    Example
    -------
    >>> import random
    >>> seed_all(3); a = random.random(); seed_all(3)
    >>> a == random.random()
    True
    """
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def interleaved(fns, warmup, repeats, device="cpu", clock="wall", reseed=None):
    """Times several callables alternately: all warm up first, then each
    repeat runs every callable once, the order reversed every other repeat
    so that a slow drift of the machine's load hits all of them alike.

    Before each run the random generators are seeded with the repeat's
    number (``10000 + w`` for warm-up run ``w``), the same for every
    callable: the random parts of a training step (LayerDrop, which skips
    whole transformer layers, and the SpecAugment-style time masks of the
    SSL model, drawn before anything else in both models) then do the same
    work on both sides of a ratio, and change from one repeat to the next.

    Arguments
    ---------
    fns : dict
        Name to zero-argument callable.
    warmup : int
        Untimed runs of each callable.
    repeats : int
        Timed runs of each callable.
    device : str
        The device they run on.
    clock : str or callable
        See :func:`get_clock`.
    reseed : callable, optional
        Called with the seed before each run (default :func:`seed_all`).

    Returns
    -------
    dict
        Name to the list of seconds, in repeat order.

    Example
    -------
    >>> out = interleaved({"a": lambda: None, "b": lambda: None}, 1, 3)
    >>> sorted(out), len(out["a"])
    (['a', 'b'], 3)
    """
    reseed = seed_all if reseed is None else reseed
    names = list(fns)
    for w in range(warmup):
        for name in names:
            reseed(10_000 + w)
            fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            reseed(r)
            times[name].append(time_call(fns[name], device, clock))
    return times


def _status_mb(field):
    """A memory field of ``/proc/self/status`` (``VmHWM``, ``VmRSS``), in
    MiB, or None where there is no such file (not Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mb():
    """Peak resident memory of this process, in MiB.

    Reads ``VmHWM`` from ``/proc/self/status`` on Linux: unlike
    ``ru_maxrss``, it belongs to the current address space only, so a child
    started from a large parent (fork or vfork, then exec) does not inherit
    the parent's peak. Falls back to ``ru_maxrss`` elsewhere.

    The kernel records the high-water mark lazily, just before resident
    memory goes down (unmapping, ``madvise``), and reports the larger of
    that mark and the current resident memory: a peak that was given back
    is counted, but a reading taken before later growth can be below a
    later :func:`current_rss_mb` (compare readings of one moment only).

    Returns
    -------
    float
        MiB.

    Example
    -------
    >>> peak_rss_mb() > 0
    True
    """
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


def current_rss_mb():
    """Current resident memory of this process, in MiB.

    Reads ``VmRSS`` from ``/proc/self/status`` on Linux (nothing imported,
    so the reading does not itself grow the process); psutil elsewhere.

    Returns
    -------
    float
        MiB (0 if it cannot be read).

    Example
    -------
    >>> current_rss_mb() > 0
    True
    """
    current = _status_mb("VmRSS")
    if current is not None:
        return current
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except Exception:
        return 0.0
