"""Who may talk to the server: the API key of every request and WebSocket
upgrade (``KeyCheck``), and the signature Twilio puts on its Media Streams
upgrades (``twilio_signature``, ``twilio_signed``).

Both compare in constant time (``hmac.compare_digest``).

Authors
 * speechbrain-gemo developers 2026
"""

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit, urlunsplit


def read_secret(path, what):
    """Reads a key or token from a file (surrounding whitespace dropped).

    Arguments
    ---------
    path : str
        The file.
    what : str
        What it holds, for the error.

    Returns
    -------
    bytes
        The secret.

    Raises
    ------
    ValueError
        The file is empty or cannot be read.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "key")
    >>> _ = open(path, "w").write(" s3cret\\n")
    >>> read_secret(path, "API key")
    b's3cret'
    """
    try:
        with open(path, "rb") as f:
            secret = f.read().strip()
    except OSError as err:
        raise ValueError(f"{path}: cannot read the {what} ({err})") from err
    if not secret:
        raise ValueError(f"{path}: the {what} file is empty")
    return secret


def bearer_ok(headers, key):
    """Whether the ``Authorization: Bearer KEY`` header carries ``key``,
    compared in constant time.

    Arguments
    ---------
    headers : list of tuple
        ASGI headers (lower-case byte names and byte values).
    key : bytes
        The key.

    Returns
    -------
    bool
        True for the right key.

    Example
    -------
    >>> bearer_ok([(b"authorization", b"Bearer abc")], b"abc")
    True
    >>> bearer_ok([(b"authorization", b"Bearer abd")], b"abc")
    False
    """
    value = b""
    for name, found in headers:
        if name == b"authorization":
            value = found
    scheme, _, given = value.partition(b" ")
    if scheme.lower() != b"bearer":
        given = b""
    # compare_digest takes the same time whatever the first difference
    return hmac.compare_digest(given.strip(), key)


class KeyCheck:
    """ASGI middleware: every HTTP request and WebSocket upgrade needs
    the API key, except the paths of ``open_paths``; others are refused
    with 401 (a WebSocket upgrade as an HTTP 401 response, where the
    server supports ASGI's denial responses, else 403).

    Arguments
    ---------
    app : ASGI application
        The application.
    key : bytes or None
        The key (None: every request passes).
    open_paths : set of str
        Paths that need no key (``/health``, ``/v1/twilio``).
    on_refused : callable, optional
        Called with the ASGI scope of each refused request (logging).
    """

    def __init__(self, app, key, open_paths, on_refused=None):
        self.app, self.key = app, key
        self.open_paths = set(open_paths)
        self.on_refused = on_refused

    async def __call__(self, scope, receive, send):
        """Passes the request on or refuses it."""
        kind = scope["type"]
        if (
            self.key is None
            or kind not in ("http", "websocket")
            or scope["path"] in self.open_paths
            or bearer_ok(scope.get("headers", []), self.key)
        ):
            await self.app(scope, receive, send)
            return
        if self.on_refused:
            self.on_refused(scope)
        await deny(scope, receive, send, 401, "missing or wrong API key")


