"""Channels of a recording as roles, and the cross-talk rule.

Call recorders write one party per channel (agent on one, customer on the
other). ``infer --timeline --channels agent,customer`` analyses each
channel on its own; this module holds what that needs and nothing that
reads files, so that a streaming engine applies the very same rule frame
by frame:

* ``parse_channels`` / ``channel_names``: the names of the channels (one
  per channel, in channel order; ``split`` names them ``ch1``, ``ch2``,
  ...), and ``ChannelCountError`` for a recording whose channel count
  differs from the names.
* ``frame_levels``: the level (dB) of each frame of each channel.
* ``crosstalk_frames`` (a whole recording) and ``CrosstalkGate`` (frame
  by frame, for a live stream): the cross-talk rule.

The cross-talk rule. Each channel also carries the other party faintly
(echo, bleed between headsets, a hybrid's leak). A frame of a channel is
cross-talk, and is not attributed to that channel's speaker, when another
channel is more than ``crosstalk_db`` (default 10 dB) louder in that frame
or in the ``echo_seconds`` before it (default 0.1 s: a delayed echo is
still matched to the speech it repeats). Levels are frame energies in dB
(``frame_levels``), so a 0 dBFS and a -6 dBFS channel compare as they are
recorded. The rule is causal and frame-local: a frame's decision depends
on the levels of all channels in that frame and the ``echo_seconds``
before it, nothing later. When both parties talk at once, each channel's
own voice is louder there than the other's bleed, so neither is cross-talk
as long as the two are within ``crosstalk_db`` of each other. Bleed at
-20 dB is cross-talk with the default; bleed louder than ``-crosstalk_db``
is not (lower ``--crosstalk_db`` for leaky lines; a party recorded much
quieter than the other needs a higher one).

Authors
 * speechbrain-gemo developers 2026
"""

import numpy as np

CROSSTALK_DB = 10.0
ECHO_SECONDS = 0.1
SPLIT = "split"
# The level of a frame of zeros: 1e-12 below full scale's mean square
LEVEL_FLOOR = 1e-12


class ChannelCountError(ValueError):
    """A recording whose channel count differs from the channel names.

    Arguments
    ---------
    path : str
        The recording.
    channels : int
        Its channel count.
    names : list of str
        The names given (one per channel).

    Example
    -------
    >>> str(ChannelCountError("call.wav", 1, ["agent", "customer"]))
    'call.wav has 1 channel but 2 channel names were given (agent, customer)'
    """

    def __init__(self, path, channels, names):
        self.path = str(path)
        self.channels = channels
        self.names = list(names)
        plural = "" if channels == 1 else "s"
        super().__init__(
            f"{path} has {channels} channel{plural} but {len(self.names)} "
            f"channel names were given ({', '.join(self.names)})"
        )


def parse_channels(text):
    """The channel names of ``--channels``: names separated by commas (one
    per channel, in channel order), or ``split``.

    Arguments
    ---------
    text : str
        E.g. ``agent,customer`` or ``split``.

    Returns
    -------
    list of str or str
        The names, or ``SPLIT`` (``ch1``, ``ch2``, ... for as many channels
        as each recording has).

    Example
    -------
    >>> parse_channels(" agent , customer ")
    ['agent', 'customer']
    >>> parse_channels("split")
    'split'
    >>> parse_channels("agent,agent")
    Traceback (most recent call last):
    ...
    ValueError: channel names must differ, got 'agent,agent'
    """
    if text.strip() == SPLIT:
        return SPLIT
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise ValueError(
            f"channel names must not be empty, got {text!r} (one name per "
            "channel, in channel order, e.g. agent,customer; or split)"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"channel names must differ, got {text!r}")
    return names


def channel_names(spec, channels, path="the recording"):
    """The names of the channels of one recording.

    Arguments
    ---------
    spec : list of str or str
        As ``parse_channels`` returns it.
    channels : int
        The recording's channel count.
    path : str
        The recording, for the error.

    Returns
    -------
    list of str
        One name per channel, in channel order.

    Raises
    ------
    ChannelCountError
        When ``spec`` names another number of channels.

    Example
    -------
    >>> channel_names("split", 2)
    ['ch1', 'ch2']
    >>> channel_names(["agent", "customer"], 2)
    ['agent', 'customer']
    >>> try:
    ...     channel_names(["agent", "customer"], 1, "a.wav")
    ... except ChannelCountError as err:
    ...     print(err)
    a.wav has 1 channel but 2 channel names were given (agent, customer)
    """
    if spec == SPLIT:
        return [f"ch{k + 1}" for k in range(channels)]
    if len(spec) != channels:
        raise ChannelCountError(path, channels, spec)
    return list(spec)


def frame_levels(frames):
    """The level of frames: their mean square in dB (0 dB: a full-scale
    square wave; digital silence: -120 dB).

    Arguments
    ---------
    frames : numpy.ndarray
        ``... x frame_length`` samples (e.g. ``channels x frames x
        frame_length``).

    Returns
    -------
    numpy.ndarray
        ``...`` levels in dB (float64).

    Example
    -------
    >>> frame_levels(np.array([[0.1, -0.1], [0.0, 0.0]]))
    array([ -20., -120.])
    """
    power = np.mean(np.square(np.asarray(frames, dtype=np.float64)), axis=-1)
    return 10.0 * np.log10(power + LEVEL_FLOOR)


