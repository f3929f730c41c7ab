"""Reading the recipe's audio: clear errors for files that went missing
after preparation, mixing down and resampling to the model's format (with
``speechbrain_gemo.audio_format``, as both inference backends do), and
random crops that bound the memory of a batch.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import random

import numpy as np
import soundfile
import torch
from speechbrain.dataio.dataio import read_audio

from speechbrain_gemo.audio_format import to_mono_at
from speechbrain_gemo.io import fs_path


def read_utterance(wav, utt_id, sample_rate=None):
    """Reads one utterance of a prepared manifest: a whole file, or a
    stretch of one (SpeechBrain's dict form of ``wav``, as its
    ``read_audio`` reads it, with a ``channel`` added).

    A stretch is read by seeking to it (soundfile's ``start`` and
    ``frames``): the rest of a long recording is not read. A file that
    disappeared, became unreadable or shorter than the stretch after
    preparation, or lacks the stretch's channel, stops the run with an
    error naming it: training data is never skipped silently.

    Arguments
    ---------
    wav : str or dict
        The audio file, or ``{"file", "start", "stop", "channel"}``: the
        samples ``start`` to ``stop`` (exclusive, at the file's rate) of
        ``file``, of its 1-based ``channel`` (None or absent: all).
    utt_id : str
        The utterance id, for the error message.
    sample_rate : int, optional
        When given, the waveform is mixed down to mono (the mean of its
        channels; the one channel of a stretch that names it) and
        resampled to this rate, whatever the file's format (RAVDESS is
        48 kHz and partly stereo; a user's files can be anything: 8 kHz
        mu-law, A-law or GSM telephone audio, FLAC...), exactly as the
        inference readers do (``speechbrain_gemo.audio_format.to_mono_at``).
        When None, the file is returned as stored.

    Returns
    -------
    torch.Tensor
        The waveform, ``(samples,)`` for mono files, one channel or with
        ``sample_rate``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    RuntimeError
        If it cannot be read as audio, or is shorter than the stretch.

    Example
    -------
    >>> try:
    ...     read_utterance("/nonexistent/a.wav", "Ses01F_impro01_F000")
    ... except FileNotFoundError as err:
    ...     print(str(err)[:62])
    Audio file missing: /nonexistent/a.wav (utterance Ses01F_impro
    >>> import tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo.wav")
    >>> stereo = np.stack([np.zeros(4800), 0.5 * np.ones(4800)], axis=1)
    >>> soundfile.write(path, stereo, 48000)
    >>> read_utterance(path, "u1", sample_rate=16000).shape
    torch.Size([1600])
    >>> right = {"file": path, "start": 480, "stop": 960, "channel": 2}
    >>> sig = read_utterance(right, "u1@0.01-0.02:ch2")
    >>> sig.shape, sig.min().item()
    (torch.Size([480]), 0.5)
    """
    stretch = wav if isinstance(wav, dict) else {"file": wav}
    path = stretch["file"]
    start, stop = stretch.get("start", 0), stretch.get("stop")
    channel = stretch.get("channel")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Audio file missing: {path} (utterance {utt_id}): the corpus "
            "changed after data preparation; restore the file or prepare "
            "the data again"
        )
    try:
        if sample_rate is None and channel is None:
            # SpeechBrain's reader, dict form for a stretch
            sig = read_audio(wav)
        else:
            # soundfile seeks to ``start``: the rest is not read
            sig, file_rate = soundfile.read(
                fs_path(path),
                start=start,
                frames=-1 if stop is None else stop - start,
                dtype="float32",
                always_2d=True,
            )
            if channel is not None:
                if channel > sig.shape[1]:
                    raise ValueError(
                        f"it has {sig.shape[1]} channel(s), not {channel}"
                    )
                sig = sig[:, channel - 1 : channel]
            if sample_rate is None:
                sig = torch.from_numpy(np.ascontiguousarray(sig[:, 0]))
    except Exception as err:
        raise RuntimeError(
            f"Audio file unreadable: {path} (utterance {utt_id}): {err}"
        ) from err
    if stop is not None and len(sig) < stop - start:
        raise RuntimeError(
            f"Audio file shorter than its stretch: {path} (utterance "
            f"{utt_id}) ends before sample {stop}: the corpus changed after "
            "data preparation; prepare the data again"
        )
    if sample_rate is None:
        return sig
    return torch.from_numpy(to_mono_at(sig, file_rate, sample_rate))


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
