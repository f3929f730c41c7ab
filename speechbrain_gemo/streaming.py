"""The one streaming engine of emotion over time: audio of a call in, one
window to classify per hop and channel where someone speaks out.

``StreamEngine`` takes a call's audio in pieces of any size, as bytes
(``feed_bytes``: interleaved ``pcm_s16le``, ``mulaw`` or ``alaw`` samples;
a piece may end inside a sample or a frame) or as float samples (``feed``:
``time x channels``), and returns the windows that are complete and hold
speech. The server streams calls through it, and ``infer --timeline
--sliding_window W --hop H`` feeds it the file in blocks
(``file_windows``), so a recording gives the same windows, hence the same
rows, whether it is streamed (in frames of any size, in real time or
faster) or read from disk.

What happens to the audio, in order:

1. **Decoding** (``SampleDecoder``): 16-bit PCM becomes ``value / 32768``;
   G.711 mu-law and A-law go through a table of the 256 codes decoded by
   soundfile (libsndfile), so a stream gives the samples that soundfile
   reads from a WAV file of the same codec. Bytes of an unfinished sample
   or frame wait for the next piece.
2. **Resampling** (``StreamResampler``): each channel to the model's rate
   with soxr's streaming resampler at the quality of every reader of the
   package (``audio_format.QUALITY``); its output does not depend on how
   the input is cut into pieces and equals soxr's whole-signal
   resampling (``audio_format.resample``).
3. **Voice activity** (``StreamVAD``): Silero VAD (its ONNX graph, with
   onnxruntime) on fixed frames of 512
   samples at 16 kHz, each channel with its own recurrent state and
   context carried from frame to frame (causal, so the cut into pieces
   cannot change a decision). A frame quieter than ``silence_db`` (dB
   relative to full scale) is silence without asking the model (digital
   silence, hold): it leaves the channel's state as it was. A frame is
   speech when Silero's probability reaches ``threshold``.
4. **Cross-talk** (``channels.CrosstalkGate``, with two or more
   channels): a frame of a channel is not its speaker's speech when
   another channel is more than ``crosstalk_db`` louder in it or in the
   0.1 s before it (bleed, echo): the rule of ``infer --timeline
   --channels``, frame by frame.
5. **Windows**: window ``k`` spans ``[k * hop, k * hop + window]`` seconds
   (in samples of the model's rate, rounded). A frame belongs to the
   window that holds its centre. A window is classified for a channel
   when at least ``min_speech`` seconds of its frames are speech there.
   When the call stops, audio after the end of the last full window
   gets one more window, ending at the end of the call and ``window``
   long (the whole call when it is shorter), as the windows of long files
   (``audio_windows.window_bounds``).

Memory holds one window of audio per channel plus one hop, whatever the
length of the call.

Authors
 * speechbrain-gemo developers 2026
"""

import functools
import io
import math
from typing import NamedTuple

import numpy as np

from speechbrain_gemo.audio_format import QUALITY
from speechbrain_gemo.channels import (
    CROSSTALK_DB,
    ECHO_SECONDS,
    CrosstalkGate,
    echo_frames,
    frame_levels,
)

ENCODINGS = ("pcm_s16le", "mulaw", "alaw")
BYTES_PER_SAMPLE = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}
VAD_RATE = 16000
VAD_FRAME = 512  # Silero's fixed frame at 16 kHz (32 ms)
DEFAULT_WINDOW = 3.0
DEFAULT_HOP = 1.0


@functools.cache
def codec_table(encoding):
    """The float value of each of the 256 codes of a G.711 codec, as
    soundfile (libsndfile) decodes them.

    Arguments
    ---------
    encoding : str
        ``mulaw`` or ``alaw``.

    Returns
    -------
    numpy.ndarray
        256 float32 values, indexed by code.

    Example
    -------
    >>> table = codec_table("mulaw")
    >>> float(table[0xFF]), float(table[0x00]) < -0.9
    (0.0, True)
    """
    import soundfile

    subtype = {"mulaw": "ULAW", "alaw": "ALAW"}[encoding]
    codes = io.BytesIO(bytes(range(256)))
    table, _ = soundfile.read(
        codes,
        samplerate=8000,
        channels=1,
        format="RAW",
        subtype=subtype,
        dtype="float32",
    )
    return np.ascontiguousarray(table, dtype=np.float32)


