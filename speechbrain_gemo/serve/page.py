"""The supervisor's web page of the emotion server: the live calls and
the finished calls of ``--out_dir``, a call's lanes, its audio, alerts and
the login that lets a browser in when ``--api_key_file`` is on.

Routes (``attach`` returns them; ``gate`` puts the login in front of the
application):

- ``GET /``: the list of calls (``static/index.html``);
- ``GET /call/{call_id}``: a call's page (``static/call.html``);
- ``GET /login``, ``POST /login`` (form field ``key``), ``POST /logout``;
- ``GET /static/...``: the page's HTML, CSS and JavaScript, shipped in the
  package (no build step, nothing fetched from elsewhere);
- ``GET /page/config``: classes, their words and colours
  (``plotting.class_colours``, the palette of the plots), alert rules,
  whether audio is kept;
- ``GET /page/calls``: live and finished calls, newest first, each with
  its roles, the share of each class per role and its alerts;
- ``GET /page/calls/{call_id}``: a call's rows, summary and alerts;
- ``GET /page/calls/{call_id}/audio``: a finished call's audio (WAV, 16-bit
  PCM), with ``--keep_audio`` only.

A live call's page follows ``WebSocket /v1/calls/{call_id}/events``.

**Alerts** (``--alert``, repeatable; default ``customer:angry:0.5:30``):
``ROLE:CLASS:SHARE:SECONDS`` fires when, among ``ROLE``'s windows whose
centre lies in the last ``SECONDS`` of the call, the share classified as
``CLASS`` (a label or its word) is above ``SHARE``, with at least
``MIN_ALERT_WINDOWS`` such windows. It fires once when it becomes true,
again only after it was false; each firing is an ``alert`` event to the
call's events subscribers and marks the call in the list. The alerts of a
finished call are those its rows give (the same rule run over
``<call_id>.csv``).

**Login**: with ``--api_key_file``, a browser posts the key to ``/login``
once (never in a URL) and gets an HttpOnly, SameSite=Strict session cookie
(``SESSION_COOKIE``) that stands for the key on every page, API request
and WebSocket upgrade of the same origin, for ``SESSION_SECONDS``. Its
value is a random id and an expiry signed with a key made when the server
starts (a restart logs everyone out); ``POST /logout`` revokes it. Keys
and signatures are compared in constant time. ``Authorization: Bearer``
works as before; ``/health`` and ``/v1/twilio`` stay open as before.

**Audio** (``--keep_audio``, off by default: call audio is personal data):
a call's audio as received goes to a temporary file in ``--out_dir``
while it streams and becomes ``<call_id>.wav`` (16-bit PCM, the call's
rate and channels) when it ends.

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import base64
import csv
import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
import time
from collections import deque
from typing import NamedTuple
from urllib.parse import parse_qs, quote, urlsplit

from speechbrain_gemo.serve.calls import (
    EventHub,
    call_record,
    check_call_id,
    summary_fields,
)

logger = logging.getLogger("speechbrain_gemo.serve")

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
SESSION_COOKIE = "gemo_session"
SESSION_SECONDS = 12 * 3600
DEFAULT_ALERT = "customer:angry:0.5:30"
# a rule needs this many of the role's windows in its span (5 s of speech
# at the default hop): one short utterance alone never alerts
MIN_ALERT_WINDOWS = 5
# a wrong key waits this long before the login shows again
WRONG_KEY_DELAY = 0.5
MAX_LISTED = 500
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # (not no-referrer: with it, browsers send "Origin: null" on a form post)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

# ----------------------------------------------------------------- alerts

_RULE = re.compile(
    r"^\s*([^:]+?)\s*:\s*([^:]+?)\s*:\s*([0-9]*\.?[0-9]+)\s*:\s*"
    r"([0-9]*\.?[0-9]+)\s*s?\s*$"
)


class AlertRule(NamedTuple):
    """An alert rule (see the module docstring).

    Arguments
    ---------
    role : str
        Whose windows.
    label : str
        The class (a label of the model once resolved).
    share : float
        The share it must be above.
    seconds : float
        How far back from the end of the call.
    text : str
        The rule as written.
    """

    role: str
    label: str
    share: float
    seconds: float
    text: str


def parse_alert(text):
    """Reads an alert rule ``ROLE:CLASS:SHARE:SECONDS``.

    Arguments
    ---------
    text : str
        The rule, e.g. ``customer:angry:0.5:30``.

    Returns
    -------
    AlertRule
        Its parts (``label`` as written: a label or a word).

    Raises
    ------
    ValueError
        Naming the rule and the expected form.

    Example
    -------
    >>> parse_alert("customer:angry:0.5:30")
    AlertRule(role='customer', label='angry', share=0.5, seconds=30.0, \
text='customer:angry:0.5:30')
    >>> parse_alert("customer:angry")
    Traceback (most recent call last):
    ...
    ValueError: alert rule 'customer:angry': expected ROLE:CLASS:SHARE:SECONDS \
