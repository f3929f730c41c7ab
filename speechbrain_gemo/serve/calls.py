"""Calls on the server: one ``CallSession`` per streamed call (its engine,
its windows in flight, its rows and events), the publication of each
call's events to its subscribers (``EventHub``), the alignment of
Twilio's separately sent tracks (``TrackAligner``) and what a call leaves
in ``--out_dir`` (``write_call``).

``--out_dir`` holds, per finished call ``<call_id>``:

- ``<call_id>.csv``: its rows, in the format of ``infer --timeline
  --sliding_window`` (``speechbrain_gemo.rows``);
- ``<call_id>_summary.csv``: its summary, one row per role, in the
  format of ``infer --summary`` (``summaries.write_summary``), each window
  standing for the hop around its centre;
- ``<call_id>.json``: the call's facts (source, roles, encoding, rate,
  window, hop, seconds, windows, events, events dropped for a client that
  did not read them, how it ended, start and end times).

Each file is written atomically (a temporary name, then a rename) when
the call ends, by a stop or by its client vanishing.

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import logging
import os
import re
import time

import numpy as np

logger = logging.getLogger("speechbrain_gemo.serve")

CALL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_call_id(call_id):
    """Checks a call id: 1 to 64 letters, digits, ``_``, ``.`` or ``-``,
    not only dots (it names files in ``--out_dir``).

    Arguments
    ---------
    call_id : str
        The id.

    Returns
    -------
    str
        The id.

    Example
    -------
    >>> check_call_id("CA1234")
    'CA1234'
    >>> check_call_id("../etc")
    Traceback (most recent call last):
    ...
    ValueError: call_id '../etc': expected 1 to 64 letters, digits, _, . or -
    """
    if (
        not isinstance(call_id, str)
        or not CALL_ID.match(call_id)
        or set(call_id) == {"."}
    ):
        raise ValueError(
            f"call_id {call_id!r}: expected 1 to 64 letters, digits, _, . or -"
        )
    return call_id


class Subscription:
    """One subscriber's bounded queue of a call's events; when it is
    full, the oldest event is dropped (and counted), so a slow
    subscriber never holds the call back.

    Arguments
    ---------
    size : int
        Most events waiting.

    Example
    -------
    >>> sub = Subscription(2)
    >>> for k in range(3):
    ...     sub.put({"k": k})
    >>> sub.dropped, sub.queue.get_nowait()
    (1, {'k': 1})
    """

    def __init__(self, size):
        self.queue = asyncio.Queue(maxsize=max(1, int(size)))
        self.dropped = 0

    def put(self, event):
        """Queues an event, dropping the oldest when full.

        Arguments
        ---------
        event : dict or None
            The event (None: the call ended).
        """
        while self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventHub:
    """Publishes each call's events to the subscribers of that call id
    (``WebSocket /v1/calls/{call_id}/events``); a subscriber may come
    before the call starts.

    Arguments
    ---------
    queue_size : int
        Events each subscriber may have waiting.

    Example
    -------
    >>> hub = EventHub(8)
    >>> sub = hub.subscribe("c1")
    >>> hub.publish("c1", {"type": "emotion"})
    >>> hub.end("c1")
    >>> sub.queue.get_nowait(), sub.queue.get_nowait()
    ({'type': 'emotion'}, None)
    """

    def __init__(self, queue_size=256):
        self.queue_size = queue_size
        self._subscribers = {}

    @property
    def count(self):
        """int: subscribers of every call."""
        return sum(len(subs) for subs in self._subscribers.values())

    def subscribe(self, call_id):
        """A new subscription to a call's events.

        Arguments
        ---------
        call_id : str
            The call.

        Returns
        -------
        Subscription
            Its queue (``None`` marks the end of the call).
        """
        sub = Subscription(self.queue_size)
        self._subscribers.setdefault(call_id, set()).add(sub)
        return sub

    def unsubscribe(self, call_id, sub):
        """Ends a subscription.

        Arguments
        ---------
        call_id : str
            The call.
        sub : Subscription
            The subscription.
        """
        subs = self._subscribers.get(call_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[call_id]

    def publish(self, call_id, event):
        """Sends an event to the call's subscribers.

        Arguments
        ---------
        call_id : str
            The call.
        event : dict
            The event.
        """
        for sub in self._subscribers.get(call_id, ()):
            sub.put(event)

    def end(self, call_id):
        """Tells the call's subscribers that it ended.

        Arguments
        ---------
        call_id : str
            The call.
        """
        self.publish(call_id, None)


class TrackAligner:
    """Interleaves audio tracks that arrive in separate messages (Twilio
    sends each track's 20 ms on its own) into frames of all channels: a
    track's bytes wait until every other track has as many; a track more
    than ``max_skew`` bytes behind another gets silence, so that one
    silent or missing track never holds the call (nor memory) back. A
    piece's position in its track (Twilio's ``timestamp``, in samples),
    when given, places it: a gap before it (a track that starts late,
    pieces lost on the way) is filled with silence, at most ``max_gap``
    bytes at a time.

    Arguments
    ---------
    tracks : list of str
        The tracks, in channel order.
    silence : int
        The byte of silence (mu-law: 0xFF).
    max_skew : int
        Most bytes one track may be ahead of another.
    max_gap : int
        Most bytes of silence one piece's position may add.

    Example
    -------
    >>> aligner = TrackAligner(["inbound", "outbound"], 0xFF, 4)
    >>> aligner.add("inbound", b"ab")
    b''
    >>> aligner.add("outbound", b"xyz")
    b'axby'
    >>> aligner.add("outbound", b"1234")  # 5 ahead: inbound gets silence
    b'\\xffz'
    >>> aligner.finish()
    b'\\xff1\\xff2\\xff3\\xff4'
    >>> late = TrackAligner(["inbound", "outbound"], 0xFF, 8)
    >>> late.add("inbound", b"abcd", 0)
    b''
    >>> late.add("outbound", b"xy", 2)  # starts 2 samples in: silence first
    b'a\\xffb\\xffcxdy'
    """

    def __init__(self, tracks, silence, max_skew, max_gap=80000):
        self.tracks = list(tracks)
        self.silence = int(silence)
        self.max_skew = int(max_skew)
        self.max_gap = int(max_gap)
        self._buffers = {track: bytearray() for track in self.tracks}
        self._received = dict.fromkeys(self.tracks, 0)

    def add(self, track, data, position=None):
        """Adds a track's bytes.

        Arguments
        ---------
        track : str
            One of ``tracks``.
        data : bytes
            Its next samples.
        position : int, optional
            Where they start in the track (bytes from its start); a gap
            since the track's last bytes becomes silence.

        Returns
        -------
        bytes
            Interleaved frames now complete.
        """
        if position is not None and position > self._received[track]:
            gap = min(position - self._received[track], self.max_gap)
            self._buffers[track] += bytes([self.silence]) * gap
            self._received[track] += gap
        self._received[track] += len(data)
        self._buffers[track] += data
        longest = max(len(b) for b in self._buffers.values())
        for name, buffer in self._buffers.items():
            if longest - len(buffer) > self.max_skew:
                pad = longest - len(buffer) - self.max_skew
                buffer += bytes([self.silence]) * pad
                self._received[name] += pad  # a later piece's gap is less
        return self._take(min(len(b) for b in self._buffers.values()))

    def finish(self):
        """Pads every track to the longest and returns what is left.

        Returns
        -------
        bytes
            Interleaved frames.
        """
        longest = max(len(b) for b in self._buffers.values())
        for buffer in self._buffers.values():
            buffer += bytes([self.silence]) * (longest - len(buffer))
        return self._take(longest)

    def _take(self, count):
        """The first ``count`` bytes of each track, interleaved."""
        if count == 0:
            return b""
        rows = []
        for track in self.tracks:
            buffer = self._buffers[track]
            rows.append(np.frombuffer(bytes(buffer[:count]), np.uint8))
            del buffer[:count]
        return np.stack(rows, axis=1).tobytes()


def call_record(session):
    """The facts of a call, as ``<call_id>.json`` and ``GET /v1/calls``
    give them.

    Arguments
    ---------
    session : CallSession
        The call.

    Returns
    -------
    dict
        See the module docstring.
    """
    engine = session.engine
    return {
        "call_id": session.call_id,
        "source": session.source,
        "roles": list(engine.roles),
        "sample_rate": session.sample_rate,
        "encoding": session.encoding,
        "channels": engine.channels,
        "window": engine.window_seconds,
        "hop": engine.hop_seconds,
        "seconds": round(engine.seconds, 3),
        "windows": session.windows,
        "events": session.events,
        "dropped_events": session.dropped,
        "queued_events": session.outbox.qsize(),
        "ended": session.ended,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
    }


def write_call(
    out_dir, session, rows, summary, labels, gender, dimensions=False
):
    """Writes a finished call's files into ``out_dir`` (see the module
    docstring), each atomically.

    Arguments
    ---------
    out_dir : str
        The folder.
    session : CallSession
        The call.
    rows : list of dict
        Its rows.
    summary : list of dict
        Its summary (``summaries.call_summary``).
    labels : list of str
        The classes.
    gender : bool
        Whether rows have the gender columns.
    dimensions : bool
        Whether rows have ``arousal``, ``valence`` and ``dominance`` (a
        model with the dimensional head).

    Returns
    -------
    list of str
        The files written.
    """
    import json

    from speechbrain_gemo.io import write_text_atomic
    from speechbrain_gemo.rows import write_predictions
    from speechbrain_gemo.summaries import summary_text

    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, session.call_id)
    write_predictions(
        rows,
        f"{stem}.csv",
        labels,
        gender,
        timeline=True,
        speaker=True,
        dimensions=dimensions,
    )
    write_text_atomic(f"{stem}_summary.csv", summary_text(summary, labels))
    record = json.dumps(call_record(session), indent=2) + "\n"
    write_text_atomic(f"{stem}.json", record)
    return [f"{stem}.csv", f"{stem}_summary.csv", f"{stem}.json"]


class CallSession:
    """One streamed call: its engine, its windows in flight, its rows and
    the events for its client and subscribers.

    Windows go to the classifier as the engine cuts them; their results
    are taken back in order by ``run_results`` (a task), which keeps the
    rows, publishes each event to the subscribers and queues it for the
    client in ``outbox``: a bounded queue that drops its oldest event
    when full (``dropped``), so a client that never reads its events
    costs bounded memory and never holds the call back.

    Arguments
    ---------
    server : Server
        The server (model, classifier, hub, executor, options).
    call_id : str
        The call's id.
    source : str
        ``stream`` or ``twilio``.
    engine : speechbrain_gemo.streaming.StreamEngine
        The call's engine.
    sample_rate : int
        Rate of the audio received.
    encoding : str
        Its encoding.
    to_client : bool
        Queue events for the client (False: subscribers only).
    """

    def __init__(
        self,
        server,
        call_id,
        source,
        engine,
        sample_rate,
        encoding,
        to_client=True,
    ):
        self.server, self.call_id, self.source = server, call_id, source
        self.to_client = to_client
        self.engine = engine
        self.sample_rate, self.encoding = sample_rate, encoding
        options = server.options
        # Windows in flight: a full queue stops reading the client
        self.pending = asyncio.Queue(maxsize=options.max_pending_windows)
        self.outbox = asyncio.Queue(maxsize=options.max_queue)
        self.rows = []
        self.windows = self.events = self.dropped = 0
        self.ended = None
        self.started_at = time.time()
        self.ended_at = None
        self.keeper = None  # --keep_audio (serve.archive.AudioKeeper)
        if getattr(options, "keep_audio", False) and options.out_dir:
            from speechbrain_gemo.serve.archive import AudioKeeper

            self.keeper = AudioKeeper(
                options.out_dir, call_id, encoding, sample_rate, engine.channels
            )
        self._results = asyncio.get_running_loop().create_task(
            self.run_results()
        )

    async def feed(self, data):
        """Feeds audio bytes: decoding, resampling and voice activity run
        in the server's audio threads; the windows cut go to the
        classifier.

        Arguments
        ---------
        data : bytes
            The next piece of the call's audio.
        """
        if self.keeper is not None:
            self.keeper.write(data)
        loop = asyncio.get_running_loop()
        windows = await loop.run_in_executor(
            self.server.audio_executor, self.engine.feed_bytes, data
        )
        await self._submit(windows)

    async def _submit(self, windows):
        """Sends windows to the classifier, in order."""
        for window in windows:
            name = f"{self.call_id} {window.speaker} [{window.start:.2f} s]"
            future = self.server.classifier.submit(window.samples, name)
            self.windows += 1
            await self.pending.put((window, future))

    async def finish(self, ended):
        """Ends the call: its last windows, every result, its summary and
        its files.

        Arguments
        ---------
        ended : str
            How it ended (``stop``, ``disconnected``, ...).

        Returns
        -------
        dict
            The summary event.
        """
        self.ended = ended
        if not self.engine.finished:
            windows = await loop_run(
                self.server.audio_executor, self.engine.finish
            )
            await self._submit(windows)
        await self.pending.put(None)
        await self._results
        self.ended_at = time.time()
        summary = self.server.summary(self.rows, self.engine.hop_seconds)
        event = {"type": "summary", "call_id": self.call_id}
        event.update(summary_fields(summary))
        self.server.hub.publish(self.call_id, event)
        self.server.hub.end(self.call_id)
        if self.keeper is not None:  # before the files that list the call
            await loop_run(self.server.audio_executor, self.keeper.close)
        if self.server.options.out_dir:
            try:
                await loop_run(
                    self.server.audio_executor,
                    write_call,
                    self.server.options.out_dir,
                    self,
                    self.rows,
                    summary,
                    self.server.labels,
                    self.server.gender,
                    bool(getattr(self.server.model, "has_avd", False)),
                )
            except OSError as err:
                logger.error(
                    "call %s: files not written: %s", self.call_id, err
                )
        return event

    def cancel(self):
        """Gives up on the call's results (server shutting down)."""
        self._results.cancel()
        if self.keeper is not None:
            self.keeper.discard()

    async def run_results(self):
        """Takes the results back in order: rows, subscribers, client."""
        from speechbrain_gemo.rows import emotion_event, window_row

        while True:
            item = await self.pending.get()
            if item is None:
                return
            window, future = item
            fields = await future
            row = window_row(self.call_id, window, fields)
            self.rows.append(row)
            if row.get("error"):
                event = {
                    "type": "error",
                    "speaker": row["speaker"],
                    "start": row["start"],
                    "end": row["end"],
                    "message": row["error"],
                }
            else:
                event = emotion_event(row)
                self.events += 1
            self.server.hub.publish(self.call_id, event)
            self.post(event)

    def post(self, event):
        """Queues an event for the client; the oldest goes when full.

        Arguments
        ---------
        event : dict
            The event.
        """
        if not self.to_client:
            return
        while self.outbox.full():
            self.outbox.get_nowait()
            self.dropped += 1
        self.outbox.put_nowait(event)


