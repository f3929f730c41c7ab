"""The ASGI application of the emotion server (Starlette): its state
(``Server``: model, classifier, event hub, limits) and its routes.

Routes (one router each, all registered by ``build_app``):

- ``GET /health``: ``{"status": "ok", "streams": n}`` (no key needed);
- ``GET /v1/model``: labels, sample rate, default window and hop, backend;
- ``GET /v1/calls``: the calls streaming now (``calls.call_record``);
- ``POST /v1/classify``: one audio file as the body (any format soundfile
  reads; ``?name=`` names it in the row) -> the CSV row of ``infer`` as
  JSON (column -> value);
- ``POST /v1/timeline``: a recording as the body (``?channels=agent,
  customer`` or ``split``, ``?window=``, ``?hop=``, ``?name=``) -> its
  rows (those of ``infer --timeline --sliding_window``);
- ``WebSocket /v1/stream``: a call streamed by any client (see
  ``speechbrain_gemo.serve``);
- ``WebSocket /v1/twilio``: Twilio Media Streams;
- ``WebSocket /v1/calls/{call_id}/events``: a call's events as they come.

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import concurrent.futures
import contextlib
import io
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from speechbrain_gemo.serve.calls import (
    CallSession,
    EventHub,
    TrackAligner,
    call_record,
    check_call_id,
)
from speechbrain_gemo.serve.security import KeyCheck, twilio_signed
from speechbrain_gemo.serve.worker import WindowClassifier

logger = logging.getLogger("speechbrain_gemo.serve")

# Close codes: 1000 normal, 1008 protocol violation, 1011 server error,
# 1013 try again later (busy)
NORMAL, POLICY, ERROR, BUSY = 1000, 1008, 1011, 1013
MAX_CHANNELS = 8
MIN_RATE, MAX_RATE = 8000, 192000


@dataclass
class ServerOptions:
    """What the server was started with (see ``python -m
    speechbrain_gemo.serve --help``).

    Arguments
    ---------
    backend : str
        ``pytorch`` or ``onnx``.
    precision : str
        The ONNX graph (``fp32``/``int8``), or None.
    max_streams : int
        Calls streaming at once (``/v1/stream`` and ``/v1/twilio``).
    max_upload_mb : float
        Largest body of ``POST`` requests.
    max_batch_size : int
        Most windows classified together.
    max_wait_ms : float
        How long a window waits for others to batch with.
    max_queue : int
        Events waiting for a client or a subscriber before the oldest go.
    max_pending_windows : int
        Windows of one call in flight before its audio stops being read.
    max_subscribers : int
        Subscribers of events at once.
    window : float
        Default window (seconds).
    hop : float
        Default hop (seconds).
    out_dir : str
        Where finished calls' files go (None: nowhere).
    api_key : bytes
        The API key (None: none needed).
    twilio_token : bytes
        Twilio's auth token (None: see ``twilio_unsigned``).
    twilio_unsigned : bool
        Open ``/v1/twilio`` without signatures.
    twilio_roles : dict
        Track to role (``inbound`` -> ``customer``, ``outbound`` ->
        ``agent``).
    public_url : str
        The URL base Twilio calls (for signatures behind a proxy).
    vad_threshold : float
        Silero speech probability threshold.
    crosstalk_db : float
        The cross-talk rule's threshold for calls of two or more channels
        (``speechbrain_gemo.channels``).
    keep_audio : bool
        Keep each call's audio in ``out_dir`` (``serve.archive``).
    alerts : list
        Alert rules (``serve.alerts.AlertRule``).
    """

    backend: str = "pytorch"
    precision: str = None
    max_streams: int = 16
    max_upload_mb: float = 50.0
    max_batch_size: int = 8
    max_wait_ms: float = 10.0
    max_queue: int = 256
    max_pending_windows: int = 16
    max_subscribers: int = 64
    window: float = 3.0
    hop: float = 1.0
    out_dir: str = None
    api_key: bytes = None
    twilio_token: bytes = None
    twilio_unsigned: bool = False
    twilio_roles: dict = None
    public_url: str = None
    vad_threshold: float = 0.5
    crosstalk_db: float = 10.0
    keep_audio: bool = False
    alerts: list = None


class ProtocolError(ValueError):
    """A client broke the protocol; the message says how."""


class Server:
    """The state shared by every connection.

    Arguments
    ---------
    model : GEmoCLAP or EmotionClassifierONNX
        The model (16 kHz).
    options : ServerOptions
        The options.
    """

    def __init__(self, model, options):
        from speechbrain_gemo.streaming import VAD_RATE

        if int(model.sample_rate) != VAD_RATE:
            raise ValueError(
                f"the server streams at {VAD_RATE} Hz (the voice-activity "
                f"detector's rate); this model expects {model.sample_rate}"
            )
        self.model, self.options = model, options
        self.labels = list(model.labels)
        self.gender = bool(model.has_gender)
        self.classifier = WindowClassifier(
            model, options.max_batch_size, options.max_wait_ms
        )
        self.hub = EventHub(options.max_queue)
        # Decoding, resampling, voice activity: off the event loop
        self.audio_executor = concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix="gemo-audio"
        )
        # Whole uploads: beside the streams' classifier, not in its way
        self.upload_executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="gemo-upload"
        )
        self.calls = {}
        self.streams = 0

    def summary(self, rows, hop):
        """A call's summary from its window rows: the call-summary fields
        of ``infer --summary`` per role (``summaries.call_summary``), each
        window standing for the ``hop`` around its centre so that one
        channel's windows tile the time instead of overlapping.

        Arguments
        ---------
        rows : list of dict
            Its rows.
        hop : float
            Its hop.

        Returns
        -------
        list of dict
            ``summaries.call_summary`` of the hop spans.
        """
        from speechbrain_gemo.summaries import call_summary
        from speechbrain_gemo.timeline import hop_spans

        ok = [row for row in rows if not row.get("error")]
        return call_summary(hop_spans(ok, hop), self.labels)

    def close(self):
        """Stops the worker threads."""
        for session in list(self.calls.values()):
            session.cancel()
        self.classifier.close()
        self.audio_executor.shutdown(wait=False, cancel_futures=True)
        self.upload_executor.shutdown(wait=False, cancel_futures=True)


def peer(scope):
    """``host:port`` of a connection's client.

    Arguments
    ---------
    scope : dict
        The ASGI scope.

    Returns
    -------
    str
        The address.

    Example
    -------
    >>> peer({"client": ("127.0.0.1", 5000)})
    '127.0.0.1:5000'
    """
    client = scope.get("client") or ("?", 0)
    return f"{client[0]}:{client[1]}"


# ----------------------------------------------------------------- HTTP


class UploadTooLarge(Exception):
    """A body over ``--max_upload_mb``."""


async def read_body(request, limit):
    """The request's body, in memory, refused past ``limit`` bytes before
    reading it (``Content-Length``) or while reading it (chunked).

    Arguments
    ---------
    request : starlette.requests.Request
        The request.
    limit : int
        Most bytes.

    Returns
    -------
    bytes
        The body.

    Raises
    ------
    UploadTooLarge
        Past the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise UploadTooLarge
    return bytes(body)


