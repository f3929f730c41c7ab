"""Voice activity detection over long recordings, read block by block.

Two detectors return the same thing, a list of ``Segment`` in seconds:

* ``silero`` (default): Silero VAD, whose weights ship inside the
  ``silero-vad`` package (install it with ``pip install --no-deps
  silero-vad``: its extras pin older torchaudio releases), so it runs
  offline. Its speech probability per 32 ms frame is computed block by
  block with the model's recurrent state carried over, then turned into
  segments by the package's own ``get_speech_timestamps_from_probs``.
* ``energy``: a fallback without extra packages: frames whose energy is
  well above the recording's noise floor are speech; short gaps are
  bridged and short bursts dropped. The floor is the 10th percentile of
  the energies of the frames that are not digital silence (quieter than
  one 16-bit step), unless these are all about equally loud (within the
  margin: no background noise between stretches of digital silence),
  then the 10th percentile of all frames.

Memory is one block of audio plus one number per frame, whatever the
length of the recording.

``channel_speech`` runs either detector on each channel of a recording on
its own (one party per channel, e.g. agent and customer of a call) and
takes out the frames that another channel carries louder (cross-talk:
echo, bleed), by the rule of ``speechbrain_gemo.channels``.

Authors
 * speechbrain-gemo developers 2026
"""

import functools

import numpy as np
import torch

from speechbrain_gemo.blocks import iter_blocks
from speechbrain_gemo.channels import (
    CROSSTALK_DB,
    ECHO_SECONDS,
    attributed,
    echo_frames,
    frame_levels,
)
from speechbrain_gemo.segments import Segment

VAD_SAMPLE_RATE = 16000
SILERO_FRAME = 512  # samples at 16 kHz: the model's fixed window
METHODS = ("silero", "energy")
# Frames quieter than one 16-bit quantisation step (1 / 32768 RMS) are
# digital silence, not background noise
SILENT_DB = 20 * np.log10(1 / 32768)


@functools.lru_cache(maxsize=1)
def load_silero():
    """Loads Silero VAD (TorchScript) from the package's bundled weights.

    Returns
    -------
    torch.jit.ScriptModule
        The model (stateful: call ``reset_states()`` per recording).

    Example
    -------
    >>> load_silero().reset_states()
    """
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad
    except ImportError as err:
        raise ImportError(
            "Silero VAD needs the silero-vad package: pip install --no-deps "
            "silero-vad (or use the energy detector: --vad energy)"
        ) from err
    finally:
        # importing silero_vad.model sets the process-wide thread count to 1
        torch.set_num_threads(threads)
    return load_silero_vad()


def _framed(path, hop, block_seconds, channels=False, pad_last=False):
    """Yields a file at 16 kHz as frames of ``hop`` samples, block by
    block: ``n x hop`` (channels averaged) or ``n x hop x C``; with
    ``pad_last``, a last incomplete frame padded with zeros (else dropped).
    The last item is the number of samples read (an int)."""
    total, carry = 0, None
    for block in iter_blocks(path, VAD_SAMPLE_RATE, block_seconds, channels):
        total += len(block)
        if carry is not None:
            block = torch.cat([carry, block])
        usable = len(block) // hop * hop
        if usable:
            yield block[:usable].reshape(-1, hop, *block.shape[1:])
        # a copy: a view would keep the whole block alive
        carry = block[usable:].clone()
    if pad_last and carry is not None and len(carry):
        tail = torch.zeros(hop, *carry.shape[1:])
        tail[: len(carry)] = carry
        yield tail[None]
    yield total


