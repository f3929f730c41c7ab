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

Authors
 * speechbrain-gemo developers 2026
"""

import functools

import numpy as np
import torch

from speechbrain_gemo.blocks import iter_blocks
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
    from silero_vad import get_speech_timestamps_from_probs

    model = load_silero()
    model.reset_states()
    probs, total, carry = [], 0, torch.zeros(0)
    with torch.inference_mode():
        for block in iter_blocks(path, VAD_SAMPLE_RATE, block_seconds):
            total += len(block)
            block = torch.cat([carry, block])
            usable = len(block) // SILERO_FRAME * SILERO_FRAME
            for k in range(0, usable, SILERO_FRAME):
                frame = block[k : k + SILERO_FRAME]
                probs.append(model(frame, VAD_SAMPLE_RATE).item())
            # a copy: a view would keep the whole block alive
            carry = block[usable:].clone()
        if len(carry):
            frame = torch.nn.functional.pad(
                carry, (0, SILERO_FRAME - len(carry))
            )
            probs.append(model(frame, VAD_SAMPLE_RATE).item())
    if not probs:
        return []
    stamps = get_speech_timestamps_from_probs(
        probs,
        sampling_rate=VAD_SAMPLE_RATE,
        threshold=threshold,
        min_speech_duration_ms=int(min_speech * 1000),
        min_silence_duration_ms=int(min_silence * 1000),
        speech_pad_ms=int(speech_pad * 1000),
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
    energies, total, carry = [], 0, torch.zeros(0)
    for block in iter_blocks(path, VAD_SAMPLE_RATE, block_seconds):
        total += len(block)
        block = torch.cat([carry, block])
        usable = len(block) // hop * hop
        if usable:
            frames = block[:usable].reshape(-1, hop)
            energies += frames.pow(2).mean(dim=1).tolist()
        # a copy: a view would keep the whole block alive
        carry = block[usable:].clone()
    if not energies:
        return []
    db = 10 * np.log10(np.asarray(energies) + 1e-12)
    # Digital silence (zeros, or a least significant bit of dither) is no
    # noise floor: with it, all the background noise would be speech
    audible = db[db > SILENT_DB]
    if not len(audible):
        return []
    floor = np.percentile(audible, 10)
    if np.percentile(audible, 99) - floor < margin_db:
        # Everything audible is about equally loud: no background noise
        # between the stretches of digital silence, which are the floor
        floor = np.percentile(db, 10)
    active = db > floor + margin_db
    return speech_runs(
        active,
        hop / VAD_SAMPLE_RATE,
        min_speech,
        min_silence,
        speech_pad,
        total / VAD_SAMPLE_RATE,
    )


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
