"""Reading long recordings piece by piece, so that memory does not grow
with their length: headers, blocks for a detector, and single spans.

Everything returns mono float32 torch tensors at the asked rate, made by
``speechbrain_gemo.audio_format`` (channels' mean, soxr), as every reader
of the project makes them.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import tempfile

import numpy as np  # noqa: F401 (the examples use it)
import torch

from speechbrain_gemo.audio_format import to_mono_at


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

    from speechbrain_gemo.io import fs_path

    if not os.path.isfile(path):
        raise AudioReadError(path, f"no such file: {os.path.abspath(path)}")
    try:
        handle = soundfile.SoundFile(fs_path(path))
    except Exception as err:
        raise AudioReadError(
            path, f"cannot read audio ({type(err).__name__}: {_short(err)})"
        ) from err
    if not handle.samplerate:
        handle.close()
        raise AudioReadError(path, "cannot read audio (no sample rate)")
    return handle


def read_blocks(handle, frames):
    """Yields an open file's samples in consecutive blocks, without seeking
    (soundfile's own ``blocks`` seeks, which libsndfile refuses for GSM
    06.10 WAV files).

    Arguments
    ---------
    handle : soundfile.SoundFile
        As ``open_audio`` returns it.
    frames : int
        Frames per block (the last block may be shorter).

    Yields
    ------
    numpy.ndarray
        ``frames x channels`` float32 samples.

    Example
    -------
    >>> import tempfile, soundfile
    >>> gsm = os.path.join(tempfile.mkdtemp(), "call.wav")
    >>> soundfile.write(gsm, np.zeros(800), 8000, subtype="GSM610")
    >>> with open_audio(gsm) as f:
    ...     sizes = [block.shape[0] for block in read_blocks(f, 500)]
    ...     sizes[:2], sum(sizes) == f.frames
    ([500, 500], True)
    """
    while True:
        block = handle.read(frames, dtype="float32", always_2d=True)
        if not len(block):
            return
        yield block


def open_seekable(path):
    """Opens an audio file for reading spans by seeking (``read_from``).

    libsndfile cannot seek in some formats (GSM 06.10 WAV, the codec of
    many telephone recordings): such a file is first decoded, block by
    block, into a temporary float32 WAV file, which is opened instead and
    removed from the file system at once (it disappears when closed).
    Memory stays bounded; the temporary file takes 4 bytes per sample and
    channel (115 MB per hour of 8 kHz mono).

    Arguments
    ---------
    path : str
        The file.

    Returns
    -------
    soundfile.SoundFile
        A seekable open file with the same samples (use it as a context
        manager).

    Example
    -------
    >>> import tempfile, soundfile
    >>> gsm = os.path.join(tempfile.mkdtemp(), "call.wav")
    >>> soundfile.write(gsm, np.zeros(8000), 8000, subtype="GSM610")
    >>> with open_audio(gsm) as f:
    ...     f.seekable()
    False
    >>> with open_seekable(gsm) as f:
    ...     f.seekable(), f.samplerate, f.frames >= 8000
    (True, 8000, True)
    """
    import soundfile

    handle = open_audio(path)
    if handle.seekable():
        return handle
    with handle:
        fd, copy = tempfile.mkstemp(prefix="gemo_seekable_", suffix=".wav")
        os.close(fd)
        try:
            with soundfile.SoundFile(
                copy,
                "w",
                samplerate=handle.samplerate,
                channels=handle.channels,
                subtype="FLOAT",
                format="WAV",
            ) as out:
                for block in read_blocks(handle, 65536):
                    out.write(block)
            return soundfile.SoundFile(copy)
        except Exception as err:
            raise AudioReadError(
                path,
                f"cannot read audio ({type(err).__name__}: {_short(err)})",
            ) from err
        finally:
            os.remove(copy)


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


def to_mono(block, orig_freq, new_freq):
    """The channels' mean at ``new_freq``, as a torch tensor: the PyTorch
    side's door to ``speechbrain_gemo.audio_format.to_mono_at``, the one
    resampler of every reader (files of ``GEmoCLAP.load_audio``, timeline
    segments and detector blocks, for either backend; the ONNX backend
    calls it directly), so both backends give their networks the same
    samples.

    Arguments
    ---------
    block : numpy.ndarray or torch.Tensor
        ``T`` or ``T x C`` samples (a tensor's result goes to its device).
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
    device = None
    if torch.is_tensor(block):
        device = block.device
        block = block.detach().float().cpu().numpy()
    signal = torch.from_numpy(to_mono_at(block, orig_freq, new_freq))
    return signal if device is None else signal.to(device)


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
    with open_seekable(path) as f:
        return read_from(f, start, end, sample_rate, name=path)


def read_from(handle, start, end, sample_rate, name=None, channel=None):
    """Reads ``[start, end)`` seconds from an open file (see ``read_span``).

    Arguments
    ---------
    handle : soundfile.SoundFile
        As ``open_seekable`` returns it.
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
        for block in read_blocks(f, frames):
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