with 0 <= SHARE < 1 and SECONDS > 0, e.g. customer:angry:0.5:30
    """
    found = _RULE.match(str(text))
    share = float(found.group(3)) if found else -1.0
    seconds = float(found.group(4)) if found else 0.0
    if not found or not 0.0 <= share < 1.0 or not seconds > 0:
        raise ValueError(
            f"alert rule {text!r}: expected ROLE:CLASS:SHARE:SECONDS with "
            "0 <= SHARE < 1 and SECONDS > 0, e.g. customer:angry:0.5:30"
        )
    return AlertRule(
        found.group(1), found.group(2), share, seconds, str(text).strip()
    )


def resolve_alerts(texts, labels):
    """The alert rules of the command line, their classes matched to the
    model's labels (a label, or the word of one, case-insensitively).

    Arguments
    ---------
    texts : list of str or None
        ``--alert`` values; None: the default rule, dropped (with a
        warning) when the model has no such class; ``["none"]``: no rule.
    labels : list of str
        The model's classes.

    Returns
    -------
    list of AlertRule
        With model labels.

    Raises
    ------
    ValueError
        A rule that is malformed or names a class the model lacks.

    Example
    -------
    >>> [r.label for r in resolve_alerts(None, ["neu", "ang"])]
    ['ang']
    >>> resolve_alerts(None, ["calm"]), resolve_alerts(["none"], ["ang"])
    ([], [])
    >>> resolve_alerts(["agent:bored:0.5:10"], ["neu", "ang"])
    Traceback (most recent call last):
    ...
    ValueError: alert rule 'agent:bored:0.5:10': the model has no class \
