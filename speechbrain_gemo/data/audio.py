"""Reading the recipe's audio: clear errors for files that went missing
after preparation, resampling and mixing down to the model's format, and
random crops that bound the memory of a batch.

Authors
 * speechbrain-gemo developers 2026
"""

import functools
import os
import random

from speechbrain.dataio import audio_io
from speechbrain.dataio.dataio import read_audio
from speechbrain.dataio.preprocess import AudioNormalizer


@functools.cache
def audio_normalizer(sample_rate):
    """SpeechBrain's ``AudioNormalizer`` to ``sample_rate``, mono: one per
    rate, so that its resamplers are built once per process.

    Arguments
    ---------
    sample_rate : int
        The target sample rate.

    Returns
    -------
    AudioNormalizer
        Averages the channels and resamples to ``sample_rate``.

    Example
    -------
    >>> audio_normalizer(16000) is audio_normalizer(16000)
    True
    """
    return AudioNormalizer(sample_rate=sample_rate, mix="avg-to-mono")


def read_utterance(wav, utt_id, sample_rate=None):
    """Reads one utterance of a prepared manifest: a whole file, or a
    stretch of one (SpeechBrain's dict form of ``wav``, as its
    ``read_audio`` reads it, with a ``channel`` added).

    A stretch is read by seeking to it (soundfile's ``start`` and
    ``frames``, through SpeechBrain's ``audio_io.load``): the rest of a
    long recording is not read. A file that disappeared, became unreadable
    or shorter than the stretch after preparation stops the run with an
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
        48 kHz and partly stereo; a user's files can be anything). When
        None, the file is returned as stored.

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
    >>> import tempfile, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo.wav")
    >>> stereo = torch.stack([torch.zeros(4800), torch.ones(4800)])
    >>> audio_io.save(path, 0.5 * stereo, 48000)
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
            frames = -1 if stop is None else stop - start
            sig, file_rate = audio_io.load(
                path,
                channels_first=False,
                frame_offset=start,
                num_frames=frames,
            )
            if channel is not None:
                sig = sig[:, channel - 1]
            elif sample_rate is None:
                sig = sig.squeeze(1)
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
    return audio_normalizer(sample_rate)(sig, file_rate)


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
