"""The one place where audio changes rate and channel count.

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

This module imports numpy and soxr only (no torch).

Authors
 * speechbrain-gemo developers 2026
"""

import numpy as np

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
