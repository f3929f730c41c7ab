"""Reading long recordings piece by piece, so that memory does not grow
with their length: headers, blocks for a detector, and single spans.

Everything returns mono float32 torch tensors (channels averaged), as
SpeechBrain's ``AudioNormalizer`` does for whole files.

Authors
 * speechbrain-gemo developers 2026
"""

import functools
import os

import numpy as np
import torch


class AudioReadError(ValueError):
    """An audio file that cannot be read; the message names the file.

    Arguments
    ---------
    path : str
        The file.
    reason : str
        What is wrong.

    Example
    -------
    >>> str(AudioReadError("a.wav", "no such file"))
    'a.wav: no such file'
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _short(err):
    """The first line of an exception's message, at most 200 characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= 200 else text[:200] + "..."


def open_audio(path):
    """Opens an audio file for reading in blocks.

    Arguments
    ---------
    path : str
        The file (anything libsndfile reads: wav, flac, ogg, mp3).

    Returns
    -------
    soundfile.SoundFile
        The open file (use it as a context manager).

    Example
    -------
    >>> import tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, np.zeros(800), 8000)
    >>> with open_audio(wav) as f:
    ...     f.samplerate, f.frames
    (8000, 800)
    """
    import soundfile

    if not os.path.isfile(path):
        raise AudioReadError(path, "no such file")
    try:
        handle = soundfile.SoundFile(path)
    except Exception as err:
        raise AudioReadError(
            path, f"cannot read audio ({type(err).__name__}: {_short(err)})"
        ) from err
    if not handle.samplerate:
        handle.close()
        raise AudioReadError(path, "cannot read audio (no sample rate)")
    return handle


def audio_duration(path):
    """Duration in seconds, from the header.

    Arguments
    ---------
    path : str
        The file.

    Returns
    -------
    float
        Seconds.

    Example
    -------
    >>> import tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, np.zeros(8000), 16000)
    >>> audio_duration(wav)
    0.5
    """
    with open_audio(path) as f:
        return f.frames / f.samplerate


@functools.lru_cache(maxsize=16)
def _normalizer(sample_rate, device):
    """SpeechBrain's normaliser (what ``Pretrained.load_audio`` applies),
    one per target rate so that its resampling filters are reused, and
    per device, since its resamplers move to the device of their input."""
    from speechbrain.dataio.preprocess import AudioNormalizer

    return AudioNormalizer(sample_rate=int(sample_rate))


def to_mono(block, orig_freq, new_freq):
    """Resamples and averages the channels with SpeechBrain's
    ``AudioNormalizer`` (torchaudio), as ``Pretrained.load_audio`` does:
    the PyTorch side's resampling, the one place it happens (files of
    ``GEmoCLAP.load_audio``, timeline segments and detector blocks, for
    either backend). The ONNX backend resamples files with soxr
    (``speechbrain_gemo.onnx_runtime.resample``).

    Arguments
    ---------
    block : numpy.ndarray or torch.Tensor
        ``T`` or ``T x C`` samples (a tensor stays on its device).
    orig_freq : int
        Their sample rate.
    new_freq : int
        The wanted sample rate.

    Returns
    -------
    torch.Tensor
        ``T'`` float32 samples at ``new_freq``.

    Example
    -------
    >>> to_mono(np.ones((4, 2)), 8000, 8000)
    tensor([1., 1., 1., 1.])
    >>> len(to_mono(np.zeros(8000), 8000, 16000))
    16000
    """
    if torch.is_tensor(block):
        signal = block.float()
    else:
        signal = torch.as_tensor(np.asarray(block, dtype=np.float32))
    if not len(signal):
        return signal.reshape(0)
    normalizer = _normalizer(new_freq, str(signal.device))
    return normalizer(signal, int(orig_freq)).float()


