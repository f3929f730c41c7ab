"""Batches of audio: grouping items of various durations into batches of
bounded padded size (``make_batches``), padding them (``pad_signals``) and
classifying them so that one bad item never sinks the others
(``classify_batch``, ``classify_items``).

This is the one batching engine of every classifying run: ``infer``'s
files (``batch_runs.run_inference``) and the segments of the timelines
(``timeline.classify_segments``), with either backend.

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


def pad_signals(signals):
    """Pads waveforms into a batch with SpeechBrain relative lengths, as
    torch tensors, or as numpy arrays when the waveforms are numpy (the
    ONNX backend, which needs no torch).

    Arguments
    ---------
    signals : list
        1-D waveforms (torch tensors or numpy arrays).

    Returns
    -------
    wavs : torch.Tensor or numpy.ndarray
        ``N x T``, zero-padded.
    lengths : torch.Tensor or numpy.ndarray
        ``N`` lengths relative to ``T``.

    Example
    -------
    >>> import numpy
    >>> wavs, lengths = pad_signals([numpy.ones(2), numpy.ones(4)])
    >>> wavs.shape, lengths.tolist()
    ((2, 4), [0.5, 1.0])
    """
    import numpy as np

    if all(isinstance(s, np.ndarray) for s in signals):
        sizes = np.array([len(s) for s in signals], dtype=np.float32)
        wavs = np.zeros((len(signals), int(sizes.max())), dtype=np.float32)
        for i, signal in enumerate(signals):
            wavs[i, : len(signal)] = signal
        return wavs, sizes / sizes.max()
    import torch

    sizes = torch.tensor([len(s) for s in signals], dtype=torch.float)
    wavs = torch.nn.utils.rnn.pad_sequence(list(signals), batch_first=True)
    return wavs, sizes / sizes.max()


def classify_batch(model, signals, names, prompts=None, window=(None, None)):
    """Predictions of a batch of waveforms from one ``predict_batch``
    call; if that call fails, each waveform is classified alone, so that
    a bad one gets its error and the others their predictions.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP or EmotionClassifierONNX
        The model.
    signals : list
        1-D waveforms at the model's sample rate (torch or numpy).
    names : list of str
        What each waveform is (a file, a segment), for error messages.
    prompts : dict, optional
        Zero-shot classes (label to prompt(s)).
    window : tuple
        ``(window_seconds, overlap_seconds)`` for long waveforms (None:
        the model's).

    Returns
    -------
    list of dict
        Per waveform, in order: ``speechbrain_gemo.rows.prediction_fields``
        or ``{"error": ...}``.

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(tempfile.mkdtemp()))
    >>> fields = classify_batch(
    ...     model, [torch.randn(8000), torch.zeros(100)], ["a", "b"])
    >>> fields[0]["label"] in model.labels, fields[1]["error"][:27]
    (True, 'AudioInputError: the audio ')
    """
    from speechbrain_gemo.rows import error_text, prediction_fields

    try:
        wavs, lengths = pad_signals(signals)
        out = model.predict_batch(
            wavs,
            lengths,
            prompts=prompts,
            window_seconds=window[0],
            overlap_seconds=window[1],
            names=list(names),
        )
    except Exception as err:
        if len(signals) == 1:
            return [{"error": error_text(err)}]
        # Isolate the item that breaks the batch
        return [
            classify_batch(model, [signal], [name], prompts, window)[0]
            for signal, name in zip(signals, names)
        ]
    return [prediction_fields(out, i) for i in range(len(signals))]


def classify_items(
    model,
    items,
    durations,
    read,
    name,
    prompts=None,
    max_batch_seconds=120.0,
    max_batch_size=32,
    window_seconds=None,
    overlap_seconds=None,
):
    """Classifies items (files, segments) in duration-sorted batches,
    reading each item only when its batch comes: at most one batch of
    audio is in memory. An item that cannot be read or classified gets
    its error.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP or EmotionClassifierONNX
        The model.
    items : list
        What to classify.
    durations : list of float
        Their durations in seconds.
    read : callable
        ``read(item)``: its waveform at the model's sample rate (raises
        for an item that cannot be read).
    name : callable
        ``name(item)``: what it is, for error messages.
    prompts : dict, optional
        Zero-shot classes (label to prompt(s)).
    max_batch_seconds : float
        Cap on padded audio per batch.
    max_batch_size : int
        Cap on items per batch.
    window_seconds : float, optional
        Longer items are classified in windows, each in a batch of its
        own (default: the model's ``window_seconds``).
    overlap_seconds : float, optional
        Window overlap (default: the model's).

    Yields
    ------
    batch : list of int
        Indices of the batch's items.
    fields : list of dict
        Their predictions or errors (see ``classify_batch``).

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(tempfile.mkdtemp()))
    >>> signals = {"a": torch.randn(8000), "b": torch.randn(16000)}
    >>> for batch, fields in classify_items(
    ...         model, ["a", "b", "c"], [0.5, 1.0, 0.5], signals.__getitem__,
    ...         str, max_batch_size=2):
    ...     print(batch, [f["error"] or f["label"] in model.labels
    ...                   for f in fields])
    [0, 2] [True, "KeyError: 'c'"]
    [1] [True]
    """
    from speechbrain_gemo.audio_windows import model_windows
    from speechbrain_gemo.rows import error_text

    long_seconds = model_windows(model, window_seconds)[0]
    window = (window_seconds, overlap_seconds)
    for batch in make_batches(
        durations, max_batch_seconds, max_batch_size, long_seconds or None
    ):
        fields, signals, ok = [None] * len(batch), [], []
        for k, i in enumerate(batch):
            try:
                signals.append(read(items[i]))
                ok.append(k)
            except Exception as err:
                fields[k] = {"error": error_text(err)}
        if ok:
            names = [name(items[batch[k]]) for k in ok]
            found = classify_batch(model, signals, names, prompts, window)
            for k, one in zip(ok, found):
                fields[k] = one
        yield batch, fields