def too_large(server):
    """The 413 response."""
    limit = server.options.max_upload_mb
    return JSONResponse(
        {"error": f"the body is over --max_upload_mb ({limit:g} MB)"}, 413
    )


async def health(request):
    """``GET /health``."""
    server = request.app.state.server
    return JSONResponse({"status": "ok", "streams": server.streams})


async def model_info(request):
    """``GET /v1/model``."""
    server = request.app.state.server
    from speechbrain_gemo.streaming import ENCODINGS

    return JSONResponse(
        {
            "labels": server.labels,
            "gender": server.gender,
            "sample_rate": int(server.model.sample_rate),
            "window": server.options.window,
            "hop": server.options.hop,
            "model_window_seconds": getattr(
                server.model, "window_seconds", None
            ),
            "backend": server.options.backend,
            "precision": server.options.precision,
            "encodings": list(ENCODINGS),
            "max_streams": server.options.max_streams,
        }
    )


async def list_calls(request):
    """``GET /v1/calls``."""
    server = request.app.state.server
    return JSONResponse(
        {"calls": [call_record(s) for s in server.calls.values()]}
    )


def read_upload(data, sample_rate):
    """An uploaded audio file's samples, read from memory as every
    reader of the package reads files: soundfile, channels' mean, soxr.

    Arguments
    ---------
    data : bytes
        The file.
    sample_rate : int
        The model's rate.

    Returns
    -------
    numpy.ndarray
        Mono float32 samples.

    Raises
    ------
    ValueError
        Unreadable or empty audio, with the reason.
    """
    import soundfile

    from speechbrain_gemo.audio_format import to_mono_at

    try:
        signal, rate = soundfile.read(
            io.BytesIO(data), dtype="float32", always_2d=True
        )
    except Exception as err:  # libsndfile raises several error types
        reason = upload_text(" ".join(str(err).split()))[:200]
        raise ValueError(
            f"cannot read audio ({type(err).__name__}: {reason})"
        ) from err
    if signal.size == 0:
        raise ValueError("the body has no audio samples")
    return to_mono_at(signal, rate, sample_rate)


