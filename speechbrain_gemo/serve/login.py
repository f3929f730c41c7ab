"""Browsers' login to the emotion server when ``--api_key_file`` is on:
a browser cannot put the key in an ``Authorization`` header of a
WebSocket, so it posts the key to ``/login`` once (never in a URL) and
gets an HttpOnly, SameSite=Strict session cookie (``SESSION_COOKIE``)
that stands for the key on every page, API request and WebSocket upgrade
of the same origin, for ``SESSION_SECONDS``.

A cookie's value is a random id and an expiry signed with a key made when
the server starts (a restart logs everyone out), checked in constant
time; ``Sessions.revoke`` (``POST /logout``) ends one. ``PageGate`` sits
in front of the API-key check (``security.KeyCheck``), which still takes
``Authorization: Bearer`` and keeps ``/health`` and ``/v1/twilio`` open.

Authors
 * speechbrain-gemo developers 2026
"""

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote, urlsplit

SESSION_COOKIE = "gemo_session"
SESSION_SECONDS = 12 * 3600


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
