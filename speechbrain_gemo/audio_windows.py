"""Torch-free pieces shared by the PyTorch and the ONNX classifiers: the
error for audio that cannot be classified and the check that raises it
(``check_audio``), the check of a batch's relative lengths, and the
windowing rule for long audio (a call's windows or the model's, their
lengths in samples, and where the windows fall).

``speechbrain_gemo.inference`` (PyTorch) and
``speechbrain_gemo.onnx_runtime`` (onnxruntime, no torch) both import them
from here, so both backends reject the same audio and the same lengths with
the same message and cut long files into the same windows. This module
imports nothing beyond the standard library.

Authors
 * speechbrain-gemo developers 2026
"""

import math


class AudioInputError(ValueError):
    """Audio that cannot be classified: unreadable, empty, not finite or
    shorter than the model's receptive field.

    Arguments
    ---------
    message : str
        What is wrong.
    path : str, optional
        The file (or a description of the batch item) it is about.

    Example
    -------
    >>> str(AudioInputError("the file is empty", "a.wav"))
    'a.wav: the file is empty'
    """

    def __init__(self, message, path=None):
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(message if path is None else f"{path}: {message}")


def check_relative_lengths(wav_lens, batch_size):
    """Checks the SpeechBrain relative lengths of a batch: one per
    waveform, each between 0 and 1 (the item's samples over the padded
    length). Other values would index past the padded batch or, negative,
    silently cut the wrong samples.

    Arguments
    ---------
    wav_lens : sequence of float
        The relative lengths, flat (``wav_lens.reshape(-1).tolist()``).
    batch_size : int
        The number of waveforms of the batch.

    Raises
    ------
    ValueError
        Naming the offending value and what is expected.

    Example
    -------
    >>> check_relative_lengths([1.0, 0.5, 0.0], 3)
    >>> check_relative_lengths([1.0, 0.5], 3)
    Traceback (most recent call last):
    ...
    ValueError: wav_lens has 2 values for a batch of 3 waveforms: ...
    >>> check_relative_lengths([1.0, 1.5], 2)
    Traceback (most recent call last):
    ...
    ValueError: wav_lens[1] = 1.5: expected a relative length between 0...
    """
    wav_lens = list(wav_lens)
    if len(wav_lens) != batch_size:
        raise ValueError(
            f"wav_lens has {len(wav_lens)} values for a batch of "
            f"{batch_size} waveforms: give one relative length per waveform"
        )
    for i, value in enumerate(wav_lens):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(
                f"wav_lens[{i}] = {value:g}: expected a relative length "
                "between 0 and 1 (the item's samples over the padded "
                "length of the batch)"
            )


def check_audio(num_samples, name, sample_rate, min_samples, finite=True):
    """Raises :class:`AudioInputError` naming ``name`` for empty audio,
    audio shorter than the model's receptive field, or audio that is not
    finite (checked in that order).

    Arguments
    ---------
    num_samples : int
        The length of the audio.
    name : str
        The file or batch item, for the message.
    sample_rate : int
        Its sample rate.
    min_samples : int
        The model's receptive field: shorter audio makes no frame.
    finite : bool
        Whether every sample is finite (each backend checks with its own
        array library).

    Example
    -------
    >>> check_audio(16000, "a.wav", 16000, 400)
    >>> check_audio(300, "a.wav", 16000, 400)
    Traceback (most recent call last):
    ...
    speechbrain_gemo.audio_windows.AudioInputError: a.wav: the audio is...
    """
    if num_samples == 0:
        raise AudioInputError("the audio is empty", name)
    if num_samples < min_samples:
        raise AudioInputError(
            f"the audio is {num_samples / sample_rate * 1000:.1f} ms long "
            f"({num_samples} samples at {sample_rate} Hz), shorter than the "
            f"model's receptive field of {min_samples} samples "
            f"({min_samples / sample_rate * 1000:.0f} ms)",
            name,
        )
    if not finite:
        raise AudioInputError("the audio has NaN or infinite samples", name)