def upload_text(text):
    """An error message about an upload read from memory, naming it "the
    upload" instead of the Python object that held it.

    Arguments
    ---------
    text : str
        The message.

    Returns
    -------
    str
        The message.

    Example
    -------
    >>> upload_text("Error opening <_io.BytesIO object at 0x7f65>: bad")
    'Error opening the upload: bad'
    """
    import re

    return re.sub(
        r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "the upload", text
    )


def classify_upload(server, data, name):
    """Classifies one uploaded file (in the upload thread)."""
    from speechbrain_gemo.batching import classify_batch

    signal = read_upload(data, int(server.model.sample_rate))
    return classify_batch(server.model, [signal], [name])[0]


def row_record(row, labels, gender, timeline=False, dimensions=False):
    """A row as the JSON of its CSV line: column -> value (numbers as
    numbers, empty cells as null).

    Arguments
    ---------
    row : dict
        A row (``speechbrain_gemo.rows``).
    labels : list of str
        The classes.
    gender : bool
        Whether the model has a gender branch.
    timeline : bool
        Rows of a timeline (``start``, ``end``, ``speaker``).
    dimensions : bool
        With ``arousal``, ``valence`` and ``dominance`` (as ``infer``'s
        per-file rows of a model with the dimensional head).

    Returns
    -------
    dict
        Column to value.

    Example
    -------
    >>> row_record({"path": "a.wav", "label": "sad", "score": 0.7,
    ...     "probs": {"neu": 0.3, "sad": 0.7}, "error": ""}, ["neu", "sad"],
    ...     False)
    {'path': 'a.wav', 'label': 'sad', 'score': 0.7, 'prob_neu': 0.3, \
'prob_sad': 0.7, 'error': ''}
    """
    from speechbrain_gemo.rows import csv_columns

    ok = not row.get("error")
    record = {}
    for column in csv_columns(labels, gender, timeline, timeline, dimensions):
        if column.startswith("prob_"):
            value = row["probs"][column[5:]] if ok else None
        elif column in ("label", "score", "gender", "gender_score"):
            value = row.get(column) if ok else None
        else:
            value = row.get(column)
        record[column] = value
    record["error"] = row.get("error", "")
    return record


async def classify(request):
    """``POST /v1/classify``."""
    server = request.app.state.server
    try:
        data = await read_body(request, server_limit(server))
    except UploadTooLarge:
        return too_large(server)
    name = request.query_params.get("name", "upload")
    loop = asyncio.get_running_loop()
    try:
        fields = await loop.run_in_executor(
            server.upload_executor, classify_upload, server, data, name
        )
    except ValueError as err:
        return JSONResponse({"error": str(err)}, 400)
    row = dict(fields, path=name)
    if row.get("error"):
        return JSONResponse(
            {"error": row["error"], "row": row_record(row, [], False)}, 400
        )
    dimensions = bool(getattr(server.model, "has_avd", False))
    return JSONResponse(
        row_record(row, server.labels, server.gender, dimensions=dimensions)
    )


def server_limit(server):
    """``--max_upload_mb`` in bytes."""
    return int(server.options.max_upload_mb * 1e6)