class SampleDecoder:
    """Turns interleaved bytes of any piece size into float32 frames.

    Arguments
    ---------
    encoding : str
        One of ``ENCODINGS``.
    channels : int
        Interleaved channels.

    Example
    -------
    >>> decoder = SampleDecoder("pcm_s16le", 2)
    >>> decoder.decode(b"\\x00\\x40\\x00").shape  # half a frame waits
    (0, 2)
    >>> decoder.decode(b"\\xc0\\x00").tolist()
    [[0.5, -0.5]]
    """

    def __init__(self, encoding, channels):
        if encoding not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {encoding!r}: expected one of {ENCODINGS}"
            )
        self.encoding = encoding
        self.channels = int(channels)
        self.frame_bytes = BYTES_PER_SAMPLE[encoding] * self.channels
        self._pending = b""

    @property
    def pending_bytes(self):
        """int: bytes of an unfinished frame, waiting for the next piece."""
        return len(self._pending)

    def decode(self, data):
        """The whole frames of the bytes received so far.

        Arguments
        ---------
        data : bytes
            The next piece of the stream.

        Returns
        -------
        numpy.ndarray
            ``frames x channels`` float32 samples.
        """
        data = self._pending + bytes(data)
        usable = len(data) // self.frame_bytes * self.frame_bytes
        self._pending = data[usable:]
        body = data[:usable]
        if self.encoding == "pcm_s16le":
            values = np.frombuffer(body, dtype="<i2").astype(np.float32)
            values *= np.float32(1.0 / 32768.0)
        else:
            codes = np.frombuffer(body, dtype=np.uint8)
            values = codec_table(self.encoding)[codes]
        return values.reshape(-1, self.channels)


class StreamResampler:
    """Resamples ``time x channels`` pieces with soxr's streaming
    resampler; the concatenated output equals soxr's resampling of the
    whole signal, however it is cut.

    Arguments
    ---------
    in_rate : int
        The rate of the input.
    out_rate : int
        The rate to return.
    channels : int
        The channels.

    Example
    -------
    >>> resampler = StreamResampler(8000, 16000, 1)
    >>> pieces = [resampler(np.zeros((800, 1), np.float32)) for _ in range(5)]
    >>> pieces.append(resampler(np.zeros((0, 1), np.float32), last=True))
    >>> sum(len(p) for p in pieces)
    8000
    """

    def __init__(self, in_rate, out_rate, channels):
        self.in_rate, self.out_rate = int(in_rate), int(out_rate)
        self.channels = int(channels)
        self._stream = None
        if self.in_rate != self.out_rate:
            import soxr

            self._stream = soxr.ResampleStream(
                self.in_rate,
                self.out_rate,
                self.channels,
                dtype="float32",
                quality=QUALITY,
            )

    def __call__(self, block, last=False):
        """The resampled samples available after ``block``.

        Arguments
        ---------
        block : numpy.ndarray
            ``time x channels`` float32 samples (may be empty).
        last : bool
            The end of the signal: flush what the filter holds.

        Returns
        -------
        numpy.ndarray
            ``time x channels`` float32 samples at ``out_rate``.
        """
        block = np.ascontiguousarray(block, dtype=np.float32)
        if self._stream is None:
            return block
        out = self._stream.resample_chunk(block, last=last)
        return np.asarray(out, dtype=np.float32).reshape(-1, self.channels)