def read_span(path, start, end, sample_rate):
    """Reads ``[start, end)`` seconds of a file, seeking to it.

    Arguments
    ---------
    path : str
        The file.
    start : float
        Start in seconds.
    end : float
        End in seconds (clipped to the file).
    sample_rate : int
        The sample rate to return.

    Returns
    -------
    torch.Tensor
        Mono float32 samples at ``sample_rate``.

    Example
    -------
    >>> import tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, np.arange(16000) / 16000, 16000)
    >>> span = read_span(wav, 0.25, 0.5, 16000)
    >>> len(span), round(float(span[0]), 4)
    (4000, 0.25)
    """
    with open_audio(path) as f:
        return read_from(f, start, end, sample_rate, name=path)


def read_from(handle, start, end, sample_rate, name=None, channel=None):
    """Reads ``[start, end)`` seconds from an open file (see ``read_span``).

    Arguments
    ---------
    handle : soundfile.SoundFile
        As ``open_audio`` returns it.
    start : float
        Start in seconds.
    end : float
        End in seconds (clipped to the file).
    sample_rate : int
        The sample rate to return.
    name : str, optional
        The file name for errors (default: the handle's).
    channel : int, optional
        Read this channel only (0-based); None: the channels' average.

    Returns
    -------
    torch.Tensor
        Mono float32 samples at ``sample_rate``.

    Example
    -------
    >>> import tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, np.zeros(16000), 16000)
    >>> with open_audio(wav) as f:
    ...     [len(read_from(f, t, t + 0.5, 8000)) for t in (0.0, 0.5)]
    [4000, 4000]
    >>> stereo = np.stack([np.zeros(800), np.full(800, 0.5)], axis=1)
    >>> soundfile.write(wav, stereo, 8000)
    >>> with open_audio(wav) as f:
    ...     [float(read_from(f, 0, 0.1, 8000, channel=c)[0]) for c in (0, 1)]
    [0.0, 0.5]
    """
    if channel is not None and not 0 <= channel < handle.channels:
        raise AudioReadError(
            name or handle.name,
            f"has {handle.channels} channels, no channel {channel + 1}",
        )
    rate = handle.samplerate
    first = int(round(start * rate))
    last = min(int(round(end * rate)), handle.frames)
    if first >= last:
        raise AudioReadError(
            name or handle.name,
            f"the span {start:.3f}-{end:.3f} s is outside the audio",
        )
    handle.seek(first)
    block = handle.read(last - first, dtype="float32", always_2d=True)
    if channel is not None:
        block = block[:, channel]
    return to_mono(block, rate, sample_rate)


def iter_blocks(path, sample_rate, block_seconds=30.0, channels=False):
    """Yields a file as consecutive mono blocks at ``sample_rate``.

    Each block is resampled on its own; the filter's edge effect at block
    boundaries (a few samples every ``block_seconds``) does not matter to
    a speech detector.

    Arguments
    ---------
    path : str
        The file.
    sample_rate : int
        The sample rate to return.
    block_seconds : float
        Length of a block.
    channels : bool
        Keep the channels apart: each block is ``T x C``, every channel
        resampled on its own (False: the channels' average).

    Yields
    ------
    torch.Tensor
        Float32 samples: ``T``, or ``T x C`` with ``channels``.

    Example
    -------
    >>> import tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, np.zeros(25000), 16000)
    >>> [len(b) for b in iter_blocks(wav, 16000, block_seconds=1.0)]
    [16000, 9000]
    >>> soundfile.write(wav, np.zeros((8000, 2)), 8000)
    >>> [tuple(b.shape) for b in iter_blocks(wav, 16000, channels=True)]
    [(16000, 2)]
    """
    with open_audio(path) as f:
        rate = f.samplerate
        frames = max(1, int(block_seconds * rate))
        for block in f.blocks(blocksize=frames, dtype="float32", always_2d=1):
            if not channels:
                yield to_mono(block, rate, sample_rate)
                continue
            yield torch.stack(
                [
                    to_mono(block[:, c], rate, sample_rate)
                    for c in range(f.channels)
                ],
                dim=1,
            )


def audio_channels(path):
    """The channel count of a file, from its header.

    Arguments
    ---------
    path : str
        The file.

    Returns
    -------
    int
        Channels.

    Example
    -------
    >>> import tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(wav, np.zeros((800, 2)), 8000)
    >>> audio_channels(wav)
    2
    """
    with open_audio(path) as f:
        return f.channels