'bored' (its classes: neu (neutral), ang (angry))
    """
    from speechbrain_gemo.prompts import label_words

    words = label_words(labels)
    default = texts is None
    if default:
        texts = [DEFAULT_ALERT]
    if [t.strip().lower() for t in texts] == ["none"]:
        return []
    rules = []
    for text in texts:
        rule = parse_alert(text)
        wanted = rule.label.lower()
        matches = [
            label
            for label in labels
            if wanted in (label.lower(), words[label].lower())
        ]
        if not matches:
            known = ", ".join(f"{label} ({words[label]})" for label in labels)
            message = (
                f"alert rule {text!r}: the model has no class "
                f"{rule.label!r} (its classes: {known})"
            )
            if default:
                logger.warning("%s; no alert rule", message)
                continue
            raise ValueError(message)
        rules.append(rule._replace(label=matches[0]))
    return rules


class AlertWatch:
    """Runs alert rules over one call's windows, in the order they come.

    Arguments
    ---------
    rules : list of AlertRule
        The rules.
    call_id : str
        The call (put in each alert).

    Example
    -------
    >>> rule = parse_alert("customer:ang:0.5:10")
    >>> watch = AlertWatch([rule], "c1")
    >>> labels = ["neu", "ang", "ang", "ang", "ang", "ang"]
    >>> fired = [watch.feed("customer", k, k + 3.0, lab)
    ...          for k, lab in enumerate(labels)]
    >>> [len(f) for f in fired]
    [0, 0, 0, 0, 1, 0]
    >>> fired[4][0]["share"], fired[4][0]["windows"]
    (0.8, 5)
    """

    def __init__(self, rules, call_id):
        self.rules = list(rules)
        self.call_id = call_id
        self.span = max((r.seconds for r in self.rules), default=0.0)
        self.now = 0.0
        self.windows = {}  # role -> deque of (centre, label)
        self.firing = [False] * len(self.rules)

    def feed(self, speaker, start, end, label):
        """Takes one classified window; returns the alerts it fires.

        Arguments
        ---------
        speaker : str
            Its role.
        start : float
            Its start (seconds).
        end : float
            Its end.
        label : str
            Its class.

        Returns
        -------
        list of dict
            ``alert`` events.
        """
        if not self.rules:
            return []
        start, end = float(start), float(end)
        self.now = max(self.now, end)
        mine = self.windows.setdefault(speaker, deque())
        mine.append(((start + end) / 2, label))
        for windows in self.windows.values():
            while windows and windows[0][0] <= self.now - self.span:
                windows.popleft()
        alerts = []
        for k, rule in enumerate(self.rules):
            since = self.now - rule.seconds
            recent = [
                lab
                for centre, lab in self.windows.get(rule.role, ())
                if centre > since
            ]
            share = (
                sum(lab == rule.label for lab in recent) / len(recent)
                if recent
                else 0.0
            )
            now_firing = len(recent) >= MIN_ALERT_WINDOWS and share > rule.share
            if now_firing and not self.firing[k]:
                alerts.append(
                    {
                        "type": "alert",
                        "call_id": self.call_id,
                        "rule": rule.text,
                        "speaker": rule.role,
                        "label": rule.label,
                        "share": round(share, 4),
                        "windows": len(recent),
                        "start": round(max(0.0, since), 3),
                        "end": round(self.now, 3),
                    }
                )
            self.firing[k] = now_firing
        return alerts


def replay_alerts(rows, rules, call_id):
    """The alerts a finished call's rows fire, in order.

    Arguments
    ---------
    rows : list of dict
        Its rows (``speaker``, ``start``, ``end``, ``label``, ``error``).
    rules : list of AlertRule
        The rules.
    call_id : str
        The call.

    Returns
    -------
    list of dict
        ``alert`` events.

    Example
    -------
    >>> rows = [{"speaker": "a", "start": k, "end": k + 3, "label": "x",
    ...          "error": ""} for k in range(6)]
    >>> [a["end"] for a in replay_alerts(rows, [parse_alert("a:x:0.9:10")],
    ...                                  "c")]
    [7.0]
    """
    watch = AlertWatch(rules, call_id)
    alerts = []
    for row in rows:
        if not row.get("error"):
            alerts += watch.feed(
                row["speaker"], row["start"], row["end"], row["label"]
            )
    return alerts


class AlertHub(EventHub):
    """The server's event hub, watching every call's ``emotion`` events
    with the alert rules: an alert goes to the call's subscribers like any
    event, and is kept (``alerts``) while the call lasts.

    Arguments
    ---------
    queue_size : int
        Events each subscriber may have waiting.
    rules : list of AlertRule
        The rules.

    Example
    -------
    >>> hub = AlertHub(8, [parse_alert("b:sad:0.5:10")])
    >>> sub = hub.subscribe("c")
    >>> for k in range(5):
    ...     hub.publish("c", {"type": "emotion", "speaker": "b",
    ...                       "start": k, "end": k + 3.0, "label": "sad"})
    >>> [sub.queue.get_nowait()["type"] for _ in range(6)][-2:]
    ['emotion', 'alert']
    >>> len(hub.alerts["c"])
    1
    """

    def __init__(self, queue_size, rules):
        super().__init__(queue_size)
        self.rules = list(rules)
        self._watches = {}
        self.alerts = {}  # call_id -> alerts of a live call

    def publish(self, call_id, event):
        """Sends an event to the call's subscribers, then any alert it
        fires.

        Arguments
        ---------
        call_id : str
            The call.
        event : dict or None
            The event.
        """
        super().publish(call_id, event)
        if not self.rules or not event or event.get("type") != "emotion":
            return
        watch = self._watches.get(call_id)
        if watch is None:
            watch = self._watches[call_id] = AlertWatch(self.rules, call_id)
        for alert in watch.feed(
            event["speaker"], event["start"], event["end"], event["label"]
        ):
            logger.info(
                "call %s: alert %s (share %.2f of %d windows, %.1f-%.1f s)",
                call_id,
                alert["rule"],
                alert["share"],
                alert["windows"],
                alert["start"],
                alert["end"],
            )
            self.alerts.setdefault(call_id, []).append(alert)
            super().publish(call_id, alert)

    def end(self, call_id):
        """Tells the subscribers that the call ended; forgets its alerts.

        Arguments
        ---------
        call_id : str
            The call.
        """
        super().end(call_id)
        self._watches.pop(call_id, None)
        self.alerts.pop(call_id, None)


# ------------------------------------------------------------------ audio


class AudioKeeper:
    """Keeps a streamed call's audio (``--keep_audio``): the bytes as
    received go to a temporary file in ``out_dir``; ``close`` turns them
    into ``<call_id>.wav`` (16-bit PCM; G.711 decoded as soundfile decodes
    it, which 16 bits hold exactly), written under a temporary name and
    renamed. A file that cannot be written costs the call its audio, never
    the call.

    Arguments
    ---------
    out_dir : str
        The folder.
    call_id : str
        The call.
    encoding : str
        ``pcm_s16le``, ``mulaw`` or ``alaw``.
    sample_rate : int
        Its rate.
    channels : int
        Interleaved channels.

    Example
    -------
    >>> import tempfile, soundfile
    >>> folder = tempfile.mkdtemp()
    >>> keeper = AudioKeeper(folder, "c1", "mulaw", 8000, 2)
    >>> keeper.write(bytes([0x00, 0xFF, 0x80]))  # half a frame at the end
    >>> path = keeper.close()
    >>> soundfile.read(path, dtype="int16")[0].tolist(), os.listdir(folder)
    ([[-32124, 0]], ['c1.wav'])
    """

    def __init__(self, out_dir, call_id, encoding, sample_rate, channels):
        from speechbrain_gemo.streaming import BYTES_PER_SAMPLE

        self.path = os.path.join(out_dir, f"{check_call_id(call_id)}.wav")
        self.part = os.path.join(
            out_dir, f".{call_id}.{os.getpid()}.audio.part"
        )
        self.encoding, self.sample_rate = encoding, int(sample_rate)
        self.channels = int(channels)
        self.frame_bytes = BYTES_PER_SAMPLE[encoding] * self.channels
        try:
            os.makedirs(out_dir, exist_ok=True)
            self._file = open(self.part, "wb")
        except OSError as err:
            logger.error("call %s: audio not kept: %s", call_id, err)
            self._file = None

    def write(self, data):
        """Appends received bytes.

        Arguments
        ---------
        data : bytes
            The next piece of the call's audio.
        """
        if self._file is None:
            return
        try:
            self._file.write(data)
        except OSError as err:
            logger.error("%s: audio not kept: %s", self.path, err)
            self.discard()

    def close(self):
        """Writes ``<call_id>.wav`` from what was received (whole frames).

        Returns
        -------
        str or None
            The file, or None when the audio could not be kept.
        """
        import numpy as np
        import soundfile

        from speechbrain_gemo.streaming import codec_table

        if self._file is None:
            return None
        self._file.close()
        self._file = None
        tmp = f"{self.path}.tmp-{os.getpid()}.wav"
        block = self.frame_bytes * 65536
        try:
            with (
                open(self.part, "rb") as source,
                soundfile.SoundFile(
                    tmp,
                    "w",
                    self.sample_rate,
                    self.channels,
                    "PCM_16",
                    format="WAV",
                ) as out,
            ):
                while True:
                    data = source.read(block)
                    data = data[
                        : len(data) // self.frame_bytes * self.frame_bytes
                    ]
                    if not data:
                        break
                    if self.encoding == "pcm_s16le":
                        values = np.frombuffer(data, dtype="<i2")
                    else:
                        codes = np.frombuffer(data, dtype=np.uint8)
                        table = codec_table(self.encoding) * 32768.0
                        values = np.round(table[codes]).astype(np.int16)
                    out.write(values.reshape(-1, self.channels))
            os.replace(tmp, self.path)
        except (OSError, RuntimeError) as err:  # soundfile: RuntimeError
            logger.error("%s: audio not kept: %s", self.path, err)
            _remove(tmp)
            return None
        finally:
            _remove(self.part)
        return self.path

    def discard(self):
        """Drops what was kept (a call given up, a file that failed)."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
        _remove(self.part)