def echo_frames(echo_seconds, frame_seconds):
    """How many past frames the rule looks back (``echo_seconds`` in
    frames, rounded up).

    Arguments
    ---------
    echo_seconds : float
        The past context of the rule, in seconds.
    frame_seconds : float
        The frame hop, in seconds.

    Returns
    -------
    int
        Frames.

    Example
    -------
    >>> echo_frames(0.1, 0.02), echo_frames(0.1, 0.032), echo_frames(0, 0.02)
    (5, 4, 0)
    """
    if echo_seconds < 0 or frame_seconds <= 0:
        raise ValueError(
            "need echo_seconds >= 0 and frame_seconds > 0, got "
            f"{echo_seconds}, {frame_seconds}"
        )
    return int(np.ceil(echo_seconds / frame_seconds - 1e-9))


def crosstalk_frames(levels, crosstalk_db=CROSSTALK_DB, echo=0):
    """The cross-talk rule over a whole recording (see the module
    docstring): frame ``t`` of channel ``c`` is cross-talk when another
    channel's level, in frame ``t`` or in the ``echo`` frames before it,
    is more than ``crosstalk_db`` above the level of ``c`` in frame ``t``.

    Arguments
    ---------
    levels : numpy.ndarray
        ``frames x channels`` levels in dB (``frame_levels``).
    crosstalk_db : float
        The threshold in dB (> 0).
    echo : int
        Past frames that count too (``echo_frames``).

    Returns
    -------
    numpy.ndarray
        ``frames x channels`` bool: True where the frame is cross-talk.

    Example
    -------
    >>> levels = np.array([[-20.0, -40.0],   # A talks, B carries bleed
    ...                    [-90.0, -42.0],   # B carries A's echo
    ...                    [-25.0, -22.0],   # both talk
    ...                    [-90.0, -30.0],   # B talks
    ...                    [-90.0, -90.0]])  # silence
    >>> crosstalk_frames(levels).tolist()
    [[False, True], [True, False], [False, False], [True, False],
     [False, False]]
    >>> crosstalk_frames(levels, echo=1)[1].tolist()  # A 22 dB louder before
    [True, True]
    """
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 2:
        raise ValueError(
            f"levels must be frames x channels, got shape {levels.shape}"
        )
    if not crosstalk_db > 0:
        raise ValueError(f"crosstalk_db must be > 0, got {crosstalk_db}")
    count, channels = levels.shape
    if channels < 2 or not count:
        return np.zeros(levels.shape, dtype=bool)
    # Loudest level of each channel over the frame and the echo before it
    recent = levels.copy()
    for lag in range(1, min(echo, count - 1) + 1):
        np.maximum(recent[lag:], levels[:-lag], out=recent[lag:])
    crosstalk = np.zeros(levels.shape, dtype=bool)
    for c in range(channels):
        others = np.delete(recent, c, axis=1).max(axis=1)
        crosstalk[:, c] = others > levels[:, c] + crosstalk_db
    return crosstalk


class CrosstalkGate:
    """The cross-talk rule frame by frame, for a live stream: the same
    decisions as ``crosstalk_frames`` on the whole recording, holding only
    the last ``echo`` frames.

    Arguments
    ---------
    channels : int
        The channel count.
    crosstalk_db : float
        The threshold in dB (> 0).
    echo : int
        Past frames that count too (``echo_frames``).

    Example
    -------
    >>> gate = CrosstalkGate(2)
    >>> gate([-20.0, -40.0]).tolist(), gate([-25.0, -22.0]).tolist()
    ([False, True], [False, False])
    """

    def __init__(self, channels, crosstalk_db=CROSSTALK_DB, echo=0):
        if not crosstalk_db > 0:
            raise ValueError(f"crosstalk_db must be > 0, got {crosstalk_db}")
        self.channels = int(channels)
        self.crosstalk_db = float(crosstalk_db)
        self.echo = int(echo)
        self._past = []

    def __call__(self, levels):
        """Decides one frame.

        Arguments
        ---------
        levels : sequence of float
            The frame's level (dB) on each channel.

        Returns
        -------
        numpy.ndarray
            One bool per channel: True where the frame is cross-talk.
        """
        levels = np.asarray(levels, dtype=np.float64).reshape(-1)
        if len(levels) != self.channels:
            raise ValueError(
                f"expected {self.channels} channel levels, got {len(levels)}"
            )
        self._past.append(levels)
        if len(self._past) > self.echo + 1:
            self._past.pop(0)
        if self.channels < 2:
            return np.zeros(1, dtype=bool)
        recent = np.max(self._past, axis=0)
        crosstalk = np.zeros(self.channels, dtype=bool)
        for c in range(self.channels):
            others = np.delete(recent, c).max()
            crosstalk[c] = others > levels[c] + self.crosstalk_db
        return crosstalk

    def reset(self):
        """Forgets the past frames (a new call)."""
        self._past = []


def attributed(active, levels, crosstalk_db=CROSSTALK_DB, echo=0):
    """Voice activity per channel with cross-talk taken out: the frames
    each channel's speaker is credited with.

    Arguments
    ---------
    active : numpy.ndarray
        ``frames x channels`` bool (or speech probabilities: cross-talk
        frames become 0).
    levels : numpy.ndarray
        ``frames x channels`` levels in dB, on the same frames.
    crosstalk_db : float
        The threshold in dB.
    echo : int
        Past frames that count too (``echo_frames``).

    Returns
    -------
    numpy.ndarray
        ``active`` where the frame is not cross-talk, else False (0).

    Example
    -------
    >>> active = np.array([[True, True], [True, True]])
    >>> levels = np.array([[-20.0, -40.0], [-25.0, -22.0]])
    >>> attributed(active, levels).tolist()
    [[True, False], [True, True]]
    """
    active = np.asarray(active)
    if active.shape != np.shape(levels):
        raise ValueError(
            f"activity {active.shape} and levels {np.shape(levels)} must "
            "have the same frames x channels"
        )
    crosstalk = crosstalk_frames(levels, crosstalk_db, echo)
    return np.where(crosstalk, np.zeros_like(active), active)
