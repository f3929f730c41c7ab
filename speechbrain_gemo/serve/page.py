"""The supervisor's web page of the emotion server: the live calls and
the finished calls of ``--out_dir``, a call's lanes, its audio and alerts,
and the login that lets a browser in when ``--api_key_file`` is on.

Routes (``attach`` returns them; ``gate`` puts the login in front of the
application):

- ``GET /``: the list of calls (``static/index.html``);
- ``GET /call/{call_id}``: a call's page (``static/call.html``);
- ``GET /login``, ``POST /login`` (form field ``key``), ``POST /logout``
  (sessions: ``serve.login``);
- ``GET /static/...``: the page's HTML, CSS and JavaScript, shipped in the
  package (no build step, nothing fetched from elsewhere);
- ``GET /page/config``: classes, their words and colours
  (``plotting.class_colours``, the palette of the plots), alert rules,
  whether audio is kept;
- ``GET /page/calls``: live and finished calls, newest first, each with
  its roles, the share of each class per role and its alerts
  (``serve.alerts``; finished calls: ``serve.archive``);
- ``GET /page/calls/{call_id}``: a call's rows, summary and alerts;
- ``GET /page/calls/{call_id}/audio``: a finished call's audio (WAV, 16-bit
  PCM), with ``--keep_audio`` only (``archive.AudioKeeper``).

A live call's page follows ``WebSocket /v1/calls/{call_id}/events``.

Authors
 * speechbrain-gemo developers 2026
"""

import asyncio
import hmac
import html
import logging
import os
from urllib.parse import parse_qs

from speechbrain_gemo.serve.alerts import AlertHub
from speechbrain_gemo.serve.archive import (
    MAX_LISTED,
    Archive,
    newest_first,
    remove_stale_audio,
    row_of_event,
    shares_of,
)
from speechbrain_gemo.serve.calls import (
    call_record,
    check_call_id,
    summary_fields,
)
from speechbrain_gemo.serve.login import (
    SESSION_COOKIE,
    PageGate,
    Sessions,
    safe_next,
    same_origin,
    session_cookie,
)

logger = logging.getLogger("speechbrain_gemo.serve")

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
# a wrong key waits this long before the login shows again
WRONG_KEY_DELAY = 0.5
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


class Page:
    """What the page routes share: the server, its archive and sessions.

    Arguments
    ---------
    server : speechbrain_gemo.serve.app.Server
        The server.
    """

    def __init__(self, server):
        from speechbrain_gemo.plotting import class_colours

        options = server.options
        self.server = server
        self.rules = list(getattr(options, "alerts", None) or [])
        self.keep_audio = bool(getattr(options, "keep_audio", False))
        # the model's labels are the words people read (``angry``); its
        # codes (``ang``) go beside them in the legend
        codes = getattr(server.model, "label_codes", None) or server.labels
        self.words = dict(zip(server.labels, server.labels))
        self.codes = dict(zip(server.labels, codes))
        self.colours = class_colours(server.labels)
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
    """``GET /login`` (without ``--api_key_file``: the list)."""
    from starlette.responses import RedirectResponse

    if request.app.state.server.options.api_key is None:
        return RedirectResponse("/", 303)
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
            "codes": page.codes,
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