def _remove(path):
    """Removes a file if it is there."""
    try:
        os.remove(path)
    except OSError:
        pass


# ------------------------------------------------------------------ login


class Sessions:
    """Login sessions of browsers: a cookie value is ``EXPIRY.ID.MAC``,
    its MAC an HMAC-SHA256 of ``EXPIRY.ID`` under a key made when the
    server starts, checked in constant time; ``revoke`` ends one before
    its expiry.

    Arguments
    ---------
    lifetime : float
        Seconds a session lasts.

    Example
    -------
    >>> sessions = Sessions(60)
    >>> value = sessions.issue()
    >>> sessions.valid(value), sessions.valid(value[:-1] + "x")
    (True, False)
    >>> sessions.revoke(value); sessions.valid(value)
    False
    """

    def __init__(self, lifetime=SESSION_SECONDS):
        self.lifetime = float(lifetime)
        self._key = secrets.token_bytes(32)
        self._revoked = {}  # id -> expiry

    def _mac(self, text):
        """The MAC of a cookie's ``EXPIRY.ID``."""
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self):
        """A new session's cookie value.

        Returns
        -------
        str
            ``EXPIRY.ID.MAC``.
        """
        text = f"{int(time.time() + self.lifetime)}.{secrets.token_urlsafe(16)}"
        return f"{text}.{self._mac(text)}"

    def _parts(self, value):
        """``(expiry, id)`` of a genuine, unexpired value, else None."""
        expiry, _, rest = str(value).partition(".")
        sid, _, mac = rest.partition(".")
        ok = hmac.compare_digest(
            mac.encode(), self._mac(f"{expiry}.{sid}").encode()
        )
        if not ok or not expiry.isdigit() or int(expiry) < time.time():
            return None
        return int(expiry), sid

    def valid(self, value):
        """Whether a cookie value is a live session.

        Arguments
        ---------
        value : str
            The cookie's value.

        Returns
        -------
        bool
            True when genuine, unexpired and not revoked.
        """
        parts = self._parts(value)
        return parts is not None and parts[1] not in self._revoked

    def revoke(self, value):
        """Ends a session (logout).

        Arguments
        ---------
        value : str
            The cookie's value.
        """
        parts = self._parts(value)
        now = time.time()
        self._revoked = {s: e for s, e in self._revoked.items() if e >= now}
        if parts is not None:
            self._revoked[parts[1]] = parts[0]