def _number(text, what):
    """A finite float from a query parameter."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{what}={text!r}: expected a number of seconds")
    return value


async def timeline(request):
    """``POST /v1/timeline``."""
    from speechbrain_gemo.channels import parse_channels
    from speechbrain_gemo.streaming import check_windows
    from speechbrain_gemo.timeline import sliding_timeline

    server = request.app.state.server
    query = request.query_params
    try:
        window = _number(query.get("window", server.options.window), "window")
        hop = _number(query.get("hop", server.options.hop), "hop")
        check_windows(window, hop)
        channels = query.get("channels")
        channels = None if channels is None else parse_channels(channels)
    except ValueError as err:
        return JSONResponse({"error": str(err)}, 400)
    try:
        data = await read_body(request, server_limit(server))
    except UploadTooLarge:
        return too_large(server)
    name = query.get("name", "upload")
    options = {
        "window": window,
        "hop": hop,
        "channels": channels,
        "threshold": server.options.vad_threshold,
        "crosstalk_db": server.options.crosstalk_db,
        "max_batch_size": server.options.max_batch_size,
    }
    loop = asyncio.get_running_loop()
    rows = await loop.run_in_executor(
        server.upload_executor,
        lambda: sliding_timeline(server.model, name, options, io.BytesIO(data)),
    )
    if len(rows) == 1 and rows[0].get("start") is None:
        error = upload_text(rows[0]["error"])
        if not error.startswith("NoSpeech"):
            return JSONResponse({"error": error}, 400)
        rows = []
    dimensions = bool(getattr(server.model, "has_avd", False))
    records = [
        row_record(r, server.labels, server.gender, True, dimensions)
        for r in rows
    ]
    return JSONResponse({"rows": records})


# ----------------------------------------------------------- WebSockets


def parse_start(message, options, labels):
    """Checks a ``/v1/stream`` start message.

    Arguments
    ---------
    message : dict
        The message.
    options : ServerOptions
        For the default window and hop.
    labels : list of str
        Unused; kept for symmetry with the reply.

    Returns
    -------
    dict
        ``sample_rate``, ``encoding``, ``channels``, ``roles``, ``window``,
        ``hop``, ``call_id``.

    Raises
    ------
    ProtocolError
        Naming the field and what is expected.

    Example
    -------
    >>> parse_start({"type": "start", "sample_rate": 8000,
    ...     "encoding": "mulaw", "channels": 2}, ServerOptions(), [])["roles"]
    ['ch1', 'ch2']
    """
    from speechbrain_gemo.streaming import (
        ENCODINGS,
        check_windows,
        default_roles,
    )

    rate = message.get("sample_rate")
    if not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise ProtocolError(
            f"sample_rate {rate!r}: expected a whole number of Hz from "
            f"{MIN_RATE} to {MAX_RATE}"
        )
    encoding = message.get("encoding", "pcm_s16le")
    if encoding not in ENCODINGS:
        raise ProtocolError(
            f"encoding {encoding!r}: expected one of {list(ENCODINGS)}"
        )
    channels = message.get("channels", 1)
    if not isinstance(channels, int) or not 1 <= channels <= MAX_CHANNELS:
        raise ProtocolError(
            f"channels {channels!r}: expected 1 to {MAX_CHANNELS}"
        )
    roles = message.get("roles") or default_roles(channels)
    if (
        not isinstance(roles, list)
        or len(roles) != channels
        or not all(isinstance(r, str) and 0 < len(r) <= 64 for r in roles)
        or len(set(roles)) != len(roles)
    ):
        raise ProtocolError(
            f"roles {roles!r}: expected {channels} distinct names (1 to 64 "
            "characters), one per channel"
        )
    window = message.get("window", options.window)
    hop = message.get("hop", options.hop)
    try:
        check_windows(window, hop)
    except ValueError as err:
        raise ProtocolError(str(err)) from None
    call_id = message.get("call_id") or uuid.uuid4().hex
    try:
        check_call_id(call_id)
    except ValueError as err:
        raise ProtocolError(str(err)) from None
    return {
        "sample_rate": rate,
        "encoding": encoding,
        "channels": channels,
        "roles": roles,
        "window": float(window),
        "hop": float(hop),
        "call_id": call_id,
    }


class StreamSlot:
    """Holds one of the ``--max_streams`` places while a call streams."""

    def __init__(self, server):
        self.server = server
        self.held = False

    def take(self):
        """Takes a place; False when the server is full."""
        if self.server.streams >= self.server.options.max_streams:
            return False
        self.server.streams += 1
        self.held = True
        return True

    def release(self):
        """Gives the place back."""
        if self.held:
            self.server.streams -= 1
            self.held = False


async def close(websocket, code, reason):
    """Closes a WebSocket, ignoring a client already gone; a client that
    does not read (the close frame cannot leave) is given 5 s, then left
    to uvicorn, which closes the connection after its own timeout."""
    try:
        await asyncio.wait_for(websocket.close(code, reason[:120]), 5)
    except Exception:  # the client is gone or does not read
        pass


async def serve_call(websocket, server, source, receive_call):
    """Runs one streamed call on an accepted WebSocket: ``receive_call``
    reads the client's messages (and feeds the session it makes); events
    go out in a task of their own; the call ends at a stop, a protocol
    error or a disconnection, and is logged in one line.

    Arguments
    ---------
    websocket : WebSocket
        The accepted connection.
    server : Server
        The server.
    source : str
        ``stream`` or ``twilio``.
    receive_call : callable
        ``await receive_call(websocket, state)``: reads until the stop;
        puts the session in ``state["session"]`` once started; returns
        how the call ended.
    """
    state = {"session": None}
    started = time.monotonic()
    code, reason, ended = NORMAL, "stop", "stop"
    try:
        ended = await receive_call(websocket, state)
        reason = ended
    except ProtocolError as err:
        code, reason, ended = POLICY, str(err), "protocol error"
        await _send_error(websocket, str(err))
    except WebSocketDisconnect:
        ended = reason = "disconnected"
        code = None
    except Exception as err:  # one bad call never sinks the server
        logger.exception("call failed")
        code, reason, ended = (
            ERROR,
            f"server error: {type(err).__name__}",
            ("server error"),
        )
    session = state["session"]
    if session is not None:
        server.calls.pop(session.call_id, None)
        summary = await session.finish(ended)
        sender = state["sender"]
        if sender is None:  # Twilio: events go to subscribers only
            pass
        elif code is None:  # nobody to send to
            sender.cancel()
        else:
            session.post(summary)
            session.post(None)
            try:
                await asyncio.wait_for(sender, 10)
            except Exception:  # a client that does not read: done anyway
                sender.cancel()
    if code is not None:
        await close(websocket, code, reason)
    _log_call(source, websocket.scope, session, ended, code, reason, started)


async def _drain(websocket, session):
    """Sends a call's queued events to its client, until the end marker
    (None) or the client is gone."""
    while True:
        event = await session.outbox.get()
        if event is None:
            return
        try:
            await websocket.send_text(json.dumps(event))
        except Exception:  # the client is gone
            return


async def _send_error(websocket, message):
    """Sends an error event, ignoring a client already gone."""
    try:
        await websocket.send_text(
            json.dumps({"type": "error", "message": message})
        )
    except Exception:
        pass


def _log_call(source, scope, session, ended, code, reason, started):
    """The one log line of a call."""
    if session is None:
        logger.info(
            "%s %s: no call (%s; close %s: %s)",
            source,
            peer(scope),
            ended,
            code,
            reason,
        )
        return
    logger.info(
        "%s %s: call %s roles=%s %.1f s audio, %d windows, %d events, "
        "%d dropped, ended by %s (close %s), %.1f s",
        source,
        peer(scope),
        session.call_id,
        ",".join(session.engine.roles),
        session.engine.seconds,
        session.windows,
        session.events,
        session.dropped,
        ended,
        code,
        time.monotonic() - started,
    )


async def open_call(websocket, server, state, source, call_id, engine, info):
    """Makes a call's session and starts sending its events to the
    client (not to Twilio, which expects no messages it did not ask for:
    its calls' events go to subscribers only)."""
    if call_id in server.calls:
        raise ProtocolError(f"call_id {call_id!r} is already streaming")
    to_client = source != "twilio"
    session = CallSession(
        server,
        call_id,
        source,
        engine,
        info["sample_rate"],
        info["encoding"],
        to_client=to_client,
    )
    server.calls[call_id] = session
    state["session"] = session
    state["sender"] = (
        asyncio.create_task(_drain(websocket, session)) if to_client else None
    )
    return session


def _engine(server, info):
    """The streaming engine of a call."""
    from speechbrain_gemo.streaming import StreamEngine

    return StreamEngine(
        info["sample_rate"],
        info["channels"],
        info["roles"],
        info["window"],
        info["hop"],
        encoding=info["encoding"],
        threshold=server.options.vad_threshold,
        crosstalk_db=server.options.crosstalk_db,
    )


async def stream_endpoint(websocket: WebSocket):
    """``WebSocket /v1/stream``."""
    server = websocket.app.state.server
    slot = StreamSlot(server)
    await websocket.accept()
    if not slot.take():
        await close(
            websocket,
            BUSY,
            f"server busy: {server.options.max_streams} streams "
            "(--max_streams); try again later",
        )
        _log_call("stream", websocket.scope, None, "busy", BUSY, "", 0.0)
        return
    try:
        await serve_call(websocket, server, "stream", _receive_stream)
    finally:
        slot.release()


async def _receive_stream(websocket, state):
    """Reads a ``/v1/stream`` call: start, audio, stop."""
    server = websocket.app.state.server
    session = None
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1006))
        data, text = message.get("bytes"), message.get("text")
        if data is not None:
            if session is None:
                raise ProtocolError(
                    'audio before the start message: send {"type": '
                    '"start", ...} first'
                )
            await session.feed(data)
            continue
        try:
            msg = json.loads(text)
        except (TypeError, ValueError):
            raise ProtocolError(
                "malformed JSON: text messages are JSON objects"
            ) from None
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "start":
            if session is not None:
                raise ProtocolError("a second start message")
            info = parse_start(msg, server.options, server.labels)
            engine = _engine(server, info)
            session = await open_call(
                websocket,
                server,
                state,
                "stream",
                info["call_id"],
                engine,
                info,
            )
            reply = {
                "type": "started",
                "call_id": info["call_id"],
                "roles": info["roles"],
                "window": info["window"],
                "hop": info["hop"],
                "labels": server.labels,
            }
            session.post(reply)
        elif kind == "stop":
            if session is None:
                raise ProtocolError("stop before start")
            return "stop"
        else:
            raise ProtocolError(
                f"unknown message type {kind!r}: expected start or stop"
            )