@functools.lru_cache(maxsize=1)
def silero_session():
    """Silero VAD's ONNX graph (``silero_vad.onnx``, bundled in the
    silero-vad package) in one onnxruntime session, shared by every
    stream: the caller keeps each channel's state and context, so the
    session holds none, and onnxruntime runs it from several threads.

    Silero's TorchScript model (``speechbrain_gemo.vad``, for the
    segment timelines) has the same weights; its ONNX graph runs a frame
    about four times faster on one core, which counts when every channel
    of every call runs it 31 times a second, and needs no torch.

    Returns
    -------
    onnxruntime.InferenceSession
        Inputs ``input`` (``channels x (64 + 512)``: the frame after 64
        samples of context), ``state`` (``2 x channels x 128``) and
        ``sr``; outputs the probabilities and the next state.

    Example
    -------
    >>> [i.name for i in silero_session().get_inputs()]
    ['input', 'state', 'sr']
    """
    import importlib.resources

    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            "streamed windows run Silero VAD with onnxruntime: pip install "
            "onnxruntime (or the serve extra: pip install "
            "'speechbrain-gemo[serve]')"
        ) from err
    try:
        graph = importlib.resources.files("silero_vad.data").joinpath(
            "silero_vad.onnx"
        )
    except ModuleNotFoundError as err:
        raise ImportError(
            "Silero VAD needs the silero-vad package: pip install --no-deps "
            "silero-vad"
        ) from err
    options = onnxruntime.SessionOptions()
    # Frames are tiny: threads would cost more than they give
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with importlib.resources.as_file(graph) as path:
        return onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )


class StreamVAD:
    """Speech probability per 32 ms frame and channel, computed as the
    samples arrive (see the module docstring).

    Arguments
    ---------
    channels : int
        The channels, each with its own state.
    silence_db : float
        Frames whose level (mean square, dB re full scale) is below this
        are silence (probability 0) without running the network.

    Example
    -------
    >>> vad = StreamVAD(2)
    >>> probs, levels = vad.feed(np.zeros((1000, 2), np.float32))
    >>> probs.shape, float(probs.max()), vad.frames
    ((1, 2), 0.0, 1)
    """

    CONTEXT = 64  # samples of the previous frame the network sees

    def __init__(self, channels, silence_db=-70.0):
        self.channels = int(channels)
        self.silence_db = float(silence_db)
        self._session = silero_session()
        self._state = np.zeros((2, self.channels, 128), np.float32)
        self._context = np.zeros((self.channels, self.CONTEXT), np.float32)
        self._carry = np.zeros((0, self.channels), np.float32)
        self._rate = np.array(VAD_RATE, dtype=np.int64)
        self.frames = 0

    def _frame(self, frame):
        """Probabilities and levels of one frame (``512 x channels``)."""
        x = np.ascontiguousarray(frame.T, dtype=np.float32)
        levels = frame_levels(x)
        probs = np.zeros(self.channels, dtype=np.float32)
        loud = np.flatnonzero(levels >= self.silence_db)
        if len(loud):
            inputs = np.concatenate([self._context[loud], x[loud]], axis=1)
            out, state = self._session.run(
                None,
                {
                    "input": inputs,
                    "state": np.ascontiguousarray(self._state[:, loud]),
                    "sr": self._rate,
                },
            )
            probs[loud] = np.asarray(out).reshape(-1)
            self._state[:, loud] = state
        self._context = x[:, -self.CONTEXT :].copy()
        self.frames += 1
        return probs, levels

    def feed(self, samples, last=False):
        """The frames completed by ``samples``.

        Arguments
        ---------
        samples : numpy.ndarray
            ``time x channels`` float32 at 16 kHz.
        last : bool
            The end of the signal: a partial frame is padded with zeros.

        Returns
        -------
        probs : numpy.ndarray
            ``frames x channels`` speech probabilities.
        levels : numpy.ndarray
            ``frames x channels`` levels in dB re full scale.
        """
        block = (
            np.concatenate([self._carry, samples])
            if len(self._carry)
            else np.asarray(samples, dtype=np.float32)
        )
        usable = len(block) // VAD_FRAME * VAD_FRAME
        if last and usable < len(block):
            pad = np.zeros(
                (usable + VAD_FRAME - len(block), self.channels), np.float32
            )
            block = np.concatenate([block, pad])
            usable = len(block)
        found = [
            self._frame(block[k : k + VAD_FRAME])
            for k in range(0, usable, VAD_FRAME)
        ]
        self._carry = block[usable:].copy()
        probs = np.array([p for p, _ in found], np.float32)
        levels = np.array([lv for _, lv in found], np.float32)
        shape = (len(found), self.channels)
        return probs.reshape(shape), levels.reshape(shape)