async def deny(scope, receive, send, status, reason):
    """Refuses an HTTP request or a WebSocket upgrade with ``status`` and
    a JSON body ``{"error": reason}``.

    Arguments
    ---------
    scope : dict
        The ASGI scope.
    receive : callable
        ASGI receive.
    send : callable
        ASGI send.
    status : int
        The HTTP status.
    reason : str
        Why.
    """
    body = json.dumps({"error": reason}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": headers,
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def twilio_signature(token, url, params=None):
    """The ``X-Twilio-Signature`` of a request, as Twilio computes it: the
    base64 HMAC-SHA1, keyed by the account's auth token, of the full URL
    followed by each POST parameter's name and value, sorted by name (a
    WebSocket upgrade has none).

    Arguments
    ---------
    token : bytes
        The auth token.
    url : str
        The full URL Twilio requested (scheme, host, path, query).
    params : dict, optional
        POST parameters (name to value).

    Returns
    -------
    str
        The signature.

    Example
    -------
    >>> twilio_signature(b"12345", "https://mycompany.com/myapp.php?foo=1"
    ...     "&bar=2", {"CallSid": "CA1234567890ABCDE", "Caller":
    ...     "+12349013030", "Digits": "1234", "From": "+12349013030",
    ...     "To": "+18005551212"})
    '0/KCTR6DLpKmkAf8muzZqo1nDgQ='
    """
    text = url + "".join(
        name + value for name, value in sorted((params or {}).items())
    )
    digest = hmac.new(token, text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def candidate_urls(url):
    """The spellings of a URL whose signature Twilio may have sent: as it
    is, without its port, and with the scheme's default port (Twilio's
    helper libraries accept both, since its signing is not consistent
    about ports).

    Arguments
    ---------
    url : str
        The URL.

    Returns
    -------
    list of str
        Distinct spellings.

    Example
    -------
    >>> candidate_urls("wss://example.com/v1/twilio")
    ['wss://example.com/v1/twilio', 'wss://example.com:443/v1/twilio']
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    default = 443 if parts.scheme in ("https", "wss") else 80
    spellings = [url, urlunsplit(parts._replace(netloc=host))]
    spellings.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    return list(dict.fromkeys(spellings))


def request_url(scope, public_url=None):
    """The full URL of a request as its client asked for it: the
    ``public_url`` (scheme and host the world uses, e.g. behind a TLS
    proxy) or the request's own scheme and ``Host`` header, then path and
    query.

    Arguments
    ---------
    scope : dict
        The ASGI scope.
    public_url : str, optional
        E.g. ``wss://calls.example.com``.

    Returns
    -------
    str
        The URL.

    Example
    -------
    >>> scope = {"scheme": "ws", "path": "/v1/twilio", "query_string": b"",
    ...          "headers": [(b"host", b"127.0.0.1:8000")]}
    >>> request_url(scope), request_url(scope, "wss://a.example/")
    ('ws://127.0.0.1:8000/v1/twilio', 'wss://a.example/v1/twilio')
    """
    query = scope.get("query_string", b"").decode("latin-1")
    tail = scope["path"] + (f"?{query}" if query else "")
    if public_url:
        return public_url.rstrip("/") + tail
    host = ""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1")
    return f"{scope.get('scheme', 'ws')}://{host}{tail}"


def twilio_signed(scope, token, public_url=None):
    """Whether a request carries Twilio's valid signature for its URL (any
    spelling of ``candidate_urls``; without ``public_url``, the ``wss``
    spelling too, as Twilio only calls ``wss`` URLs and a TLS proxy may
    stand in front), compared in constant time.

    Arguments
    ---------
    scope : dict
        The ASGI scope of the upgrade.
    token : bytes
        The account's auth token.
    public_url : str, optional
        See ``request_url``.

    Returns
    -------
    bool
        True when signed.

    Example
    -------
    >>> scope = {"scheme": "ws", "path": "/v1/twilio", "query_string": b"",
    ...          "headers": [(b"host", b"calls.example.com")]}
    >>> sig = twilio_signature(b"tok", "wss://calls.example.com/v1/twilio")
    >>> scope["headers"].append((b"x-twilio-signature", sig.encode()))
    >>> twilio_signed(scope, b"tok"), twilio_signed(scope, b"other")
    (True, False)
    """
    given = b""
    for name, value in scope.get("headers", []):
        if name == b"x-twilio-signature":
            given = value.strip()
    url = request_url(scope, public_url)
    urls = candidate_urls(url)
    if not public_url and url.startswith("ws://"):
        urls += candidate_urls("wss://" + url[len("ws://") :])
    ok = False
    for spelling in urls:
        expected = twilio_signature(token, spelling).encode("ascii")
        ok |= hmac.compare_digest(given, expected)
    return bool(given) and ok