async def refuse(websocket, status, reason):
    """Refuses a WebSocket upgrade with an HTTP status (where the server
    supports ASGI's denial responses; else a plain 403)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            JSONResponse({"error": reason}, status)
        )
    else:
        await websocket.close(POLICY)


async def twilio_endpoint(websocket: WebSocket):
    """``WebSocket /v1/twilio``: Twilio Media Streams."""
    server = websocket.app.state.server
    options = server.options
    scope = websocket.scope
    if options.twilio_token is not None:
        if not twilio_signed(scope, options.twilio_token, options.public_url):
            _log_call("twilio", scope, None, "refused", 403, "signature", 0.0)
            await refuse(websocket, 403, "missing or wrong X-Twilio-Signature")
            return
    elif not options.twilio_unsigned:
        _log_call("twilio", scope, None, "refused", 403, "closed", 0.0)
        await refuse(
            websocket,
            403,
            "/v1/twilio is closed: start the server with "
            "--twilio_auth_token_file (or --twilio_unsigned)",
        )
        return
    slot = StreamSlot(server)
    await websocket.accept()
    if not slot.take():
        await close(
            websocket,
            BUSY,
            f"server busy: {options.max_streams} streams (--max_streams)",
        )
        _log_call("twilio", scope, None, "busy", BUSY, "", 0.0)
        return
    try:
        await serve_call(websocket, server, "twilio", _receive_twilio)
    finally:
        slot.release()


async def _receive_twilio(websocket, state):
    """Reads a Twilio Media Stream: connected, start, media..., stop."""
    import base64
    import binascii

    server = websocket.app.state.server
    roles = server.options.twilio_roles or {
        "inbound": "customer",
        "outbound": "agent",
    }
    session = aligner = None
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1006))
        text = message.get("text")
        try:
            msg = json.loads(text) if text is not None else None
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            raise ProtocolError("Twilio sends JSON objects as text messages")
        event = msg.get("event")
        if event == "start":
            if session is not None:
                raise ProtocolError("a second start message")
            start = msg.get("start") or {}
            media = start.get("mediaFormat") or {}
            if (
                media.get("encoding") != "audio/x-mulaw"
                or media.get("sampleRate") != 8000
                or media.get("channels", 1) != 1
            ):
                raise ProtocolError(
                    f"mediaFormat {media!r}: expected audio/x-mulaw, 8000 "
                    "Hz, 1 channel"
                )
            tracks = start.get("tracks") or ["inbound"]
            if not isinstance(tracks, list) or not set(tracks) <= set(roles):
                raise ProtocolError(
                    f"tracks {tracks!r}: expected some of {sorted(roles)}"
                )
            tracks = list(dict.fromkeys(tracks))
            call_id = start.get("callSid") or msg.get("streamSid")
            try:
                call_id = check_call_id(call_id or uuid.uuid4().hex)
            except ValueError as err:
                raise ProtocolError(str(err)) from None
            info = {
                "sample_rate": 8000,
                "encoding": "mulaw",
                "channels": len(tracks),
                "roles": [roles[t] for t in tracks],
                "window": server.options.window,
                "hop": server.options.hop,
            }
            engine = _engine(server, info)
            session = await open_call(
                websocket, server, state, "twilio", call_id, engine, info
            )
            # a track 1 s ahead of another pads it with silence
            aligner = TrackAligner(tracks, 0xFF, 8000)
        elif event == "media":
            if session is None:
                raise ProtocolError("media before the start message")
            media = msg.get("media") or {}
            track = media.get("track", "inbound")
            if track not in aligner.tracks:
                continue  # a track the stream did not announce
            try:
                payload = base64.b64decode(
                    media.get("payload", ""), validate=True
                )
            except (binascii.Error, TypeError, ValueError):
                raise ProtocolError("media payload is not base64") from None
            # Twilio's timestamp: milliseconds since the stream started
            stamp = str(media.get("timestamp", ""))
            position = int(stamp) * 8 if stamp.isdigit() else None
            data = aligner.add(track, payload, position)
            if data:
                await session.feed(data)
        elif event == "stop":
            if session is None:
                raise ProtocolError("stop before start")
            rest = aligner.finish()
            if rest:
                await session.feed(rest)
            return "stop"
        elif event in ("connected", "mark", "dtmf"):
            continue
        else:
            raise ProtocolError(f"unknown Twilio event {event!r}")


async def events_endpoint(websocket: WebSocket):
    """``WebSocket /v1/calls/{call_id}/events``: a call's events."""
    server = websocket.app.state.server
    call_id = websocket.path_params["call_id"]
    try:
        check_call_id(call_id)
    except ValueError as err:
        await websocket.accept()
        await close(websocket, POLICY, str(err))
        return
    if server.hub.count >= server.options.max_subscribers:
        await websocket.accept()
        await close(
            websocket,
            BUSY,
            f"too many subscribers ({server.options.max_subscribers})",
        )
        return
    # subscribed before the upgrade completes: a client that starts the
    # call once connected misses none of its events
    sub = server.hub.subscribe(call_id)
    try:
        await websocket.accept()
    except Exception:
        server.hub.unsubscribe(call_id, sub)
        raise
    reader = asyncio.create_task(websocket.receive())
    try:
        while True:
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait(
                {getter, reader}, return_when=asyncio.FIRST_COMPLETED
            )
            if reader in done:
                getter.cancel()
                return  # the subscriber left (or spoke: not expected)
            event = getter.result()
            if event is None:
                await close(websocket, NORMAL, "call ended")
                return
            await websocket.send_text(json.dumps(event))
    except Exception:  # the subscriber is gone
        return
    finally:
        reader.cancel()
        server.hub.unsubscribe(call_id, sub)


def build_app(server):
    """The Starlette application of a server.

    Arguments
    ---------
    server : Server
        The state.

    Returns
    -------
    ASGI application
        With the API-key check around it.
    """
    routes = [
        Route("/health", health),
        Route("/v1/model", model_info),
        Route("/v1/calls", list_calls),
        Route("/v1/classify", classify, methods=["POST"]),
        Route("/v1/timeline", timeline, methods=["POST"]),
        WebSocketRoute("/v1/stream", stream_endpoint),
        WebSocketRoute("/v1/twilio", twilio_endpoint),
        WebSocketRoute("/v1/calls/{call_id}/events", events_endpoint),
    ]
    from speechbrain_gemo.serve import page

    routes += page.attach(server)  # the web page (/, /call/..., /login)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        """Stops the server's threads when uvicorn stops."""
        yield
        server.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server

    def refused(scope):
        """Logs a request refused for its key."""
        logger.info(
            "%s %s %s: refused (missing or wrong API key)",
            scope["type"],
            peer(scope),
            scope["path"],
        )

    keycheck = KeyCheck(
        app, server.options.api_key, {"/health", "/v1/twilio"}, refused
    )
    return page.gate(keycheck, server)  # a login cookie stands for the key
