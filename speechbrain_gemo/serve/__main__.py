"""Command line of the emotion server: ``python -m speechbrain_gemo.serve
--model DIR`` (see ``speechbrain_gemo.serve``).

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import logging
import sys

from speechbrain_gemo.channels import CROSSTALK_DB
from speechbrain_gemo.infer import load_model


def _positive(text):
    """An argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _count(text):
    """An argparse type: a whole number >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _roles(text):
    """``--twilio_roles inbound=customer,outbound=agent``."""
    roles = {}
    for part in text.split(","):
        track, _, role = part.partition("=")
        track, role = track.strip(), role.strip()
        if track not in ("inbound", "outbound") or not role:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected inbound=ROLE,outbound=ROLE"
            )
        roles[track] = role
    return roles


def parse_args(argv=None):
    """Parses the command line.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options.

    Example
    -------
    >>> args = parse_args(["--model", "m"])
    >>> args.host, args.port, args.max_streams, args.backend
    ('127.0.0.1', 8000, 16, 'pytorch')
    >>> args.keep_audio, args.alert
    (False, None)
    """
    from speechbrain_gemo.serve.alerts import parse_alert

    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.serve",
        description="Serve emotion recognition over HTTP and WebSockets: "
        "files, recordings and live calls (/v1/stream, Twilio Media "
        "Streams on /v1/twilio).",
    )
    parser.add_argument(
        "--model", required=True, help="export folder (or ONNX folder)"
    )
    parser.add_argument(
        "--backend", choices=("pytorch", "onnx"), default="pytorch"
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "int8"),
        default=None,
        help="graph of an ONNX folder (default fp32)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only)",
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--api_key_file",
        help="file holding the API key every request needs as "
        "'Authorization: Bearer KEY' (except /health and /v1/twilio)",
    )
    parser.add_argument(
        "--max_streams",
        type=_count,
        default=16,
        help="calls streaming at once; more are closed with code 1013",
    )
    parser.add_argument(
        "--out_dir",
        help="write each finished call's rows, summary and facts here",
    )
    # the web page (speechbrain_gemo.serve.page, alerts, archive)
    parser.add_argument(
        "--keep_audio",
        action="store_true",
        help="keep each call's audio as <call_id>.wav in --out_dir, to play "
        "on its page (off by default: call audio is personal data)",
    )
    parser.add_argument(
        "--alert",
        action="append",
        metavar="ROLE:CLASS:SHARE:SECONDS",
        help="alert when ROLE's share of CLASS over the last SECONDS of a "
        "call is above SHARE (repeatable; 'none': no alerts; default "
        "customer:angry:0.5:30)",
    )
    parser.add_argument(
        "--max_upload_mb",
        type=_positive,
        default=50.0,
        help="largest body of POST /v1/classify and /v1/timeline (413)",
    )
    parser.add_argument(
        "--max_batch_size",
        type=_count,
        default=None,
        help="most windows of all calls classified together (1: no "
        "micro-batching; default 8, and 1 for the ONNX int8 graph, which "
        "runs each window on its own anyway: batching would only make a "
        "window's event wait for its batch)",
    )
    parser.add_argument(
        "--max_wait_ms",
        type=float,
        default=10.0,
        help="how long a window waits for others to be batched with",
    )
    parser.add_argument(
        "--max_queue",
        type=_count,
        default=256,
        help="events waiting for a client or subscriber before the oldest "
        "are dropped",
    )
    parser.add_argument(
        "--max_message_kb",
        type=_positive,
        default=1024,
        help="largest WebSocket message",
    )
    parser.add_argument(
        "--window", type=_positive, default=3.0, help="default window (s)"
    )
    parser.add_argument(
        "--hop", type=_positive, default=1.0, help="default hop (s)"
    )
    parser.add_argument(
        "--vad_threshold",
        type=float,
        default=0.5,
        help="Silero speech probability that makes a frame speech",
    )
    parser.add_argument(
        "--crosstalk_db",
        type=_positive,
        default=CROSSTALK_DB,
        help="calls of two or more channels: speech another channel "
        "carries more than this many dB louder (bleed, echo) is not "
        "attributed to the quieter channel (as infer --channels)",
    )
    parser.add_argument(
        "--twilio_auth_token_file",
        help="file holding the Twilio account's auth token: /v1/twilio "
        "accepts only upgrades signed with it (X-Twilio-Signature)",
    )
    parser.add_argument(
        "--twilio_unsigned",
        action="store_true",
        help="open /v1/twilio without signatures (tests, private networks)",
    )
    parser.add_argument(
        "--twilio_roles",
        type=_roles,
        default={"inbound": "customer", "outbound": "agent"},
        help="roles of the tracks (default inbound=customer,outbound=agent)",
    )
    parser.add_argument(
        "--public_url",
        help="scheme and host Twilio calls, e.g. wss://calls.example.com "
        "(for signatures behind a TLS proxy)",
    )
    parser.add_argument(
        "--threads",
        type=_count,
        default=None,
        help="threads of the model (default: PyTorch's / onnxruntime's)",
    )
    parser.add_argument(
        "--log_level", default="info", choices=("debug", "info", "warning")
    )
    args = parser.parse_args(argv)
    if args.backend != "onnx" and args.precision:
        parser.error("--precision is an option of --backend onnx")
    if args.max_wait_ms < 0:
        parser.error("--max_wait_ms must be >= 0")
    if args.hop > args.window or args.window > 60:
        parser.error("need --hop <= --window <= 60 seconds")
    if args.keep_audio and not args.out_dir:
        parser.error("--keep_audio needs --out_dir (where the audio goes)")
    for rule in args.alert or []:
        if rule.strip().lower() != "none":
            try:
                parse_alert(rule)
            except ValueError as err:
                parser.error(str(err))
    return args


def batch_size(args, model):
    """The micro-batch size: ``--max_batch_size``, else 1 for the ONNX
    int8 graph and 8 otherwise (see ``--help``).

    Arguments
    ---------
    args : argparse.Namespace
        The options.
    model : object
        The model (``precision`` for ONNX).

    Returns
    -------
    int
        Most windows per batch.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> args = parse_args(["--model", "m", "--backend", "onnx"])
    >>> batch_size(args, SimpleNamespace(precision="int8")), batch_size(
    ...     args, SimpleNamespace(precision="fp32"))
    (1, 8)
    """
    if args.max_batch_size:
        return args.max_batch_size
    int8 = args.backend == "onnx" and getattr(model, "precision", "") == "int8"
    return 1 if int8 else 8


def main(argv=None):
    """Starts the server (until interrupted).

    Arguments
    ---------
    argv : list of str, optional
        The arguments.

    Returns
    -------
    int
        The exit status (2: bad options or model).
    """
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        import uvicorn

        from speechbrain_gemo.serve.app import Server, ServerOptions, build_app
        from speechbrain_gemo.serve.security import read_secret
    except ImportError as err:
        print(
            f"error: the server needs the serve extra ({err}): pip install "
            "'speechbrain-gemo[serve]'",
            file=sys.stderr,
        )
        return 2
    try:
        api_key = twilio_token = None
        if args.api_key_file:
            api_key = read_secret(args.api_key_file, "API key")
        if args.twilio_auth_token_file:
            twilio_token = read_secret(
                args.twilio_auth_token_file, "Twilio auth token"
            )
        model = load_model(args)
        from speechbrain_gemo.serve.alerts import resolve_alerts

        alerts = resolve_alerts(
            args.alert, list(model.labels), getattr(model, "label_codes", None)
        )
        options = ServerOptions(
            backend=args.backend,
            precision=getattr(model, "precision", None),
            max_streams=args.max_streams,
            max_upload_mb=args.max_upload_mb,
            max_batch_size=batch_size(args, model),
            max_wait_ms=args.max_wait_ms,
            max_queue=args.max_queue,
            window=args.window,
            hop=args.hop,
            out_dir=args.out_dir,
            api_key=api_key,
            twilio_token=twilio_token,
            twilio_unsigned=args.twilio_unsigned,
            twilio_roles=args.twilio_roles,
            public_url=args.public_url,
            vad_threshold=args.vad_threshold,
            crosstalk_db=args.crosstalk_db,
            keep_audio=args.keep_audio,
            alerts=alerts,
        )
        server = Server(model, options)
        from speechbrain_gemo.streaming import silero_session

        silero_session()  # loaded before the first call, not during it
    except (ValueError, OSError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.getLogger("speechbrain_gemo.serve").info(
        "serving %s (%s%s) on %s:%d",
        args.model,
        args.backend,
        f" {options.precision}" if options.precision else "",
        args.host,
        args.port,
    )
    try:
        listener = listening_socket(args.host, args.port)
    except OSError as err:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {err}",
            file=sys.stderr,
        )
        return 2
    config = uvicorn.Config(
        build_app(server),
        ws="websockets-sansio",
        ws_max_size=int(args.max_message_kb * 1024),
        log_level=args.log_level,
        access_log=True,
    )
    uvicorn.Server(config).run(sockets=[listener])
    return 0


# Kernel send buffer of each connection (accepted sockets inherit it from
# the listener). Events are small and slow; a fixed buffer keeps what a
# client that never reads can hold in the kernel small (autotuning lets
# it grow to tcp_wmem's maximum, 4 MiB on Linux), so that its bounded
# event queue (--max_queue) is what fills, and drops.
SEND_BUFFER = 64 * 1024


def listening_socket(host, port):
    """The server's listening TCP socket, with ``SEND_BUFFER``.

    Arguments
    ---------
    host : str
        The address to bind.
    port : int
        The port (0: any free one).

    Returns
    -------
    socket.socket
        Bound, not yet listening (uvicorn listens).

    Example
    -------
    >>> sock = listening_socket("127.0.0.1", 0)
    >>> sock.getsockname()[0]
    '127.0.0.1'
    >>> sock.close()
    """
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    sock.bind(address)
    return sock


if __name__ == "__main__":
    sys.exit(main())
