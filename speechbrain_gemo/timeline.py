"""Emotion over time in long recordings: the speech segments of each
(from a voice-activity detector or from outside, e.g. diarization), each
read on its own from the file and classified, a summary of the share of
speech time per emotion and speaker, and the runs of ``infer
--timeline`` over many recordings (``run_timelines``, with plots).

Only one batch of segments is in memory at a time, so memory does not
grow with the length of the recording. Segments are batched and
classified by the engine of every run (``speechbrain_gemo.batching``)
and become rows of ``speechbrain_gemo.rows``.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

from speechbrain_gemo.batching import classify_items
from speechbrain_gemo.blocks import (
    audio_channels,
    audio_duration,
    open_seekable,
    read_from,
)
from speechbrain_gemo.channels import CROSSTALK_DB, channel_names
from speechbrain_gemo.rows import csv_text, error_text
from speechbrain_gemo.segments import Segment, fit_segments
from speechbrain_gemo.vad import channel_speech, detect_speech


def model_sample_rate(model):
    """The sample rate a model expects (``GEmoCLAP`` and
    ``EmotionClassifierONNX`` both name it ``sample_rate``).

    Arguments
    ---------
    model : object
        The model.

    Returns
    -------
    int
        Hz.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> model_sample_rate(SimpleNamespace(sample_rate=16000.0))
    16000
    """
    return int(model.sample_rate)


def recording_segments(
    path,
    segments=None,
    vad="silero",
    min_segment=1.0,
    max_segment=10.0,
    max_gap=0.5,
    vad_options=None,
    names=None,
    crosstalk_db=CROSSTALK_DB,
):
    """The segments of a recording to classify: given ones or detected
    speech, merged and split into ``[min_segment, max_segment]``.

    With ``names`` (one per channel: channels as roles), speech is
    detected on each channel on its own with cross-talk taken out
    (``speechbrain_gemo.vad.channel_speech``), or given segments are put
    on their channel (``on_channels``); each segment's speaker is its
    channel's name.

    Arguments
    ---------
    path : str
        The recording.
    segments : list of Segment, optional
        Segments from outside (RTTM, CSV); None: detect speech.
    vad : str
        The detector (``silero`` or ``energy``).
    min_segment : float
        Shorter segments are merged with their neighbour (same speaker,
        gap at most ``max_gap``) where possible.
    max_segment : float
        Longer segments are split into equal parts.
    max_gap : float
        Longest silence a merge may bridge, in seconds.
    vad_options : dict, optional
        Options of ``speechbrain_gemo.vad.detect_speech``.
    names : list of str, optional
        The channels' names, in channel order (None: the channels' mix).
    crosstalk_db : float
        The cross-talk threshold (``speechbrain_gemo.channels``), with
        ``names``.

    Returns
    -------
    list of Segment
        In time order.

    Example
    -------
    >>> import os, tempfile, soundfile, numpy
    >>> from speechbrain_gemo.segments import Segment
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, numpy.zeros(16000 * 5), 16000)
    >>> recording_segments(wav, [Segment(0.5, 9.0, "A")], max_segment=3.0)
    [Segment(start=0.5, end=2.75, speaker='A'),
     Segment(start=2.75, end=5.0, speaker='A')]
    """
    duration = audio_duration(path)
    if names is not None and segments is not None:
        segments = on_channels(segments, names, path)
    elif names is not None:
        segments = channel_speech(
            path, names, vad, crosstalk_db, **(vad_options or {})
        )
    elif segments is None:
        segments = detect_speech(path, vad, **(vad_options or {}))
    return fit_segments(
        segments, min_segment, max_segment, max_gap, duration=duration
    )


def on_channels(segments, names, path="the recording"):
    """Given segments (``--segments``) put on the channels of a recording:
    a segment's ``speaker`` (or the ``channel`` cell of a segment CSV,
    which takes its place) is a channel's name or its number (1-based);
    it becomes the channel's name.

    Arguments
    ---------
    segments : list of Segment
        The segments.
    names : list of str
        The channels' names, in channel order.
    path : str
        The recording, for the error.

    Returns
    -------
    list of Segment
        The segments, each with its channel's name as ``speaker``.

    Raises
    ------
    ValueError
        For a segment of no channel of the recording.

    Example
    -------
    >>> on_channels([Segment(0, 1, "2"), Segment(1, 2, "agent")],
    ...             ["agent", "customer"])
    [Segment(start=0, end=1, speaker='customer'),
     Segment(start=1, end=2, speaker='agent')]
    """
    out = []
    for segment in segments:
        who = segment.speaker
        if who in names:
            out.append(segment)
            continue
        try:
            number = int(str(who).strip())
        except ValueError:
            number = 0
        if not 1 <= number <= len(names):
            raise ValueError(
                f"{path}: the segment {segment.start:.2f}-{segment.end:.2f}"
                f" s is on channel {who!r}, which is none of the "
                f"recording's {len(names)} channels (give a channel's name, "
                f"{', '.join(names)}, or its number, 1 to {len(names)})"
            )
        out.append(Segment(segment.start, segment.end, names[number - 1]))
    return out


def _segment_row(path, segment):
    """The fields that every row of a segment has."""
    return {
        "path": path,
        "start": segment.start,
        "end": segment.end,
        "speaker": segment.speaker,
    }


def classify_segments(
    model,
    path,
    segments,
    prompts=None,
    max_batch_seconds=120.0,
    max_batch_size=32,
    window_seconds=None,
    overlap_seconds=None,
    names=None,
):
    """Classifies each segment of a recording, reading only that segment
    (with ``names``, only its speaker's channel).

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP
        The model.
    path : str
        The recording.
    segments : list of Segment
        What to classify.
    prompts : dict, optional
        Zero-shot classes (label to prompt(s)).
    max_batch_seconds : float
        Cap on padded audio per batch.
    max_batch_size : int
        Cap on segments per batch.
    window_seconds : float, optional
        Window for segments longer than it (default: the model's).
    overlap_seconds : float, optional
        Window overlap (default: the model's).
    names : list of str, optional
        The channels' names, in channel order: each segment is read from
        the channel its ``speaker`` names (None: the channels' mix).

    Returns
    -------
    list of dict
        One row per segment, in the order of ``segments``: ``path``,
        ``start``, ``end``, ``speaker``, ``error`` and, on success,
        ``label``, ``score``, ``probs`` and, with a gender branch,
        ``gender`` and ``gender_score``, with the dimensional head
        ``arousal``, ``valence`` and ``dominance`` (the training corpus'
        scale, ``model.avd_scale``).

    Example
    -------
    >>> import os, tempfile, soundfile, numpy
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> from speechbrain_gemo.segments import Segment
    >>> tmp = tempfile.mkdtemp()
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(f"{tmp}/m"))
    >>> rng = numpy.random.default_rng(0)
    >>> soundfile.write(f"{tmp}/a.wav", rng.standard_normal(32000), 16000)
    >>> rows = classify_segments(
    ...     model, f"{tmp}/a.wav", [Segment(0.0, 1.0), Segment(1.0, 1.01)])
    >>> rows[0]["label"] in model.labels, rows[1]["error"][:15]
    (True, 'AudioInputError')
    """
    rate = model_sample_rate(model)
    rows = [_segment_row(path, segment) for segment in segments]

    def read(segment):
        """The segment's samples, read from the open file.

        Arguments
        ---------
        segment : Segment
            The segment.

        Returns
        -------
        torch.Tensor
            Mono samples at the model's rate.
        """
        channel = None if names is None else names.index(segment.speaker)
        return read_from(
            handle, segment.start, segment.end, rate, path, channel
        )

    def name(segment):
        """The segment, for error messages.

        Arguments
        ---------
        segment : Segment
            The segment.

        Returns
        -------
        str
            The file and the times.
        """
        return f"{path} [{segment.start:.2f}-{segment.end:.2f} s]"

    with open_seekable(path) as handle:
        for batch, fields in classify_items(
            model,
            segments,
            [s.end - s.start for s in segments],
            read,
            name,
            prompts=prompts,
            max_batch_seconds=max_batch_seconds,
            max_batch_size=max_batch_size,
            window_seconds=window_seconds,
            overlap_seconds=overlap_seconds,
        ):
            for i, one in zip(batch, fields):
                rows[i].update(one)
    return rows


def recording_timeline(model, path, segments=None, options=None):
    """Segments and classifies one recording; never raises for a bad
    file: it becomes one row with the error.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP
        The model.
    path : str
        The recording.
    segments : list of Segment, optional
        Segments from outside; None: detect speech.
    options : dict, optional
        ``segmentation`` (keyword arguments of ``recording_segments``),
        ``classification`` (of ``classify_segments``) and ``channels``
        (channels as roles: one name per channel, in channel order, or
        ``"split"`` for ``ch1``, ``ch2``, ...; see
        ``speechbrain_gemo.channels.parse_channels``; None or absent: the
        channels' mix).

    Returns
    -------
    list of dict
        The segment rows (see ``classify_segments``), or one row with an
        ``error`` (unreadable file, no speech found, a channel count that
        differs from the names).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> tmp = tempfile.mkdtemp()
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(f"{tmp}/m"))
    >>> print(recording_timeline(model, f"{tmp}/none.wav")[0]["error"])
    AudioReadError: no such file: .../none.wav
    >>> import numpy, soundfile
    >>> soundfile.write(f"{tmp}/mono.wav", numpy.zeros(8000), 8000)
    >>> print(recording_timeline(model, f"{tmp}/mono.wav",
    ...       options={"channels": ["agent", "customer"]})[0]["error"])
    ChannelCountError: .../mono.wav has 1 channel but 2 channel names were
    given (agent, customer)
    """
    options = options or {}
    empty = {"path": path, "start": None, "end": None, "speaker": None}
    names = None
    try:
        if options.get("channels") is not None:
            names = channel_names(
                options["channels"], audio_channels(path), path
            )
        found = recording_segments(
            path, segments, names=names, **options.get("segmentation", {})
        )
    except Exception as err:
        return [dict(empty, error=error_text(err))]
    if not found:
        what = "in the given segments" if segments is not None else "by VAD"
        return [dict(empty, error=f"NoSpeech: no speech segment {what}")]
    try:
        return classify_segments(
            model,
            path,
            found,
            names=names,
            **options.get("classification", {}),
        )
    except Exception as err:
        return [dict(empty, error=error_text(err))]


def sliding_timeline(model, path, options=None, audio=None):
    """Windows of a recording every hop where someone speaks, per channel
    or of the channels' mix, classified: what the server sends as events
    for the same recording streamed (``speechbrain_gemo.streaming``
    cuts both). Never raises for a bad file: it becomes one error row.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP or EmotionClassifierONNX
        The model (at 16 kHz, the detector's rate).
    path : str
        The recording.
    options : dict, optional
        ``window`` and ``hop`` (seconds; default 3 and 1), ``channels``
        (None: the channels' mix, speaker empty; ``"split"``: each
        channel named ``ch1``, ``ch2``...; or one name per channel),
        ``threshold``, ``min_speech``, ``silence_db`` (of
        ``StreamEngine``), ``prompts`` and ``max_batch_size``.
    audio : file-like, optional
        The recording's bytes to read instead of the file ``path`` (which
        then only names it, e.g. an upload).

    Returns
    -------
    list of dict
        One row per window and channel with speech (``path``, ``start``,
        ``end``, ``speaker``, ``error`` and the prediction), in the order
        of the stream's events; or one row with the error.

    Example
    -------
    >>> import os, tempfile, soundfile, numpy
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> tmp = tempfile.mkdtemp()
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(f"{tmp}/m"))
    >>> soundfile.write(f"{tmp}/a.wav", numpy.zeros((16000, 2)), 16000)
    >>> sliding_timeline(model, f"{tmp}/a.wav",
    ...                  {"channels": ["agent"]})[0]["error"][:45]
    'AudioInputError: the file has 2 channel(s), b'
    >>> sliding_timeline(model, f"{tmp}/a.wav")[0]["error"]
    'NoSpeech: no window with speech'
    """
    from speechbrain_gemo.batching import classify_batch
    from speechbrain_gemo.rows import window_row
    from speechbrain_gemo.streaming import file_windows

    options = dict(options or {})
    channels = options.pop("channels", None)
    prompts = options.pop("prompts", None)
    size = options.pop("max_batch_size", 32)
    empty = {"path": path, "start": None, "end": None, "speaker": None}
    roles = None if channels in (None, "split") else list(channels)
    rows, batch = [], []

    def flush():
        """Classifies the windows waiting in ``batch``."""
        names = [f"{path} [{w.start:.2f}-{w.end:.2f} s]" for w in batch]
        signals = [w.samples for w in batch]
        for window, fields in zip(
            batch, classify_batch(model, signals, names, prompts)
        ):
            rows.append(window_row(path, window, fields))
        batch.clear()

    try:
        for window in file_windows(
            path if audio is None else audio,
            roles,
            mix=channels is None,
            **options,
        ):
            batch.append(window)
            if len(batch) >= size:
                flush()
        if batch:
            flush()
    except Exception as err:
        return [dict(empty, error=error_text(err))]
    if not rows:
        return [dict(empty, error="NoSpeech: no window with speech")]
    return rows


def everyone_name(speakers):
    """The name of "everyone" in a speech summary: ``*``, or, when a
    speaker is already called that, the shortest run of ``*`` that no
    speaker is called, so that no speaker is taken for everyone.

    Arguments
    ---------
    speakers : iterable of str
        The speakers' names (None for unknown).

    Returns
    -------
    str
        The name.

    Example
    -------
    >>> everyone_name(["A", "B"]), everyone_name(["A", "*"])
    ('*', '**')
    """
    taken = set(speakers)
    name = "*"
    while name in taken:
        name += "*"
    return name


def speech_summary(rows, labels):
    """Share of speech time per emotion, overall and per speaker.

    Arguments
    ---------
    rows : list of dict
        Segment rows of one recording (``start``, ``end``, ``speaker``,
        ``label``, ``error``); failed rows are left out.
    labels : list of str
        The classes.

    Returns
    -------
    list of dict
        ``speaker`` (everyone first, named ``*``, see ``everyone_name``,
        then each speaker by name), ``label``, ``seconds`` and ``share``
        (of that speaker's classified speech time), one per speaker and
        class.

    Example
    -------
    >>> rows = [
    ...     {"start": 0, "end": 3, "speaker": "A", "label": "sad", "error": ""},
    ...     {"start": 3, "end": 4, "speaker": "B", "label": "neu", "error": ""}]
    >>> [(r["speaker"], r["label"], r["share"])
    ...  for r in speech_summary(rows, ["neu", "sad"])]
    [('*', 'neu', 0.25), ('*', 'sad', 0.75), ('A', 'neu', 0.0),
     ('A', 'sad', 1.0), ('B', 'neu', 1.0), ('B', 'sad', 0.0)]
    """
    everyone = dict.fromkeys(labels, 0.0)
    seconds, classified = {}, False
    for row in rows:
        if row.get("error"):
            continue
        classified = True
        length = float(row["end"]) - float(row["start"])
        everyone[row["label"]] += length
        who = row.get("speaker")
        if who is not None:
            per_label = seconds.setdefault(who, dict.fromkeys(labels, 0.0))
            per_label[row["label"]] += length
    if not classified:
        return []
    groups = [(everyone_name(seconds), everyone)]
    groups += [(who, seconds[who]) for who in sorted(seconds)]
    out = []
    for who, per_label in groups:
        total = sum(per_label.values())
        for label in labels:
            out.append(
                {
                    "speaker": who,
                    "label": label,
                    "seconds": per_label[label],
                    "share": per_label[label] / total if total else 0.0,
                }
            )
    return out


def timeline_options(args, prompts=None):
    """The options of ``recording_timeline`` from the command line's.

    Arguments
    ---------
    args : argparse.Namespace
        ``vad``, ``vad_threshold``, ``min_segment``, ``max_segment``,
        ``merge_gap``, ``max_batch_seconds``, ``max_batch_size``,
        ``window_seconds``, ``overlap_seconds``, ``channels``,
        ``crosstalk_db`` (as ``infer`` has them).
    prompts : dict, optional
        Zero-shot classes.

    Returns
    -------
    dict
        ``segmentation``, ``classification`` and ``channels`` options.

    Example
    -------
    >>> from speechbrain_gemo.infer import parse_args
    >>> args = parse_args(["--model", "m", "--timeline", "--vad", "energy",
    ...                    "--vad_threshold", "9", "a.wav"])
    >>> timeline_options(args)["segmentation"]["vad_options"]
    {'margin_db': 9.0}
    >>> args = parse_args(["--model", "m", "--timeline", "--channels",
    ...                    "agent,customer", "a.wav"])
    >>> timeline_options(args)["channels"]
    ['agent', 'customer']
    """
    vad_options = {}
    if args.vad_threshold is not None:
        key = "threshold" if args.vad == "silero" else "margin_db"
        vad_options[key] = args.vad_threshold
    if getattr(args, "sliding_window", None):
        sliding = {
            "window": args.sliding_window,
            "hop": args.hop,
            "channels": channels_of(args),
            "crosstalk_db": args.crosstalk_db,
            "prompts": prompts,
            "max_batch_size": args.max_batch_size,
        }
        if args.vad_threshold is not None:
            sliding["threshold"] = args.vad_threshold
        return {"sliding": sliding}
    return {
        "segmentation": {
            "vad": args.vad,
            "min_segment": args.min_segment,
            "max_segment": args.max_segment,
            "max_gap": args.merge_gap,
            "vad_options": vad_options,
            "crosstalk_db": args.crosstalk_db,
        },
        "channels": channels_of(args),
        "classification": {
            "prompts": prompts,
            "max_batch_seconds": args.max_batch_seconds,
            "max_batch_size": args.max_batch_size,
            "window_seconds": args.window_seconds,
            "overlap_seconds": args.overlap_seconds,
        },
    }


def channels_of(args):
    """The channel names of ``--channels`` (None without it).

    Arguments
    ---------
    args : argparse.Namespace
        ``channels``, as ``infer`` has it (text, or None).

    Returns
    -------
    list of str or str or None
        As ``speechbrain_gemo.channels.parse_channels`` returns it.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> channels_of(SimpleNamespace(channels="split"))
    'split'
    """
    from speechbrain_gemo.channels import parse_channels

    text = getattr(args, "channels", None)
    return None if text is None else parse_channels(text)


def run_timelines(model, paths, todo, save, options, context):
    """Segments, classifies and saves each input of ``todo``, one at a
    time.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP or EmotionClassifierONNX
        The model.
    paths : list of str
        Every input of the run.
    todo : list of int
        The indices of the inputs to do.
    save : callable
        ``save(index, path, rows)``, called as each input is done.
    options : dict
        See ``timeline_options``.
    context : dict
        ``segments`` (per input its list of Segment, None where a
        ``segments_source`` names none; or None: detect speech),
        ``segments_source`` (the file they come from, for the error),
        ``plot`` (a folder for ``write_plots``, or None), ``labels`` (the
        classes, for the plots) and ``quiet`` (no progress bar). The
        plots of a model with the dimensional head get a panel of
        arousal, valence and dominance on its ``avd_scale``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(tempfile.mkdtemp()))
    >>> saved = []
    >>> run_timelines(model, ["none.wav"], [0],
    ...               lambda i, path, rows: saved.append(rows), {},
    ...               {"segments": None, "plot": None, "quiet": True})
    >>> print(saved[0][0]["error"])
    AudioReadError: no such file: .../none.wav
    """
    from tqdm import tqdm

    from speechbrain_gemo.io import warn

    stems = plot_names(paths) if context["plot"] else None
    scale = model.avd_scale if getattr(model, "has_avd", False) else None
    for index in tqdm(todo, unit="file", disable=context["quiet"]):
        path = paths[index]
        segments = None
        if context["segments"] is not None:
            segments = context["segments"][index]
            if segments is None:
                rows = [
                    {
                        "path": path,
                        "start": None,
                        "end": None,
                        "error": f"NoSegments: {context['segments_source']} "
                        "has no segments for this recording",
                    }
                ]
                save(index, path, rows)
                continue
        if "sliding" in options:
            rows = sliding_timeline(model, path, options["sliding"])
        else:
            rows = recording_timeline(model, path, segments, options)
        if context["plot"]:
            folder, stem = context["plot"], stems[index]
            try:
                write_plots(rows, context["labels"], folder, stem, path, scale)
            except Exception as err:  # a plot never sinks the run
                warn(f"no plot of {path}: {type(err).__name__}: {err}")
        save(index, path, rows)


def plot_names(paths):
    """File stems for the plots of each input, unique even on a file
    system that ignores case: the recording's name, or, where inputs
    share a name, the name with ``-1``, ``-2``, ... added (skipping any
    stem that is another input's name).

    Arguments
    ---------
    paths : list of str
        The inputs.

    Returns
    -------
    list of str
        One stem per input.

    Example
    -------
    >>> plot_names(["a/x.wav", "b/x.wav", "c/x-1.wav", "y.flac"])
    ['x-2', 'x-3', 'x-1', 'y']
    >>> plot_names(["a/Call.wav", "b/call.flac"])
    ['Call-1', 'call-2']
    """
    from collections import Counter

    from speechbrain_gemo.segments import recording_id

    names = [recording_id(p) for p in paths]
    counts = Counter(name.casefold() for name in names)
    taken = set(counts)
    stems = []
    for name in names:
        if counts[name.casefold()] == 1:
            stems.append(name)
            continue
        number = 1
        while f"{name}-{number}".casefold() in taken:
            number += 1
        stems.append(f"{name}-{number}")
        taken.add(stems[-1].casefold())
    return stems


def write_summary(summary, path):
    """Writes a speech-time summary (``speech_summary``) as CSV,
    atomically.

    Arguments
    ---------
    summary : list of dict
        As ``speech_summary`` returns it.
    path : str
        The CSV file.

    Example
    -------
    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> write_summary([{"speaker": "*", "label": "sad", "seconds": 2.0,
    ...                 "share": 1.0}], out)
    >>> print(open(out).read(), end="")
    speaker,label,seconds,share
    *,sad,2.000,1.0000
    """
    from speechbrain_gemo.io import write_text_atomic

    lines = [["speaker", "label", "seconds", "share"]]
    for entry in summary:
        lines.append(
            [
                entry["speaker"],
                entry["label"],
                f"{entry['seconds']:.3f}",
                f"{entry['share']:.4f}",
            ]
        )
    write_text_atomic(path, csv_text(lines))


def hop_spans(rows, hop):
    """Sliding-window rows as the stretch of time each stands for: the
    ``hop`` seconds around its window's centre, so that the windows of
    one channel tile the time instead of overlapping (for summaries of
    speech time).

    Arguments
    ---------
    rows : list of dict
        Window rows (``start``, ``end``).
    hop : float
        The hop of the windows in seconds.

    Returns
    -------
    list of dict
        Copies with ``start`` and ``end`` replaced.

    Example
    -------
    >>> hop_spans([{"start": 1.0, "end": 4.0, "speaker": "a"}], 1.0)
    [{'start': 2.0, 'end': 3.0, 'speaker': 'a'}]
    """
    out = []
    for row in rows:
        if row.get("start") is None:
            out.append(dict(row))
            continue
        centre = (float(row["start"]) + float(row["end"])) / 2
        length = min(hop, float(row["end"]) - float(row["start"]))
        out.append(
            dict(row, start=centre - length / 2, end=centre + length / 2)
        )
    return out


def write_plots(rows, labels, folder, stem, title, avd_scale=None):
    """Writes the timeline PNG and the speech-time summary CSV of one
    recording.

    Arguments
    ---------
    rows : list of dict
        Its segment rows.
    labels : list of str
        The classes.
    folder : str
        The plot folder.
    stem : str
        The file stem (see ``plot_names``).
    title : str
        The figure title.
    avd_scale : tuple of float, optional
        The model's scale of arousal, valence and dominance, for a model
        with the dimensional head: the plot gets their panel.

    Returns
    -------
    list of str
        The files written.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> rows = [{"path": "a.wav", "start": 0.0, "end": 2.0, "speaker": None,
    ...          "label": "sad", "probs": {"neu": 0.3, "sad": 0.7},
    ...          "error": ""}]
    >>> files = write_plots(rows, ["neu", "sad"], folder, "a", "a.wav")
    >>> print(open(files[1]).read(), end="")
    speaker,label,seconds,share
    *,neu,0.000,0.0000
    *,sad,2.000,1.0000
    """
    os.makedirs(folder, exist_ok=True)
    summary = os.path.join(folder, f"{stem}_summary.csv")
    write_summary(speech_summary(rows, labels), summary)
    png = os.path.join(folder, f"{stem}.png")
    try:
        from speechbrain_gemo.blocks import audio_duration
        from speechbrain_gemo.plotting import plot_timeline

        try:
            duration = audio_duration(rows[0]["path"])
        except (OSError, ValueError):
            duration = None
        plot_timeline(
            rows,
            labels,
            png,
            title=title,
            duration=duration,
            avd_scale=avd_scale,
        )
    except ImportError as err:
        print(f"warning: no timeline plot ({err})", file=sys.stderr)
        return [summary]
    return [png, summary]


def overview_name(paths):
    """The file stem of the archive's overview figure: ``overview``, with
    ``_`` before it as long as a recording's plots have that stem (see
    ``plot_names``).

    Arguments
    ---------
    paths : list of str
        The inputs.

    Returns
    -------
    str
        The stem.

    Example
    -------
    >>> overview_name(["a.wav", "b.wav"]), overview_name(["Overview.wav"])
    ('overview', '_overview')
    """
    taken = {stem.casefold() for stem in plot_names(paths)}
    stem = "overview"
    while stem.casefold() in taken:
        stem = f"_{stem}"
    return stem


def write_overview(rows, labels, folder, paths):
    """Writes the overview figure of an archive (``plot_overview``: one
    row per recording, in input order, each role's segments in the colour
    of their class) as ``<folder>/overview.png`` (see ``overview_name``).

    Arguments
    ---------
    rows : list of dict
        The run's segment rows (e.g. read back from its CSV).
    labels : list of str
        The classes.
    folder : str
        The plot folder.
    paths : list of str
        The inputs (the rows' recordings, in order).

    Returns
    -------
    str
        The PNG written.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> rows = [{"path": p, "start": 0.0, "end": 1.0, "speaker": "",
    ...          "label": "sad", "error": ""} for p in ("a.wav", "b.wav")]
    >>> os.path.basename(write_overview(rows, ["sad"], folder,
    ...                                 ["a.wav", "b.wav"]))
    'overview.png'
    """
    from speechbrain_gemo.plotting import plot_overview

    durations = {}
    for path in paths:
        try:
            durations[path] = audio_duration(path)
        except (OSError, ValueError):
            pass
    os.makedirs(folder, exist_ok=True)
    png = os.path.join(folder, f"{overview_name(paths)}.png")
    plot_overview(rows, labels, png, paths, durations)
    return png