def silero_speech(
    path,
    threshold=0.5,
    min_speech=0.25,
    min_silence=0.3,
    speech_pad=0.03,
    block_seconds=30.0,
):
    """Speech segments found by Silero VAD.

    Arguments
    ---------
    path : str
        The recording (any sample rate; channels are averaged).
    threshold : float
        Speech probability above which a frame is speech.
    min_speech : float
        Shortest segment kept, in seconds.
    min_silence : float
        Shortest silence that ends a segment, in seconds.
    speech_pad : float
        Seconds added on each side of a segment.
    block_seconds : float
        Seconds of audio read at a time.

    Returns
    -------
    list of Segment
        In time order, without speaker.

    Example
    -------
    >>> import os, tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "noise.wav")
    >>> soundfile.write(wav, np.zeros(16000), 16000)
    >>> silero_speech(wav)
    []
    """
    model = load_silero()
    model.reset_states()
    probs = []
    with torch.inference_mode():
        for frames in _framed(path, SILERO_FRAME, block_seconds, False, True):
            if isinstance(frames, int):
                total = frames
                break
            for frame in frames:
                probs.append(model(frame, VAD_SAMPLE_RATE).item())
    if not probs:
        return []
    return _silero_segments(
        probs, total, threshold, min_speech, min_silence, speech_pad
    )


def _silero_segments(probs, total, threshold, min_speech, min_silence, pad):
    """Segments from Silero's speech probabilities, by the package's own
    ``get_speech_timestamps_from_probs``."""
    from silero_vad import get_speech_timestamps_from_probs

    stamps = get_speech_timestamps_from_probs(
        [float(p) for p in probs],
        sampling_rate=VAD_SAMPLE_RATE,
        threshold=threshold,
        min_speech_duration_ms=int(min_speech * 1000),
        min_silence_duration_ms=int(min_silence * 1000),
        speech_pad_ms=int(pad * 1000),
        audio_length_samples=total,
    )
    return [
        Segment(s["start"] / VAD_SAMPLE_RATE, s["end"] / VAD_SAMPLE_RATE)
        for s in stamps
    ]


