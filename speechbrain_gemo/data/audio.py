"""Reading the recipe's audio: clear errors for files that went missing
after preparation, mixing down and resampling to the model's format (with
``speechbrain_gemo.audio_format``, as both inference backends do), and
random crops that bound the memory of a batch.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import random

import soundfile
import torch
from speechbrain.dataio.dataio import read_audio

from speechbrain_gemo.audio_format import to_mono_at


def read_utterance(wav, utt_id, sample_rate=None):
    """Reads one utterance of a prepared manifest.

    A file that disappeared or became unreadable after preparation stops the
    run with an error naming it: training data is never skipped silently.

    Arguments
    ---------
    wav : str
        The audio file.
    utt_id : str
        The utterance id, for the error message.
    sample_rate : int, optional
        When given, the waveform is mixed down to mono (the mean of its
        channels) and resampled to this rate, whatever the file's format
        (RAVDESS is 48 kHz and partly stereo; a user's files can be
        anything: 8 kHz mu-law, A-law or GSM telephone audio, FLAC...),
        exactly as the inference readers do
        (``speechbrain_gemo.audio_format.to_mono_at``). When None, the file
        is returned as stored.

    Returns
    -------
    torch.Tensor
        The waveform, ``(samples,)`` for mono files or with
        ``sample_rate``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    RuntimeError
        If it cannot be read as audio.

    Example
    -------
    >>> try:
    ...     read_utterance("/nonexistent/a.wav", "Ses01F_impro01_F000")
    ... except FileNotFoundError as err:
    ...     print(str(err)[:62])
    Audio file missing: /nonexistent/a.wav (utterance Ses01F_impro
    >>> import tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo.wav")
    >>> soundfile.write(path, np.zeros((4800, 2)), 48000)
    >>> read_utterance(path, "u1", sample_rate=16000).shape
    torch.Size([1600])
    """
    if not os.path.isfile(wav):
        raise FileNotFoundError(
            f"Audio file missing: {wav} (utterance {utt_id}): the corpus "
            "changed after data preparation; restore the file or prepare "
            "the data again"
        )
    try:
        if sample_rate is None:
            return read_audio(wav)
        sig, file_rate = soundfile.read(wav, dtype="float32", always_2d=True)
        return torch.from_numpy(to_mono_at(sig, file_rate, sample_rate))
    except Exception as err:
        raise RuntimeError(
            f"Audio file unreadable: {wav} (utterance {utt_id}): {err}"
        ) from err


def random_crop(sig, max_samples, rng=random):
    """A random window of ``max_samples`` samples of a longer signal.

    Arguments
    ---------
    sig : torch.Tensor
        A waveform, time first.
    max_samples : int or None
        The longest signal kept whole; None keeps every signal whole.
    rng : random.Random
        Where the window's start is drawn (default: the ``random`` module,
        seeded by the recipe's seed).

    Returns
    -------
    torch.Tensor
        ``sig`` itself if it is not longer than ``max_samples``, else a view
        of ``max_samples`` samples.

    Example
    -------
    >>> import torch
    >>> sig = torch.arange(10)
    >>> random_crop(sig, 4, random.Random(0)).tolist()
    [6, 7, 8, 9]
    >>> random_crop(sig, 20).tolist() == sig.tolist()
    True
    """
    if max_samples is None or len(sig) <= max_samples:
        return sig
    start = rng.randint(0, len(sig) - max_samples)
    return sig[start : start + max_samples]
