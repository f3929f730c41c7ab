"""The one place where audio is brought to the model's format: channels
mixed down, rate changed.

Every reader of the project brings audio to the model's format here: the
recipes' training reader, ``GEmoCLAP.load_audio`` (PyTorch), the torch-free
``EmotionClassifierONNX``, the timelines' segments and voice-activity
blocks, and the telephone chain (``speechbrain_gemo.data.telephone``). Both
inference backends therefore hand their networks the same samples for a
file of any rate and channel count, and a model is trained on what it
will be given.

- Channels are mixed down by their mean (``mix_to_mono``), before
  resampling (the two commute; mixing first resamples one channel).
- Rates change with soxr (libsoxr, high quality: ``HQ``), in float32.
  soxr needs only numpy, so the torch-free ONNX runtime uses it too.
- Files are read with soundfile as float32 (``read_audio``): WAV of any
  subtype (PCM, float, G.711 mu-law and A-law, GSM 06.10), FLAC, OGG, MP3.

This module imports numpy, soundfile and soxr only (no torch).

Authors
 * speechbrain-gemo developers 2026
"""

import os

import numpy as np

from speechbrain_gemo.audio_windows import AudioInputError
from speechbrain_gemo.io import fs_path

# soxr's "high quality" setting (its default): 20-bit precision, passband
# to 91.3 % of the lower Nyquist frequency, linear phase
QUALITY = "HQ"


def mix_to_mono(signal):
    """The mean of a signal's channels.

    Arguments
    ---------
    signal : numpy.ndarray
        ``(time,)`` (returned as float32) or ``(time, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` float32 samples.

    Example
    -------
    >>> mix_to_mono(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
    [0.5, 0.5]
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim == 2:
        signal = signal.mean(axis=1, dtype=np.float32)
    elif signal.ndim != 1:
        raise ValueError(
            f"audio of shape {signal.shape}: expected (time,) or "
            "(time, channels)"
        )
    return signal


def resample(signal, orig_freq, new_freq):
    """Resamples with soxr (``QUALITY``), in float32; a signal already at
    ``new_freq`` is returned as it is.

    Arguments
    ---------
    signal : numpy.ndarray
        ``(time,)`` or ``(time, channels)`` samples.
    orig_freq : int
        Their sample rate.
    new_freq : int
        The rate to return.

    Returns
    -------
    numpy.ndarray
        Contiguous float32 samples at ``new_freq``, as many as
        ``round(len(signal) * new_freq / orig_freq)``.

    Example
    -------
    >>> resample(np.zeros(8000, dtype=np.float32), 8000, 16000).shape
    (16000,)
    >>> resample(np.zeros((44100, 2)), 44100, 16000).shape
    (16000, 2)
    """
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    if int(orig_freq) != int(new_freq) and len(signal):
        import soxr

        signal = soxr.resample(signal, int(orig_freq), int(new_freq), QUALITY)
    return np.ascontiguousarray(signal, dtype=np.float32)


def to_mono_at(signal, orig_freq, new_freq):
    """What every reader does to a file's samples: the channels' mean,
    resampled to ``new_freq`` (``mix_to_mono``, then ``resample``).

    Arguments
    ---------
    signal : numpy.ndarray
        ``(time,)`` or ``(time, channels)`` samples.
    orig_freq : int
        Their sample rate.
    new_freq : int
        The model's rate.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` float32 samples at ``new_freq``.

    Example
    -------
    >>> stereo = np.ones((44100, 2), dtype=np.float32)
    >>> to_mono_at(stereo, 44100, 16000).shape
    (16000,)
    """
    return resample(mix_to_mono(signal), orig_freq, new_freq)


def read_audio(path, sample_rate):
    """Reads an audio file as a mono float32 waveform at ``sample_rate``
    (``to_mono_at`` of its samples).

    Arguments
    ---------
    path : str
        Any file soundfile reads, of any sample rate and channel count.
    sample_rate : int
        The rate to return.

    Returns
    -------
    numpy.ndarray
        The waveform, shape ``T``.

    Raises
    ------
    AudioInputError
        Naming the file: missing, unreadable, or without samples.

    Example
    -------
    >>> import soundfile, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> stereo = np.zeros((8000, 2), dtype=np.float32)
    >>> soundfile.write(path, stereo, 8000, subtype="ULAW")
    >>> read_audio(path, 16000).shape
    (16000,)
    >>> try:
    ...     read_audio("/nonexistent.wav", 16000)
    ... except AudioInputError as err:
    ...     print(err)
    /nonexistent.wav: no such file
    """
    import soundfile

    path = str(path)
    if not os.path.isfile(path):
        raise AudioInputError("no such file", path)
    try:
        signal, rate = soundfile.read(
            fs_path(path), dtype="float32", always_2d=True
        )
    except Exception as err:  # libsndfile raises several error types
        reason = " ".join(str(err).split())
        reason = reason if len(reason) <= 200 else reason[:200] + "..."
        raise AudioInputError(
            f"cannot read audio ({type(err).__name__}: {reason})", path
        ) from err
    if signal.size == 0:
        raise AudioInputError("the file has no audio samples", path)
    return to_mono_at(signal, rate, sample_rate)