def _header(scope, name):
    """An ASGI header's value (str), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def session_cookie(scope):
    """The session cookie's value in a request, or None.

    Arguments
    ---------
    scope : dict
        The ASGI scope.

    Returns
    -------
    str or None
        The value.

    Example
    -------
    >>> session_cookie({"headers": [(b"cookie", b"a=1; gemo_session=x.y.z")]})
    'x.y.z'
    """
    from http.cookies import CookieError, SimpleCookie

    found = None
    for key, value in scope.get("headers", []):
        if key != b"cookie":
            continue
        jar = SimpleCookie()
        try:
            jar.load(value.decode("latin-1"))
        except CookieError:
            continue
        if SESSION_COOKIE in jar:
            found = jar[SESSION_COOKIE].value
    return found


def same_origin(scope, public_url=None):
    """Whether a request comes from the server's own pages: no ``Origin``
    header (not a cross-site browser request), or one naming the host the
    request was sent to (or ``public_url``'s). Browsers send ``Origin``
    with every WebSocket upgrade and POST, so a session cookie never
    serves another site's page.

    Arguments
    ---------
    scope : dict
        The ASGI scope.
    public_url : str, optional
        The scheme and host the world uses.

    Returns
    -------
    bool
        True when same-origin.

    Example
    -------
    >>> scope = {"headers": [(b"host", b"127.0.0.1:8000"),
    ...                      (b"origin", b"http://evil.example")]}
    >>> same_origin(scope), same_origin({"headers": scope["headers"][:1]})
    (False, True)
    """
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    hosts = {_header(scope, b"host")}
    if public_url:
        hosts.add(urlsplit(public_url).netloc)
    return urlsplit(origin).netloc in hosts - {None}


def is_page(path):
    """Whether a path is one of the HTML pages (sent to the login when
    the browser is not logged in).

    Arguments
    ---------
    path : str
        The request path.

    Returns
    -------
    bool
        True for ``/`` and ``/call/...``.

    Example
    -------
    >>> is_page("/"), is_page("/call/c1"), is_page("/page/calls")
    (True, True, False)
    """
    return path == "/" or path.startswith("/call/")


class PageGate:
    """ASGI middleware in front of ``KeyCheck``: lets in the login page
    and the page's static files, requests with a valid session cookie
    from the server's own origin, and sends browsers that are not logged
    in from a page to the login; everything else goes to ``KeyCheck``
    (``Authorization: Bearer``, open paths, 401).

    Arguments
    ---------
    keycheck : KeyCheck
        The API-key middleware around the application.
    sessions : Sessions
        The login sessions.
    public_url : str, optional
        See ``same_origin``.
    """

    def __init__(self, keycheck, sessions, public_url=None):
        self.keycheck, self.app = keycheck, keycheck.app
        self.sessions, self.public_url = sessions, public_url

    async def __call__(self, scope, receive, send):
        """Passes the request on, redirects it, or leaves it to
        ``KeyCheck``."""
        if self.keycheck.key is None or scope["type"] not in (
            "http",
            "websocket",
        ):
            await self.keycheck(scope, receive, send)
            return
        path = scope["path"]
        if path == "/login" or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        cookie = session_cookie(scope)
        if (
            cookie is not None
            and self.sessions.valid(cookie)
            and same_origin(scope, self.public_url)
        ):
            await self.app(scope, receive, send)
            return
        if (
            scope["type"] == "http"
            and scope.get("method") == "GET"
            and is_page(path)
            and not _header(scope, b"authorization")
        ):
            target = "/login?next=" + quote(path, safe="/")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", target.encode()),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.keycheck(scope, receive, send)


def safe_next(target):
    """A local path to go to after the login (never another site).

    Arguments
    ---------
    target : str or None
        The ``next`` field.

    Returns
    -------
    str
        ``target`` when it is a path of this server, else ``/``.

    Example
    -------
    >>> safe_next("/call/c1"), safe_next("//evil.example"), safe_next(None)
    ('/call/c1', '/', '/')
    """
    target = str(target or "")
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return "/"
    return target


# ---------------------------------------------------------------- archive


def _float(text):
    """A CSV cell as a float (None when empty)."""
    return float(text) if text not in (None, "") else None


def read_rows(path, labels):
    """A call's rows from its ``<call_id>.csv``.

    Arguments
    ---------
    path : str
        The CSV.
    labels : list of str
        The classes (its ``prob_<class>`` columns).

    Returns
    -------
    list of dict
        ``speaker``, ``start``, ``end``, ``label``, ``score``, ``probs``,
        ``error``.
    """
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for line in csv.DictReader(f):
            error = line.get("error") or ""
            probs = None
            if not error:
                probs = {
                    label: _float(line.get(f"prob_{label}")) for label in labels
                }
            rows.append(
                {
                    "speaker": line.get("speaker") or "",
                    "start": _float(line.get("start")),
                    "end": _float(line.get("end")),
                    "label": line.get("label") or None,
                    "score": _float(line.get("score")),
                    "probs": probs,
                    "error": error,
                }
            )
    return [r for r in rows if r["start"] is not None]


def read_summary(path):
    """A call's ``<call_id>_summary.csv`` as the ``summary`` event's
    fields (``calls.summary_fields``).

    Arguments
    ---------
    path : str
        The CSV.

    Returns
    -------
    dict
        ``{"speakers": {role: {"seconds": s, "labels": {...}}}}``.
    """
    with open(path, newline="", encoding="utf-8") as f:
        entries = [
            {
                "speaker": line["speaker"],
                "label": line["label"],
                "seconds": float(line["seconds"]),
                "share": float(line["share"]),
            }
            for line in csv.DictReader(f)
        ]
    return summary_fields(entries)


def shares_of(summary):
    """Per role, the share of each class (everyone's ``*`` left out).

    Arguments
    ---------
    summary : dict
        ``summary_fields``' result.

    Returns
    -------
    dict
        ``{role: {label: share}}``.

    Example
    -------
    >>> shares_of({"speakers": {"*": {"seconds": 1, "labels": {}},
    ...     "a": {"seconds": 1, "labels": {"sad": {"seconds": 1,
    ...                                          "share": 1.0}}}}})
    {'a': {'sad': 1.0}}
    """
    return {
        role: {label: v["share"] for label, v in info["labels"].items()}
        for role, info in summary["speakers"].items()
        if role != "*"
    }


def row_of_event(row):
    """A row (or an ``emotion`` event) as the page draws it.

    Arguments
    ---------
    row : dict
        A row of ``speechbrain_gemo.rows``.

    Returns
    -------
    dict
        ``speaker``, ``start``, ``end``, ``label``, ``score``, ``probs``,
        ``error``.

    Example
    -------
    >>> row_of_event({"speaker": "a", "start": 0.0, "end": 3.0,
    ...     "error": "x"})["probs"] is None
    True
    """
    error = row.get("error") or ""
    return {
        "speaker": row.get("speaker") or "",
        "start": row.get("start"),
        "end": row.get("end"),
        "label": None if error else row.get("label"),
        "score": None if error else row.get("score"),
        "probs": None if error else row.get("probs"),
        "error": error,
    }


class Archive:
    """The finished calls of ``--out_dir``: each ``<call_id>.json`` with
    its ``<call_id>_summary.csv`` and ``<call_id>.csv``, read once per
    version of the file (a cache keyed by modification time and size).

    Arguments
    ---------
    out_dir : str or None
        The folder (None: no finished calls).
    labels : list of str
        The classes.
    rules : list of AlertRule
        Alert rules (run over each call's rows).
    """

    def __init__(self, out_dir, labels, rules):
        self.out_dir, self.labels, self.rules = out_dir, list(labels), rules
        self._cache = {}  # call_id -> (stamp, entry)

    def files(self, call_id):
        """The files of a call.

        Arguments
        ---------
        call_id : str
            A checked call id.

        Returns
        -------
        dict
            ``json``, ``csv``, ``summary``, ``audio`` paths.
        """
        stem = os.path.join(self.out_dir, check_call_id(call_id))
        return {
            "json": f"{stem}.json",
            "csv": f"{stem}.csv",
            "summary": f"{stem}_summary.csv",
            "audio": f"{stem}.wav",
        }

    def entry(self, call_id):
        """A finished call's list entry, or None when it is not there or
        its files cannot be read.

        Arguments
        ---------
        call_id : str
            The call.

        Returns
        -------
        dict or None
            See ``Page.calls``.
        """
        if not self.out_dir:
            return None
        try:
            files = self.files(call_id)
            info = os.stat(files["json"])
        except (ValueError, OSError):
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._cache.get(call_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            with open(files["json"], encoding="utf-8") as f:
                record = json.load(f)
            summary = read_summary(files["summary"])
            rows = read_rows(files["csv"], self.labels)
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.warning("%s: not listed (%s)", files["json"], err)
            self._cache[call_id] = (stamp, None)
            return None
        entry = {
            "call_id": call_id,
            "live": False,
            "source": record.get("source"),
            "roles": record.get("roles") or [],
            "started_at": record.get("started_at"),
            "ended_at": record.get("ended_at"),
            "seconds": record.get("seconds"),
            "ended": record.get("ended"),
            "window": record.get("window"),
            "hop": record.get("hop"),
            "shares": shares_of(summary),
            "alerts": replay_alerts(rows, self.rules, call_id),
            "audio": os.path.exists(files["audio"]),
        }
        self._cache[call_id] = (stamp, entry)
        return entry

    def ids(self):
        """The ids of the calls in the folder.

        Returns
        -------
        list of str
            Call ids (names of ``*.json`` files that are call ids).
        """
        if not self.out_dir:
            return []
        try:
            names = os.listdir(self.out_dir)
        except OSError:
            return []
        found = []
        for name in names:
            if name.endswith(".json"):
                try:
                    found.append(check_call_id(name[: -len(".json")]))
                except ValueError:
                    continue
        return found

    def detail(self, call_id):
        """A finished call's rows, summary and alerts.

        Arguments
        ---------
        call_id : str
            The call.

        Returns
        -------
        dict or None
            ``call`` (its entry), ``rows``, ``summary``, ``alerts``.
        """
        entry = self.entry(call_id)
        if entry is None:
            return None
        files = self.files(call_id)
        try:
            rows = read_rows(files["csv"], self.labels)
            summary = read_summary(files["summary"])
        except (OSError, ValueError, KeyError) as err:
            logger.warning("%s: cannot be shown (%s)", files["csv"], err)
            return None
        return {
            "call": entry,
            "rows": rows,
            "summary": summary,
            "alerts": entry["alerts"],
        }


def newest_first(live, archive, limit=MAX_LISTED):
    """Live and finished calls, newest first; a finished call whose
    files cannot be read is left out (and logged), never the list.

    Arguments
    ---------
    live : dict
        Call id to the entry of a live call.
    archive : Archive
        The finished calls.
    limit : int
        Most calls listed.

    Returns
    -------
    list of dict
        ``call_id``, ``live``, ``source``, ``roles``, ``started_at``,
        ``ended_at``, ``seconds``, ``ended``, ``window``, ``hop``,
        ``shares`` (``{role: {label: share}}``), ``alerts``, ``audio``.

    Example
    -------
    >>> live = {"c2": {"call_id": "c2", "started_at": 5.0}}
    >>> [e["call_id"] for e in newest_first(live, Archive(None, [], []))]
    ['c2']
    """
    entries = list(live.values())
    for call_id in archive.ids():
        if call_id not in live:
            entry = archive.entry(call_id)
            if entry is not None:
                entries.append(entry)
    entries.sort(key=lambda e: e.get("started_at") or 0.0, reverse=True)
    return entries[:limit]


def remove_stale_audio(out_dir):
    """Removes the audio a killed server left half-kept in ``out_dir``
    (``.<call_id>.<pid>.audio.part`` of a process that is gone): personal
    data of calls that have no files.

    Arguments
    ---------
    out_dir : str
        The folder.

    Returns
    -------
    list of str
        The files removed.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> mine = os.path.join(folder, f".c1.{os.getpid()}.audio.part")
    >>> gone = os.path.join(folder, ".c2.999999999.audio.part")
    >>> for path in (mine, gone):
    ...     _ = open(path, "wb").write(b"x")
    >>> remove_stale_audio(folder) == [gone], os.path.exists(mine)
    (True, True)
    """
    removed = []
    try:
        names = os.listdir(out_dir)
    except OSError:
        return removed
    for name in names:
        found = re.match(r"^\.(.+)\.(\d+)\.audio\.part$", name)
        if not found:
            continue
        try:
            os.kill(int(found.group(2)), 0)
            continue  # its server still runs
        except PermissionError:
            continue  # another user's process runs with that pid
        except (ProcessLookupError, OverflowError):
            pass  # gone (or never a pid)
        path = os.path.join(out_dir, name)
        _remove(path)
        removed.append(path)
        logger.info("removed %s: audio of a call its server never ended", path)
    return removed


# ------------------------------------------------------------------ state


class Page:
    """What the page routes share: the server, its archive and sessions.

    Arguments
    ---------
    server : speechbrain_gemo.serve.app.Server
        The server.
    """

    def __init__(self, server):
        from speechbrain_gemo.plotting import class_colours
        from speechbrain_gemo.prompts import label_words

        options = server.options
        self.server = server
        self.rules = list(getattr(options, "alerts", None) or [])
        self.keep_audio = bool(getattr(options, "keep_audio", False))
        self.words = label_words(server.labels)
        self.colours = class_colours(server.labels, self.words)
        self.archive = Archive(options.out_dir, server.labels, self.rules)
        self.sessions = Sessions()
        self._live = {}  # call_id -> (session, rows counted, shares)

    def live_entry(self, session):
        """A live call's list entry (its shares computed once per number
        of rows).

        Arguments
        ---------
        session : CallSession
            The call.

        Returns
        -------
        dict
            See ``calls``.
        """
        record = call_record(session)
        rows = session.rows
        cached = self._live.get(session.call_id)
        if cached is None or cached[0] is not session or cached[1] != len(rows):
            summary = summary_fields(
                self.server.summary(list(rows), record["hop"])
            )
            cached = (session, len(rows), shares_of(summary))
            self._live[session.call_id] = cached
        alerts = getattr(self.server.hub, "alerts", {}).get(session.call_id)
        return {
            "call_id": session.call_id,
            "live": True,
            "source": record["source"],
            "roles": record["roles"],
            "started_at": record["started_at"],
            "ended_at": None,
            "seconds": record["seconds"],
            "ended": None,
            "window": record["window"],
            "hop": record["hop"],
            "shares": cached[2],
            "alerts": list(alerts or []),
            "audio": False,
        }

    def live_entries(self):
        """The entries of the live calls (in the event loop's thread).

        Returns
        -------
        dict
            Call id to entry.
        """
        for call_id in set(self._live) - set(self.server.calls):
            del self._live[call_id]
        return {
            call_id: self.live_entry(session)
            for call_id, session in self.server.calls.items()
        }

    def calls(self, live, limit=MAX_LISTED):
        """Live and finished calls, newest first (reads ``--out_dir``:
        call it in a worker thread); see ``newest_first``.

        Arguments
        ---------
        live : dict
            ``live_entries()``.
        limit : int
            Most calls listed.

        Returns
        -------
        list of dict
            The entries.
        """
        return newest_first(live, self.archive, limit)

    def live_detail(self, call_id):
        """A live call's rows so far and alerts (in the event loop's
        thread), or None when it is not live.

        Arguments
        ---------
        call_id : str
            The call.

        Returns
        -------
        dict or None
            ``call``, ``rows``, ``summary`` (None), ``alerts``.
        """
        session = self.server.calls.get(call_id)
        if session is None:
            return None
        entry = self.live_entry(session)
        return {
            "call": entry,
            "rows": [row_of_event(r) for r in session.rows],
            "summary": None,
            "alerts": entry["alerts"],
        }


# ----------------------------------------------------------------- routes


def _static_text(name):
    """A file of ``static/`` as text."""
    with open(os.path.join(STATIC, name), encoding="utf-8") as f:
        return f.read()


def _html(text, status=200, headers=None):
    """An HTML response with the page's security headers."""
    from starlette.responses import HTMLResponse

    return HTMLResponse(text, status, {**SECURITY_HEADERS, **(headers or {})})


def _json(data, status=200):
    """A JSON response that is never cached."""
    from starlette.responses import JSONResponse

    return JSONResponse(data, status, {"Cache-Control": "no-store"})


def _page(request):
    """The ``Page`` of a request's server."""
    return request.app.state.server.page


async def index(request):
    """``GET /``: the list of calls."""
    return _html(_static_text("index.html"))


async def call_page(request):
    """``GET /call/{call_id}``: a call's page."""
    try:
        check_call_id(request.path_params["call_id"])
    except ValueError as err:
        return _html(f"<p>{html.escape(str(err))}</p>", 404)
    return _html(_static_text("call.html"))


def login_html(message="", target="/"):
    """The login page, with a message and the page to go to after it.

    Arguments
    ---------
    message : str
        Shown above the form (escaped).
    target : str
        The ``next`` field.

    Returns
    -------
    str
        The HTML.

    Example
    -------
    >>> "&lt;b&gt;" in login_html("<b>")
    True
    """
    text = _static_text("login.html")
    note = f'<p class="error" id="login-error">{html.escape(message)}</p>'
    text = text.replace("<!--message-->", note if message else "")
    return text.replace("{{next}}", html.escape(safe_next(target), True))


async def login_form(request):
    """``GET /login``."""
    return _html(login_html("", request.query_params.get("next")))


async def login(request):
    """``POST /login``: a right key sets the session cookie; a wrong one
    shows the login again (401)."""
    from starlette.responses import RedirectResponse

    server = request.app.state.server
    page = server.page
    key = server.options.api_key
    body = await request.body()
    if len(body) > 16384:
        return _html(login_html("The form is too large."), 413)
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    given = (fields.get("key") or [""])[0].strip().encode("utf-8")
    target = safe_next((fields.get("next") or ["/"])[0])
    who = (
        f"{request.client.host}:{request.client.port}"
        if request.client
        else "?"
    )
    if key is None:
        return RedirectResponse(target, 303)
    if not same_origin(request.scope, server.options.public_url):
        logger.info("login from %s refused: another site's form", who)
        return _html(login_html("Log in from this server's own page."), 403)
    if not hmac.compare_digest(given, key):
        logger.info("login from %s refused: wrong key", who)
        await asyncio.sleep(WRONG_KEY_DELAY)
        return _html(login_html("Wrong key.", target), 401)
    logger.info("login from %s", who)
    response = RedirectResponse(target, 303, headers=SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        page.sessions.issue(),
        max_age=int(page.sessions.lifetime),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https"
        or str(server.options.public_url or "").startswith(("https", "wss")),
    )
    return response


async def logout(request):
    """``POST /logout``: ends the session."""
    from starlette.responses import RedirectResponse

    cookie = session_cookie(request.scope)
    if cookie is not None:
        _page(request).sessions.revoke(cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def config(request):
    """``GET /page/config``."""
    server = request.app.state.server
    page = server.page
    return _json(
        {
            "labels": server.labels,
            "words": page.words,
            "colours": page.colours,
            "alerts": [rule.text for rule in page.rules],
            "keep_audio": page.keep_audio,
            "out_dir": bool(server.options.out_dir),
            "login": server.options.api_key is not None,
        }
    )


async def calls_list(request):
    """``GET /page/calls``."""
    page = _page(request)
    calls = await asyncio.to_thread(page.calls, page.live_entries())
    return _json({"calls": calls})


async def call_detail(request):
    """``GET /page/calls/{call_id}``."""
    call_id = request.path_params["call_id"]
    try:
        check_call_id(call_id)
    except ValueError as err:
        return _json({"error": str(err)}, 400)
    page = _page(request)
    detail = page.live_detail(call_id)
    if detail is None:
        detail = await asyncio.to_thread(page.archive.detail, call_id)
    if detail is None:
        return _json({"error": f"no call {call_id!r}"}, 404)
    return _json(detail)


async def call_audio(request):
    """``GET /page/calls/{call_id}/audio``: a kept call's WAV."""
    from starlette.responses import FileResponse

    call_id = request.path_params["call_id"]
    try:
        check_call_id(call_id)
    except ValueError as err:
        return _json({"error": str(err)}, 400)
    page = _page(request)
    if not page.keep_audio or not page.archive.out_dir:
        return _json({"error": "audio is not kept (--keep_audio)"}, 404)
    path = page.archive.files(call_id)["audio"]
    if not os.path.isfile(path):
        return _json({"error": f"no audio of call {call_id!r}"}, 404)
    return FileResponse(
        path, media_type="audio/wav", headers={"Cache-Control": "no-store"}
    )


def attach(server):
    """Adds the page to a server: its state (``server.page``), the hub
    that runs the alert rules, and its routes.

    Arguments
    ---------
    server : speechbrain_gemo.serve.app.Server
        The server (before it serves).

    Returns
    -------
    list
        Starlette routes.
    """
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    server.page = Page(server)
    if server.options.out_dir:
        remove_stale_audio(server.options.out_dir)
    if server.page.rules:
        hub = AlertHub(server.hub.queue_size, server.page.rules)
        server.hub = hub
    return [
        Route("/", index),
        Route("/call/{call_id}", call_page),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/page/config", config),
        Route("/page/calls", calls_list),
        Route("/page/calls/{call_id}", call_detail),
        Route("/page/calls/{call_id}/audio", call_audio),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def gate(keycheck, server):
    """The login in front of the API-key check (see ``PageGate``).

    Arguments
    ---------
    keycheck : KeyCheck
        The API-key middleware around the application.
    server : speechbrain_gemo.serve.app.Server
        The server (after ``attach``).

    Returns
    -------
    PageGate
        The outermost ASGI application.
    """
    return PageGate(keycheck, server.page.sessions, server.options.public_url)