def speech_runs(active, frame_seconds, min_speech, min_silence, pad, total):
    """Turns per-frame speech decisions into segments: gaps shorter than
    ``min_silence`` are bridged, runs shorter than ``min_speech`` dropped,
    and each run padded by ``pad`` seconds (within the recording).

    Arguments
    ---------
    active : numpy.ndarray
        One bool per frame.
    frame_seconds : float
        Frame hop in seconds.
    min_speech : float
        Shortest segment kept, in seconds.
    min_silence : float
        Shortest silence that separates two segments, in seconds.
    pad : float
        Seconds added on each side.
    total : float
        Duration of the recording in seconds.

    Returns
    -------
    list of Segment
        In time order.

    Example
    -------
    >>> frames = np.array([0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1], dtype=bool)
    >>> speech_runs(frames, 0.1, 0.3, 0.2, 0.0, 1.1)
    [Segment(start=0.1, end=0.6, speaker=None)]
    """
    runs, start = [], None
    for i, on in enumerate(list(active) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append([start * frame_seconds, i * frame_seconds])
            start = None
    bridged = []
    for run in runs:
        if bridged and run[0] - bridged[-1][1] < min_silence:
            bridged[-1][1] = run[1]
        else:
            bridged.append(run)
    return [
        Segment(round(max(0.0, a - pad), 6), round(min(total, b + pad), 6))
        for a, b in bridged
        if b - a >= min_speech
    ]


def energy_speech(
    path,
    margin_db=12.0,
    min_speech=0.25,
    min_silence=0.3,
    speech_pad=0.03,
    frame_seconds=0.02,
    block_seconds=30.0,
):
    """Speech segments by frame energy relative to the noise floor.

    Arguments
    ---------
    path : str
        The recording.
    margin_db : float
        How far above the noise floor (in dB; see the module docstring) a
        frame must be to count as speech.
    min_speech : float
        Shortest segment kept, in seconds.
    min_silence : float
        Shortest silence that ends a segment, in seconds.
    speech_pad : float
        Seconds added on each side of a segment.
    frame_seconds : float
        Frame length in seconds.
    block_seconds : float
        Seconds of audio read at a time.

    Returns
    -------
    list of Segment
        In time order, without speaker.

    Example
    -------
    >>> import os, tempfile, soundfile
    >>> rng = np.random.default_rng(0)
    >>> x = 0.001 * rng.standard_normal(48000)
    >>> x[16000:32000] += 0.3 * np.sin(np.arange(16000) * 0.1)
    >>> wav = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> soundfile.write(wav, x, 16000)
    >>> energy_speech(wav, speech_pad=0.0)
    [Segment(start=1.0, end=2.0, speaker=None)]
    """
    hop = int(round(frame_seconds * VAD_SAMPLE_RATE))
    energies = []
    for frames in _framed(path, hop, block_seconds):
        if isinstance(frames, int):
            total = frames
            break
        energies += frames.pow(2).mean(dim=1).tolist()
    if not energies:
        return []
    db = 10 * np.log10(np.asarray(energies) + 1e-12)
    return speech_runs(
        above_floor(db, margin_db),
        hop / VAD_SAMPLE_RATE,
        min_speech,
        min_silence,
        speech_pad,
        total / VAD_SAMPLE_RATE,
    )


def above_floor(db, margin_db):
    """The frames of one channel well above its noise floor (the 10th
    percentile of its audible frame levels; see the module docstring):
    the energy detector's decision.

    Arguments
    ---------
    db : numpy.ndarray
        The frame levels in dB.
    margin_db : float
        How far above the floor a frame must be.

    Returns
    -------
    numpy.ndarray
        One bool per frame.

    Example
    -------
    >>> above_floor(np.array([-60.0, -61.0, -20.0, -59.0]), 12.0).tolist()
    [False, False, True, False]
    """
    # Digital silence (zeros, or a least significant bit of dither) is no
    # noise floor: with it, all the background noise would be speech
    audible = db[db > SILENT_DB]
    if not len(audible):
        return np.zeros(len(db), dtype=bool)
    floor = np.percentile(audible, 10)
    if np.percentile(audible, 99) - floor < margin_db:
        # Everything audible is about equally loud: no background noise
        # between the stretches of digital silence, which are the floor
        floor = np.percentile(db, 10)
    return db > floor + margin_db


def channel_speech(
    path,
    names,
    method="silero",
    crosstalk_db=CROSSTALK_DB,
    echo_seconds=ECHO_SECONDS,
    min_speech=0.25,
    min_silence=0.3,
    speech_pad=0.03,
    block_seconds=30.0,
    **options,
):
    """Speech segments of each channel of a recording, found on that
    channel alone, with cross-talk taken out (see
    ``speechbrain_gemo.channels``): a frame that another channel carries
    more than ``crosstalk_db`` louder is not speech of this channel.

    The detectors decide per frame as ``silero_speech`` (Silero's speech
    probability, 32 ms frames, all channels in one batch, each with its
    own recurrent state) and ``energy_speech`` (each channel against its
    own noise floor, 20 ms frames) do; cross-talk frames are then set to
    no speech before frames become segments.

    Arguments
    ---------
    path : str
        The recording, one party per channel.
    names : list of str
        One name per channel (``channels.channel_names``): each segment's
        ``speaker``.
    method : str
        ``"silero"`` or ``"energy"``.
    crosstalk_db : float
        The cross-talk threshold in dB.
    echo_seconds : float
        How far back the rule looks for the louder channel.
    min_speech : float
        Shortest segment kept, in seconds.
    min_silence : float
        Shortest silence that ends a segment, in seconds.
    speech_pad : float
        Seconds added on each side of a segment.
    block_seconds : float
        Seconds of audio read at a time.
    **options : dict
        ``threshold`` (Silero) or ``margin_db`` and ``frame_seconds``
        (energy).

    Returns
    -------
    list of Segment
        In time order, each with its channel's name as ``speaker``.

    Example
    -------
    >>> import os, tempfile, soundfile
    >>> rng = np.random.default_rng(0)
    >>> x = 0.001 * rng.standard_normal((48000, 2))
    >>> tone = 0.3 * np.sin(np.arange(16000) * 0.1)
    >>> x[8000:24000, 0] += tone           # agent
    >>> x[8000:24000, 1] += 0.1 * tone     # its bleed, -20 dB
    >>> x[32000:40000, 1] += tone[:8000]   # customer
    >>> wav = os.path.join(tempfile.mkdtemp(), "call.wav")
    >>> soundfile.write(wav, x, 16000)
    >>> channel_speech(wav, ["agent", "customer"], "energy", speech_pad=0.0)
    [Segment(start=0.5, end=1.5, speaker='agent'),
     Segment(start=2.0, end=2.5, speaker='customer')]
    """
    if method not in METHODS:
        raise ValueError(f"unknown VAD method {method!r}; use one of {METHODS}")
    if method == "silero":
        threshold = options.pop("threshold", 0.5)
        hop = SILERO_FRAME
    else:
        margin_db = options.pop("margin_db", 12.0)
        hop = int(round(options.pop("frame_seconds", 0.02) * VAD_SAMPLE_RATE))
    if options:
        raise TypeError(f"unknown {method} VAD options: {sorted(options)}")
    scores, levels = [], []
    if method == "silero":
        model = load_silero()
        model.reset_states()
    with torch.inference_mode():
        for frames in _framed(
            path, hop, block_seconds, True, method == "silero"
        ):
            if isinstance(frames, int):
                total = frames
                break
            if frames.shape[-1] != len(names):
                raise ValueError(
                    f"{path}: {frames.shape[-1]} channels, {len(names)} names"
                )
            by_channel = frames.permute(0, 2, 1).numpy()  # n x C x hop
            levels.append(frame_levels(by_channel))
            if method == "silero":
                for frame in frames:
                    probs = model(frame.T.contiguous(), VAD_SAMPLE_RATE)
                    scores.append(probs[:, 0].numpy())
    if not levels:
        return []
    levels = np.concatenate(levels)
    if method == "silero":
        scores = attributed(
            np.stack(scores),
            levels,
            crosstalk_db,
            echo_frames(echo_seconds, hop / VAD_SAMPLE_RATE),
        )
    else:
        active = np.stack(
            [above_floor(levels[:, c], margin_db) for c in range(len(names))],
            axis=1,
        )
        scores = attributed(
            active,
            levels,
            crosstalk_db,
            echo_frames(echo_seconds, hop / VAD_SAMPLE_RATE),
        )
    found = []
    for c, name in enumerate(names):
        if method == "silero":
            segments = _silero_segments(
                scores[:, c],
                total,
                threshold,
                min_speech,
                min_silence,
                speech_pad,
            )
        else:
            segments = speech_runs(
                scores[:, c],
                hop / VAD_SAMPLE_RATE,
                min_speech,
                min_silence,
                speech_pad,
                total / VAD_SAMPLE_RATE,
            )
        found += [Segment(s.start, s.end, name) for s in segments]
    return sorted(found, key=lambda s: (s.start, s.end, names.index(s.speaker)))


def detect_speech(path, method="silero", **options):
    """Speech segments of a recording with the chosen detector.

    Arguments
    ---------
    path : str
        The recording.
    method : str
        ``"silero"`` or ``"energy"``.
    **options : dict
        ``min_speech``, ``min_silence``, ``speech_pad`` and the
        detector's own options (``threshold`` for Silero, ``margin_db``
        for energy).

    Returns
    -------
    list of Segment
        In time order.

    Example
    -------
    >>> import os, tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "quiet.wav")
    >>> soundfile.write(wav, np.zeros(16000), 16000)
    >>> detect_speech(wav, "energy")
    []
    """
    if method == "silero":
        return silero_speech(path, **options)
    if method == "energy":
        return energy_speech(path, **options)
    raise ValueError(f"unknown VAD method {method!r}; use one of {METHODS}")
