"""Clients of the emotion server, for tests, the load benchmark and as an
example: a call streamed over ``/v1/stream`` (``stream_call``), a call
sent as Twilio Media Streams messages (``twilio_messages``,
``send_twilio``) and a call's events read by a subscriber
(``read_events``). They need ``websockets`` (the serve extra).

``stream_call`` records, for every event, its latency: from the moment
the piece of audio that completed the event's window left the client to
the moment the event arrived (``latency`` added to each event).

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import base64
import bisect
import io
import json
import random
import time

import numpy as np


def encode(samples, rate, encoding):
    """Interleaved bytes of ``time x channels`` float samples, as a client
    sends them (soundfile's raw ``PCM_16``, ``ULAW`` or ``ALAW``).

    Arguments
    ---------
    samples : numpy.ndarray
        ``time x channels`` (or ``time``) floats in [-1, 1].
    rate : int
        Their rate.
    encoding : str
        ``pcm_s16le``, ``mulaw`` or ``alaw``.

    Returns
    -------
    bytes
        The samples, channel after channel within each frame.

    Example
    -------
    >>> len(encode(np.zeros((80, 2)), 8000, "mulaw"))
    160
    """
    import soundfile

    subtype = {"pcm_s16le": "PCM_16", "mulaw": "ULAW", "alaw": "ALAW"}
    buffer = io.BytesIO()
    soundfile.write(
        buffer,
        np.asarray(samples, dtype=np.float32),
        rate,
        format="RAW",
        subtype=subtype[encoding],
        endian="LITTLE",
    )
    return buffer.getvalue()


def random_pieces(data, seed=0, largest=4000):
    """Cuts bytes into pieces of random sizes (1 to ``largest`` bytes),
    cutting inside samples and frames.

    Arguments
    ---------
    data : bytes
        The stream.
    seed : int
        Seed of the sizes.
    largest : int
        Largest piece.

    Returns
    -------
    list of bytes
        The pieces, in order.

    Example
    -------
    >>> pieces = random_pieces(bytes(100), largest=7)
    >>> b"".join(pieces) == bytes(100), max(map(len, pieces)) <= 7
    (True, True)
    """
    rng = random.Random(seed)
    pieces, k = [], 0
    while k < len(data):
        size = rng.randint(1, largest)
        pieces.append(data[k : k + size])
        k += size
    return pieces


async def stream_call(
    url,
    pieces,
    start,
    headers=None,
    realtime=False,
    bytes_per_second=None,
    speed=1.0,
):
    """Streams a call over ``/v1/stream`` and collects its events.

    Arguments
    ---------
    url : str
        ``ws://host:port/v1/stream``.
    pieces : list of bytes
        The call's audio, in the pieces to send.
    start : dict
        The start message (``type`` is set to ``start``).
    headers : dict, optional
        Extra headers of the upgrade (``Authorization``).
    realtime : bool
        Send each piece when its audio would have been spoken
        (``bytes_per_second`` needed), else as fast as the server reads.
    bytes_per_second : float, optional
        Bytes of one second of the call's audio.
    speed : float
        With ``realtime``: how many seconds of audio go per second.

    Returns
    -------
    list of dict
        Every message the server sent, in order; ``emotion`` events carry
        ``latency`` (seconds, see the module docstring).
    """
    import websockets

    events, sent_bytes, sent_at = [], [0], [time.monotonic()]
    per_second = bytes_per_second or 1.0
    async with websockets.connect(
        url, additional_headers=headers, max_size=2**22
    ) as ws:
        await ws.send(json.dumps(dict(start, type="start")))

        async def read():
            """Collects the server's messages, timing each event."""
            async for message in ws:
                event = json.loads(message)
                if event.get("type") == "emotion" and bytes_per_second:
                    # the piece that completed the window's audio
                    needed = event["end"] * per_second
                    k = bisect.bisect_left(sent_bytes, needed - 1e-6)
                    k = min(k, len(sent_at) - 1)
                    event["latency"] = time.monotonic() - sent_at[k]
                events.append(event)

        reader = asyncio.create_task(read())
        began = time.monotonic()
        for piece in pieces:
            if realtime:
                due = began + sent_bytes[-1] / per_second / speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            await ws.send(piece)
            sent_bytes.append(sent_bytes[-1] + len(piece))
            sent_at.append(time.monotonic())
        await ws.send(json.dumps({"type": "stop"}))
        await reader
    return events


def twilio_messages(tracks, call_sid="CA0123", stream_sid="MZ0123"):
    """A call as Twilio Media Streams sends it: ``connected``, ``start``,
    one ``media`` message per track and 20 ms (160 mu-law bytes, base64),
    the tracks taking turns, then ``stop``.

    Arguments
    ---------
    tracks : dict
        Track name (``inbound``, ``outbound``) to its mu-law bytes at 8
        kHz.
    call_sid : str
        The call's ``callSid``.
    stream_sid : str
        The ``streamSid``.

    Returns
    -------
    list of str
        The JSON text messages, in order.

    Example
    -------
    >>> messages = twilio_messages({"inbound": bytes(320)})
    >>> [json.loads(m)["event"] for m in messages]
    ['connected', 'start', 'media', 'media', 'stop']
    """
    account = "AC" + "0" * 32
    out = [
        {"event": "connected", "protocol": "Call", "version": "1.0.0"},
        {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "streamSid": stream_sid,
                "accountSid": account,
                "callSid": call_sid,
                "tracks": list(tracks),
                "customParameters": {},
                "mediaFormat": {
                    "encoding": "audio/x-mulaw",
                    "sampleRate": 8000,
                    "channels": 1,
                },
            },
            "streamSid": stream_sid,
        },
    ]
    longest = max((len(data) for data in tracks.values()), default=0)
    chunk = 0
    for k in range(0, longest, 160):
        chunk += 1
        for track, data in tracks.items():
            if k >= len(data):
                continue
            out.append(
                {
                    "event": "media",
                    "sequenceNumber": str(len(out)),
                    "media": {
                        "track": track,
                        "chunk": str(chunk),
                        "timestamp": str(k // 8),
                        "payload": base64.b64encode(data[k : k + 160]).decode(),
                    },
                    "streamSid": stream_sid,
                }
            )
    out.append(
        {
            "event": "stop",
            "sequenceNumber": str(len(out)),
            "stop": {"accountSid": account, "callSid": call_sid},
            "streamSid": stream_sid,
        }
    )
    return [json.dumps(message) for message in out]


async def send_twilio(url, messages, headers=None):
    """Sends Twilio messages over ``/v1/twilio`` as Twilio does, then
    waits for the server to close.

    Arguments
    ---------
    url : str
        ``ws://host:port/v1/twilio``.
    messages : list of str
        As ``twilio_messages`` makes them.
    headers : dict, optional
        ``X-Twilio-Signature``.

    Returns
    -------
    list of str
        What the server sent back (Twilio expects nothing unasked).
    """
    import websockets

    back = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        for message in messages:
            await ws.send(message)
        async for message in ws:
            back.append(message)
    return back


async def read_events(url, headers=None, ready=None):
    """Reads a call's events as a subscriber of
    ``/v1/calls/{call_id}/events`` until the call ends.

    Arguments
    ---------
    url : str
        ``ws://host:port/v1/calls/CALL_ID/events``.
    headers : dict, optional
        ``Authorization``.
    ready : asyncio.Event, optional
        Set once subscribed.

    Returns
    -------
    list of dict
        The events, the ``summary`` last.
    """
    import websockets

    events = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        if ready is not None:
            ready.set()
        async for message in ws:
            events.append(json.loads(message))
    return events
