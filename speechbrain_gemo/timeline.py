"""Emotion over time in a long recording: its speech segments (from a
voice-activity detector or from outside, e.g. diarization), each read on
its own from the file and classified, and a summary of the share of
speech time per emotion and speaker.

Only one batch of segments is in memory at a time, so memory does not
grow with the length of the recording.

Authors
 * speechbrain-gemo developers 2026
"""

import torch

from speechbrain_gemo.batching import make_batches
from speechbrain_gemo.blocks import audio_duration, open_audio, read_from
from speechbrain_gemo.segments import fit_segments
from speechbrain_gemo.vad import detect_speech


def error_text(err):
    """The text of the ``error`` column: the exception's type and the
    reason (the row already names the file).

    Arguments
    ---------
    err : Exception
        The error.

    Returns
    -------
    str
        One line.

    Example
    -------
    >>> error_text(ValueError("a.wav: too short"))
    'ValueError: a.wav: too short'
    """
    message = getattr(err, "reason", None) or " ".join(str(err).split())
    if len(message) > 300:
        message = message[:300] + "..."
    return f"{type(err).__name__}: {message}"


def model_sample_rate(model):
    """The sample rate a model expects: that of a SpeechBrain
    ``Pretrained`` model's ``audio_normalizer`` (which ``load_audio``
    applies), or an ONNX classifier's ``sample_rate``.

    Arguments
    ---------
    model : speechbrain.inference.interfaces.Pretrained
        The model.

    Returns
    -------
    int
        Hz.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from speechbrain.dataio.preprocess import AudioNormalizer
    >>> model_sample_rate(SimpleNamespace(audio_normalizer=AudioNormalizer()))
    16000
    """
    normalizer = getattr(model, "audio_normalizer", None)
    if normalizer is None:  # EmotionClassifierONNX
        return int(model.sample_rate)
    return int(normalizer.sample_rate)


def recording_segments(
    path,
    segments=None,
    vad="silero",
    min_segment=1.0,
    max_segment=10.0,
    max_gap=0.5,
    vad_options=None,
):
    """The segments of a recording to classify: given ones or detected
    speech, merged and split into ``[min_segment, max_segment]``.

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
    if segments is None:
        segments = detect_speech(path, vad, **(vad_options or {}))
    return fit_segments(
        segments, min_segment, max_segment, max_gap, duration=duration
    )


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
):
    """Classifies each segment of a recording, reading only that segment.

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

    Returns
    -------
    list of dict
        One row per segment, in the order of ``segments``: ``path``,
        ``start``, ``end``, ``speaker``, ``error`` and, on success,
        ``label``, ``score``, ``probs`` and, with a gender branch,
        ``gender`` and ``gender_score``.

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
    rows = [None] * len(segments)
    durations = [s.end - s.start for s in segments]
    window = (window_seconds, overlap_seconds)
    with open_audio(path) as handle:
        for batch in make_batches(
            durations, max_batch_seconds, max_batch_size, window_seconds
        ):
            done = _classify_batch(
                model,
                handle,
                path,
                [segments[i] for i in batch],
                prompts,
                window,
                rate,
            )
            for i, row in zip(batch, done):
                rows[i] = row
    return rows


def _classify_batch(model, handle, path, segments, prompts, window, rate):
    """Rows for one batch of segments; a failing segment gets an error."""
    rows = [_segment_row(path, s) for s in segments]
    signals, ok = [], []
    for k, segment in enumerate(segments):
        try:
            signals.append(
                read_from(handle, segment.start, segment.end, rate, path)
            )
            ok.append(k)
        except Exception as err:
            rows[k]["error"] = error_text(err)
    if not ok:
        return rows
    try:
        lengths = torch.tensor([len(s) for s in signals], dtype=torch.float)
        wavs = torch.nn.utils.rnn.pad_sequence(signals, batch_first=True)
        names = [
            f"{path} [{segments[k].start:.2f}-{segments[k].end:.2f} s]"
            for k in ok
        ]
        out = model.predict_batch(
            wavs,
            lengths / lengths.max(),
            prompts=prompts,
            window_seconds=window[0],
            overlap_seconds=window[1],
            names=names,
        )
    except Exception as err:
        if len(ok) == 1:
            rows[ok[0]]["error"] = error_text(err)
            return rows
        # Isolate the segment that breaks the batch
        for k in ok:
            rows[k] = _classify_batch(
                model, handle, path, [segments[k]], prompts, window, rate
            )[0]
        return rows
    for j, k in enumerate(ok):
        rows[k].update(prediction_fields(out, j))
    return rows


def prediction_fields(out, i):
    """The prediction of item ``i`` of ``GEmoCLAP.predict_batch`` output.

    Arguments
    ---------
    out : dict
        As ``predict_batch`` returns it.
    i : int
        The item.

    Returns
    -------
    dict
        ``label``, ``score``, ``probs`` (class to probability), ``error``
        (empty) and, with a gender branch, ``gender`` and ``gender_score``.

    Example
    -------
    >>> out = {"text_lab": ["sad"], "score": torch.tensor([0.7]),
    ...        "labels": ("neu", "sad"), "probs": torch.tensor([[0.3, 0.7]])}
    >>> prediction_fields(out, 0)["probs"]["sad"]
    0.699999988079071
    """
    row = {
        "label": out["text_lab"][i],
        "score": float(out["score"][i]),
        "probs": dict(zip(out["labels"], out["probs"][i].tolist())),
        "error": "",
    }
    if "gender_probs" in out:
        row["gender"] = out["gender_lab"][i]
        row["gender_score"] = float(out["gender_score"][i])
    return row


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
        ``segmentation`` (keyword arguments of ``recording_segments``) and
        ``classification`` (of ``classify_segments``).

    Returns
    -------
    list of dict
        The segment rows (see ``classify_segments``), or one row with an
        ``error`` (unreadable file, no speech found).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> tmp = tempfile.mkdtemp()
    >>> model = GEmoCLAP.from_hparams(save_tiny_export(f"{tmp}/m"))
    >>> recording_timeline(model, f"{tmp}/none.wav")[0]["error"]
    'AudioReadError: no such file'
    """
    options = options or {}
    empty = {"path": path, "start": None, "end": None, "speaker": None}
    try:
        found = recording_segments(
            path, segments, **options.get("segmentation", {})
        )
    except Exception as err:
        return [dict(empty, error=error_text(err))]
    if not found:
        what = "in the given segments" if segments is not None else "by VAD"
        return [dict(empty, error=f"NoSpeech: no speech segment {what}")]
    try:
        return classify_segments(
            model, path, found, **options.get("classification", {})
        )
    except Exception as err:
        return [dict(empty, error=error_text(err))]


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
        ``speaker`` (``*`` for everyone), ``label``, ``seconds`` and
        ``share`` (of that speaker's classified speech time), one per
        speaker and class.

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
    seconds = {}
    for row in rows:
        if row.get("error"):
            continue
        length = float(row["end"]) - float(row["start"])
        for who in ("*", row.get("speaker")):
            if who is None:
                continue
            per_label = seconds.setdefault(who, dict.fromkeys(labels, 0.0))
            per_label[row["label"]] += length
    out = []
    for who in sorted(seconds, key=lambda s: (s != "*", s)):
        total = sum(seconds[who].values())
        for label in labels:
            out.append(
                {
                    "speaker": who,
                    "label": label,
                    "seconds": seconds[who][label],
                    "share": seconds[who][label] / total if total else 0.0,
                }
            )
    return out
