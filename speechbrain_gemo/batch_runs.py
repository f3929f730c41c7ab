"""Batch runs of ``infer``: many files classified in duration-sorted
batches (``run_inference``), shared among the processes of a ``torchrun``
job (``shard_inputs``), with the rows of each finished file saved at once
(``speechbrain_gemo.journal``) so that a run started again with the same
command continues with the files not yet done (``inputs_to_do``) and
refuses to mix results of other options (``run_signature``).

Authors
 * speechbrain-gemo developers 2026
"""

import json
import os

from speechbrain_gemo.batching import classify_items
from speechbrain_gemo.inputs import input_durations, path_key
from speechbrain_gemo.rows import error_text


def run_inference(
    model,
    paths,
    prompts=None,
    max_batch_seconds=120.0,
    max_batch_size=32,
    window_seconds=None,
    overlap_seconds=None,
    progress=True,
    on_done=None,
):
    """Classifies files in duration-sorted batches; a file that fails gets
    an error instead of a prediction.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP
        The loaded model.
    paths : list of str
        The audio files.
    prompts : dict, optional
        Zero-shot classes (label to prompt or list of prompts).
    max_batch_seconds : float
        Cap on padded audio per batch.
    max_batch_size : int
        Cap on files per batch.
    window_seconds : float, optional
        Window length for long files (default: the model's).
    overlap_seconds : float, optional
        Window overlap (default: the model's).
    progress : bool
        Show a progress bar (on stderr).
    on_done : callable, optional
        Called as ``on_done(path, row)`` as soon as each file's row is
        known (e.g. to save it).

    Returns
    -------
    list of dict
        One row per path, in order: ``path``, ``error`` (empty on
        success) and, on success, ``label``, ``score``, ``probs`` (class to
        probability) and, with a gender branch, ``gender`` and
        ``gender_score``.

    Example
    -------
    >>> import tempfile, soundfile, numpy
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> tmp = tempfile.mkdtemp()
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(f"{tmp}/m"))
    >>> soundfile.write(f"{tmp}/a.wav", numpy.zeros(8000), 16000)
    >>> rows = run_inference(
    ...     model, [f"{tmp}/a.wav", f"{tmp}/b.wav"], progress=False)
    >>> rows[0]["label"] in model.labels, rows[1]["error"]
    (True, 'AudioReadError: no such file: .../b.wav')
    """
    from tqdm import tqdm

    from speechbrain_gemo.blocks import audio_duration

    rows = {}

    def finish(path, row):
        """Stores a row and reports it to ``on_done``.

        Arguments
        ---------
        path : str
            The file.
        row : dict
            Its row.
        """
        rows[path] = row
        if on_done is not None:
            on_done(path, row)

    durations, readable = [], []
    for path in paths:
        try:
            durations.append(audio_duration(path))
            readable.append(path)
        except Exception as err:
            finish(path, {"path": path, "error": error_text(err)})
    bar = tqdm(total=len(paths), unit="file", disable=not progress)
    bar.update(len(paths) - len(readable))
    try:
        for batch, fields in classify_items(
            model,
            readable,
            durations,
            model.load_audio,
            str,
            prompts=prompts,
            max_batch_seconds=max_batch_seconds,
            max_batch_size=max_batch_size,
            window_seconds=window_seconds,
            overlap_seconds=overlap_seconds,
        ):
            for i, one in zip(batch, fields):
                finish(readable[i], {"path": readable[i], **one})
            bar.update(len(batch))
    finally:
        bar.close()
    return [rows[path] for path in paths]


def shard_inputs(durations, world_size):
    """Splits the inputs among processes, balancing their total duration
    (longest first, each to the least loaded process; ties to the lower
    rank), the same way in every process.

    Arguments
    ---------
    durations : list of float
        Duration of each input (0 for unreadable ones).
    world_size : int
        Number of processes.

    Returns
    -------
    list of list of int
        Per rank, its input indices in input order.

    Example
    -------
    >>> shard_inputs([5.0, 1.0, 4.0, 2.0, 2.0], 2)
    [[0, 4], [1, 2, 3]]
    """
    load = [0.0] * world_size
    shards = [[] for _ in range(world_size)]
    for i in sorted(range(len(durations)), key=lambda i: (-durations[i], i)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        shards[rank].append(i)
        load[rank] += durations[i]
    return [sorted(shard) for shard in shards]


def run_signature(args, paths, header, prompts):
    """What the rows of a run depend on: a restart must match it (see
    ``speechbrain_gemo.journal``).

    Arguments
    ---------
    args : argparse.Namespace
        The options of ``infer``.
    paths : list of str
        The inputs.
    header : str
        The CSV header.
    prompts : dict or None
        The zero-shot classes.

    Returns
    -------
    dict
        The model, a hash of the inputs, their count, the header, a hash
        of the prompts and the options that change rows.

    Example
    -------
    >>> from speechbrain_gemo.infer import parse_args
    >>> args = parse_args(["--model", "hub/id", "a.wav"])
    >>> run_signature(args, ["a.wav"], "path\\n", None)["count"]
    1
    """
    import hashlib

    def digest(items):
        """A short hash of a list of strings.

        Arguments
        ---------
        items : list of str
            The strings.

        Returns
        -------
        str
            16 hex digits.
        """
        # file names that are not valid UTF-8 are surrogate escapes
        text = "\n".join(items).encode("utf-8", "surrogateescape")
        return hashlib.sha256(text).hexdigest()[:16]

    model = args.model
    if os.path.isdir(model):
        model = os.path.abspath(model)
    options = [
        "timeline",
        "segments",
        "vad",
        "vad_threshold",
        "min_segment",
        "max_segment",
        "merge_gap",
        "window_seconds",
        "overlap_seconds",
        "backend",
        "precision",
        "sliding_window",
        "hop",
        "channels",
        "crosstalk_db",
    ]
    return {
        "model": model,
        "inputs": digest([path_key(p) for p in paths]),
        "count": len(paths),
        "header": header,
        "prompts": digest([json.dumps(prompts, sort_keys=True)]),
        "options": {key: getattr(args, key, None) for key in options},
    }


def inputs_to_do(paths, out, rank, world_size):
    """The inputs this process classifies: its share of them, less those
    an earlier run of the same command finished (whatever process did
    them).

    Arguments
    ---------
    paths : list of str
        The inputs of the run.
    out : str
        The output CSV (its part files tell what is done).
    rank : int
        This process.
    world_size : int
        The number of processes.

    Returns
    -------
    todo : list of int
        Indices of this process's inputs still to do, in input order.
    done : int
        How many inputs of the run are done already.

    Example
    -------
    >>> import tempfile, soundfile, numpy
    >>> tmp = tempfile.mkdtemp()
    >>> paths = [os.path.join(tmp, f"{n}.wav") for n in "abc"]
    >>> for path, seconds in zip(paths, (3, 2, 1)):
    ...     soundfile.write(path, numpy.zeros(8000 * seconds), 8000)
    >>> inputs_to_do(paths, os.path.join(tmp, "p.csv"), 1, 2)
    ([1, 2], 0)
    """
    from speechbrain_gemo.journal import Journal

    done = Journal.finished(out)
    mine = shard_inputs(input_durations(paths), world_size)[rank]
    return [i for i in mine if i not in done], len(done)
