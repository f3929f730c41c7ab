"""Grouping audio of various durations into batches of bounded padded size.

Authors
 * speechbrain-gemo developers 2026
"""


def _bucket_boundaries(durations, ratio=1.25):
    """Geometric bucket boundaries from the shortest to the longest
    duration (ratio between neighbours), the last one >= the longest."""
    low = max(min(durations), 0.01) * ratio
    top = max(durations)
    boundaries = [low]
    while boundaries[-1] < top:
        boundaries.append(boundaries[-1] * ratio)
    return boundaries


def make_batches(durations, max_batch_seconds, max_batch_size, long_seconds):
    """Groups items by duration with SpeechBrain's ``DynamicBatchSampler``:
    each batch holds at most ``max_batch_seconds`` of padded audio and
    ``max_batch_size`` items; items longer than ``long_seconds`` go alone
    (they are windowed).

    The sampler's buckets (geometric, 25 % apart) bound the padding: an
    item of a bucket is at most as long as its boundary, and a bucket's
    batches hold ``max_batch_seconds / boundary`` items, so ``batch size x
    longest item <= max_batch_seconds`` as before. Items beyond
    ``long_seconds`` are batched here, outside the sampler, because the
    sampler's last bucket would batch them together (its size comes from
    ``max_batch_seconds`` alone). Unlike a greedy pass over the sorted
    durations, the sampler never mixes buckets, so each bucket may leave
    one partly filled batch: a few more batches, the same bound.

    Arguments
    ---------
    durations : list of float
        Duration of each item in seconds.
    max_batch_seconds : float
        Cap on ``batch size x longest duration``.
    max_batch_size : int
        Cap on the number of items in a batch.
    long_seconds : float or None
        Items longer than this are batches of one (None: no such items).

    Returns
    -------
    list of list of int
        Indices into ``durations``, shorter batches first.

    Example
    -------
    >>> make_batches([1.0, 2.0, 30.0, 1.1, 2.2, 5.0], 6.0, 8, 20.0)
    [[0, 3], [1, 4], [5], [2]]
    """
    from speechbrain.dataio.sampler import DynamicBatchSampler

    alone = [
        i
        for i, seconds in enumerate(durations)
        if long_seconds is not None and seconds > long_seconds
    ]
    alone_set = set(alone)
    short = [i for i in range(len(durations)) if i not in alone_set]
    batches = []
    if short:
        lengths = [durations[i] for i in short]
        sampler = DynamicBatchSampler(
            lengths,
            max_batch_length=max_batch_seconds,
            bucket_boundaries=_bucket_boundaries(lengths),
            lengths_list=lengths,
            max_batch_ex=max_batch_size,
            shuffle=False,
            batch_ordering="ascending",
        )
        batches = [[short[k] for k in batch] for batch in sampler]
    alone.sort(key=lambda i: durations[i])
    return batches + [[i] for i in alone]