class Window(NamedTuple):
    """A window of one channel to classify.

    Arguments
    ---------
    channel : int
        The channel (0-based).
    speaker : str
        Its role.
    start : float
        Start in seconds.
    end : float
        End in seconds.
    samples : numpy.ndarray
        Mono float32 samples at the model's rate.
    """

    channel: int
    speaker: str
    start: float
    end: float
    samples: np.ndarray


def default_roles(channels):
    """The names of channels without roles: ``ch1``, ``ch2`` and so on.

    Arguments
    ---------
    channels : int
        How many.

    Returns
    -------
    list of str
        The names.

    Example
    -------
    >>> default_roles(2)
    ['ch1', 'ch2']
    """
    return [f"ch{i + 1}" for i in range(channels)]


def check_windows(window, hop):
    """Checks a window and hop in seconds.

    Arguments
    ---------
    window : float
        Window length, > 0 and at most 60 s.
    hop : float
        Hop, > 0 and at most the window.

    Raises
    ------
    ValueError
        Naming the values and what is expected.

    Example
    -------
    >>> check_windows(3.0, 1.0)
    >>> check_windows(1.0, 2.0)
    Traceback (most recent call last):
    ...
    ValueError: need 0 < hop <= window <= 60 seconds, got window=1.0, hop=2.0
    """
    ok = all(
        isinstance(v, (int, float)) and math.isfinite(v) for v in (window, hop)
    )
    if not ok or not 0 < hop <= window <= 60:
        raise ValueError(
            "need 0 < hop <= window <= 60 seconds, got "
            f"window={window}, hop={hop}"
        )