def model_windows(model, window_seconds=None, overlap_seconds=None):
    """The windows of a call in seconds: those it asks for, else the
    model's (its ``window_seconds`` and ``overlap_seconds``).

    Arguments
    ---------
    model : object
        A classifier (``GEmoCLAP``, ``EmotionClassifierONNX``).
    window_seconds : float, optional
        The call's window (None: the model's; ``0`` never splits).
    overlap_seconds : float, optional
        The call's overlap (None: the model's).

    Returns
    -------
    tuple
        ``(window_seconds, overlap_seconds)``.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(window_seconds=20.0, overlap_seconds=2.0)
    >>> model_windows(model), model_windows(model, 8.0)
    ((20.0, 2.0), (8.0, 2.0))
    """
    if window_seconds is None:
        window_seconds = getattr(model, "window_seconds", None)
    if overlap_seconds is None:
        overlap_seconds = getattr(model, "overlap_seconds", None)
    return window_seconds, overlap_seconds


def window_bounds(num_samples, window, overlap):
    """Start and end samples of the analysis windows of a long signal.

    Windows of ``window`` samples start every ``window - overlap`` samples;
    the last one is moved back to end at the end of the signal, so every
    window is full length. A signal no longer than ``window`` is one window.

    Arguments
    ---------
    num_samples : int
        Length of the signal.
    window : int
        Window length in samples.
    overlap : int
        Overlap of consecutive windows in samples (``< window``).

    Returns
    -------
    list of tuple
        ``(start, end)`` pairs covering the signal.

    Example
    -------
    >>> window_bounds(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    >>> window_bounds(11, 4, 1)
    [(0, 4), (3, 7), (6, 10), (7, 11)]
    >>> window_bounds(3, 4, 1)
    [(0, 3)]
    """
    if window <= 0 or not 0 <= overlap < window:
        raise ValueError(
            f"need 0 <= overlap < window, got window={window}, "
            f"overlap={overlap}"
        )
    if num_samples <= window:
        return [(0, num_samples)]
    starts = list(range(0, num_samples - window, window - overlap))
    return [(s, s + window) for s in starts + [num_samples - window]]


def window_samples(window_seconds, overlap_seconds, sample_rate, min_samples):
    """Window and overlap lengths in samples, checked.

    Arguments
    ---------
    window_seconds : float or None
        Window length in seconds; ``None`` or ``<= 0`` never splits.
    overlap_seconds : float or None
        Overlap of consecutive windows in seconds (``None``: 0).
    sample_rate : int
        Samples per second.
    min_samples : int
        The model's receptive field: a shorter window makes no frame.

    Returns
    -------
    tuple of int
        ``(window, overlap)`` in samples; ``(0, 0)`` when long audio is
        not split.

    Raises
    ------
    ValueError
        A window shorter than ``min_samples``, or an overlap that is
        negative or not shorter than the window.

    Example
    -------
    >>> window_samples(20.0, 2.0, 16000, 400)
    (320000, 32000)
    >>> window_samples(0, 2.0, 16000, 400)
    (0, 0)
    >>> window_samples(0.01, 0.0, 16000, 400)
    Traceback (most recent call last):
    ...
    ValueError: need window_seconds of at least 400 samples (0.025 s) ...
    """
    if window_seconds is None or window_seconds <= 0:
        return 0, 0
    window = int(round(window_seconds * sample_rate))
    overlap = int(round((overlap_seconds or 0.0) * sample_rate))
    if window < min_samples or not 0 <= overlap < window:
        raise ValueError(
            f"need window_seconds of at least {min_samples} samples "
            f"({min_samples / sample_rate:g} s) and 0 <= overlap_seconds < "
            f"window_seconds, got window_seconds={window_seconds}, "
            f"overlap_seconds={overlap_seconds}"
        )
    return window, overlap