def summary_fields(summary):
    """The ``summary`` event's fields: per role, the call-summary fields
    of ``infer --summary`` (``summaries.call_summary``).

    Arguments
    ---------
    summary : list of dict
        As ``summaries.call_summary`` returns it.

    Returns
    -------
    dict
        ``{"speakers": {role: {"speech_seconds": s, "share": {label: f},
        "first": {label: s or None}, "longest": {label: [start, end] or
        None}, "means": {...}}}}``.

    Example
    -------
    >>> from speechbrain_gemo.summaries import call_summary
    >>> rows = [{"path": "c", "start": 0.0, "end": 1.0, "speaker": "agent",
    ...          "label": "sad", "error": ""}]
    >>> fields = summary_fields(call_summary(rows, ["neu", "sad"]))
    >>> fields["speakers"]["agent"]["share"], fields["speakers"]["agent"][
    ...     "longest"]
    ({'neu': 0.0, 'sad': 1.0}, {'neu': None, 'sad': [0.0, 1.0]})
    """
    speakers = {}
    for entry in summary:
        longest = {
            label: None if span is None else [span[0], span[1]]
            for label, span in entry["longest"].items()
        }
        speakers[entry["speaker"]] = {
            "speech_seconds": entry["speech_seconds"],
            "share": dict(entry["share"]),
            "first": dict(entry["first"]),
            "longest": longest,
            "means": dict(entry.get("means") or {}),
        }
    return {"speakers": speakers}


async def loop_run(executor, function, *args):
    """Runs a blocking function in an executor from the event loop.

    Arguments
    ---------
    executor : concurrent.futures.Executor
        Where.
    function : callable
        What.
    *args : tuple
        Its arguments.

    Returns
    -------
    object
        Its result.
    """
    return await asyncio.get_running_loop().run_in_executor(
        executor, function, *args
    )