class StreamEngine:
    """Windows of a call's channels that hold speech, from its audio in
    pieces of any size (see the module docstring).

    Arguments
    ---------
    sample_rate : int
        The rate of the audio fed in.
    channels : int
        Its channels (interleaved in ``feed_bytes``).
    roles : list of str, optional
        One name per channel (default ``ch1``, ``ch2``, ...).
    window : float
        Window length in seconds.
    hop : float
        Hop between window starts in seconds.
    encoding : str, optional
        Of the bytes of ``feed_bytes`` (one of ``ENCODINGS``).
    model_rate : int
        The model's sample rate (16 kHz: the detector's rate too).
    threshold : float
        Silero speech probability that makes a frame speech.
    min_speech : float
        Seconds of speech frames a window needs to be classified.
    silence_db : float
        Level under which a frame is silence without asking Silero.
    crosstalk_db : float or None
        With two or more channels, speech another channel carries more
        than this louder is cross-talk (``channels.CrosstalkGate``);
        None: no cross-talk rule.

    Example
    -------
    >>> engine = StreamEngine(8000, 2, ["agent", "customer"], 3.0, 1.0,
    ...                       encoding="pcm_s16le")
    >>> engine.feed_bytes(bytes(8000 * 2 * 2 * 5))  # 5 s of silence
    []
    >>> engine.finish(), engine.seconds
    ([], 5.0)
    """

    def __init__(
        self,
        sample_rate,
        channels,
        roles=None,
        window=DEFAULT_WINDOW,
        hop=DEFAULT_HOP,
        encoding=None,
        model_rate=VAD_RATE,
        threshold=0.5,
        min_speech=0.25,
        silence_db=-70.0,
        crosstalk_db=CROSSTALK_DB,
    ):
        channels = int(channels)
        if not 1 <= channels <= 16:
            raise ValueError(f"need 1 to 16 channels, got {channels}")
        roles = list(roles) if roles else default_roles(channels)
        if len(roles) != channels:
            raise ValueError(
                f"{len(roles)} roles {roles} for {channels} channels: give "
                "one role per channel"
            )
        if int(model_rate) != VAD_RATE:
            raise ValueError(
                f"the voice-activity detector runs at {VAD_RATE} Hz; a model "
                f"at {model_rate} Hz cannot share its samples"
            )
        check_windows(window, hop)
        self.roles, self.channels = roles, channels
        self.rate = VAD_RATE
        self.window_seconds, self.hop_seconds = float(window), float(hop)
        self._length = int(round(window * self.rate))
        self.threshold = float(threshold)
        self._min_frames = max(1, math.ceil(min_speech * self.rate / VAD_FRAME))
        self._decoder = SampleDecoder(encoding, channels) if encoding else None
        self._resampler = StreamResampler(sample_rate, self.rate, channels)
        self._vad = StreamVAD(channels, silence_db)
        self._gate = None
        if channels > 1 and crosstalk_db is not None:
            echo = echo_frames(ECHO_SECONDS, VAD_FRAME / VAD_RATE)
            self._gate = CrosstalkGate(channels, crosstalk_db, echo)
        # The samples and frames kept, from absolute positions _base and
        # _frame_base on
        self._audio = np.zeros((0, channels), np.float32)
        self._base = 0
        self._speech = np.zeros((0, channels), bool)
        self._frame_base = 0
        self._next = 0  # the next full window to emit
        self._last_end = 0  # the end of the last full window
        self.input_frames = 0
        self.finished = False

    @property
    def seconds(self):
        """float: seconds of audio fed in so far (at the input's rate)."""
        return self.input_frames / self._resampler.in_rate

    @property
    def pending_bytes(self):
        """int: bytes of an unfinished frame waiting in the decoder."""
        return self._decoder.pending_bytes if self._decoder else 0

    def _start(self, k):
        """The first sample of full window ``k``."""
        return int(round(k * self.hop_seconds * self.rate))

    def feed_bytes(self, data):
        """Feeds encoded bytes (see ``encoding``).

        Arguments
        ---------
        data : bytes
            The next piece of interleaved samples, of any size.

        Returns
        -------
        list of Window
            The windows completed by it.
        """
        if self._decoder is None:
            raise ValueError("this engine was made without an encoding")
        return self.feed(self._decoder.decode(data))

    def feed(self, samples):
        """Feeds float samples.

        Arguments
        ---------
        samples : numpy.ndarray
            ``time x channels`` (or ``time`` for one channel) floats at
            ``sample_rate``.

        Returns
        -------
        list of Window
            The windows completed by them.
        """
        if self.finished:
            raise ValueError("the stream has stopped")
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 1 and self.channels == 1:
            samples = samples[:, None]
        if samples.ndim != 2 or samples.shape[1] != self.channels:
            raise ValueError(
                f"expected time x {self.channels} samples, got shape "
                f"{samples.shape}"
            )
        self.input_frames += len(samples)
        return self._add(self._resampler(samples))

    def finish(self):
        """Ends the stream: flushes the resampler and the detector's last
        partial frame, and cuts the last window (see the module
        docstring).

        Returns
        -------
        list of Window
            The windows left.
        """
        if self.finished:
            return []
        out = self._add(
            self._resampler(np.zeros((0, self.channels), np.float32), True),
            last=True,
        )
        self.finished = True
        total = self._base + len(self._audio)
        if total > self._last_end and total > 0:
            start = max(0, total - self._length)
            out += self._emit(start, total)
        return out

    def _add(self, samples, last=False):
        """Adds samples at the model's rate; returns the full windows now
        complete."""
        probs, levels = self._vad.feed(samples, last=last)
        speech = probs >= self.threshold
        if self._gate is not None:
            for frame in range(len(levels)):
                speech[frame] &= ~self._gate(levels[frame])
        self._speech = np.concatenate([self._speech, speech])
        self._audio = np.concatenate([self._audio, samples])
        total = self._base + len(self._audio)
        frames = self._vad.frames
        out = []
        while True:
            start = self._start(self._next)
            end = start + self._length
            # every frame whose centre is in the window is known
            needed = math.ceil((end - VAD_FRAME // 2) / VAD_FRAME)
            if end > total or frames < needed:
                break
            out += self._emit(start, end)
            self._last_end = end
            self._next += 1
        self._trim(total)
        return out

    def _emit(self, start, end):
        """The windows of ``[start, end)`` (samples) of each channel that
        hold enough speech."""
        first = math.ceil((start - VAD_FRAME // 2) / VAD_FRAME)
        last = math.ceil((end - VAD_FRAME // 2) / VAD_FRAME)
        frames = self._speech[
            max(0, first - self._frame_base) : last - self._frame_base
        ]
        audio = self._audio[start - self._base : end - self._base]
        out = []
        for channel in range(self.channels):
            if frames[:, channel].sum() >= self._min_frames:
                out.append(
                    Window(
                        channel,
                        self.roles[channel],
                        start / self.rate,
                        end / self.rate,
                        np.ascontiguousarray(audio[:, channel]),
                    )
                )
        return out

    def _trim(self, total):
        """Drops audio and frames no later window needs: before the next
        full window and before the last ``window`` of the call (the tail
        window at the stop)."""
        keep = min(self._start(self._next), max(0, total - self._length))
        if keep > self._base:
            self._audio = self._audio[keep - self._base :]
            self._base = keep
        first = max(0, math.ceil((keep - VAD_FRAME // 2) / VAD_FRAME))
        if first > self._frame_base:
            self._speech = self._speech[first - self._frame_base :]
            self._frame_base = first


def file_windows(path, roles=None, mix=False, block_seconds=10.0, **options):
    """Runs a recording through ``StreamEngine`` in blocks, as a stream
    of it would: the offline side of the streamed windows.

    Arguments
    ---------
    path : str or file-like
        The recording (anything soundfile reads; a file-like object, e.g.
        an upload in memory, is read as it is).
    roles : list of str, optional
        One name per channel of the file (its channel count must match).
    mix : bool
        Average the channels into one (speaker None) instead.
    block_seconds : float
        Seconds read at a time.
    **options : dict
        ``window``, ``hop``, ``threshold``, ``min_speech``,
        ``silence_db``, ``crosstalk_db`` of ``StreamEngine``.

    Yields
    ------
    Window
        In the order a stream gives them.

    Example
    -------
    >>> import os, tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "quiet.wav")
    >>> soundfile.write(wav, np.zeros((16000 * 4, 2)), 16000)
    >>> list(file_windows(wav, ["agent", "customer"]))
    []
    """
    from speechbrain_gemo.audio_windows import AudioInputError
    from speechbrain_gemo.blocks import open_audio, read_blocks

    if hasattr(path, "read"):
        import soundfile

        handle = soundfile.SoundFile(path)
    else:
        handle = open_audio(path)
    with handle:
        channels = handle.channels
        if not mix and roles is not None and len(roles) != channels:
            raise AudioInputError(
                f"the file has {channels} channel(s), but {len(roles)} "
                f"channel names were given ({', '.join(roles)})",
                path,
            )
        engine = StreamEngine(
            handle.samplerate,
            1 if mix else channels,
            [None] if mix else roles,
            **options,
        )
        frames = max(1, int(block_seconds * handle.samplerate))
        # read_blocks never seeks (GSM 06.10 WAV files refuse it)
        for block in read_blocks(handle, frames):
            if mix:
                block = block.mean(axis=1, dtype=np.float32)[:, None]
            yield from engine.feed(block)
        yield from engine.finish()
