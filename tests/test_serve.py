"""The emotion server (``python -m speechbrain_gemo.serve``), started as a
subprocess on 127.0.0.1 with a free port and stopped by its pid, talked to
by real clients (``httpx``, ``websockets``): HTTP routes and their limits,
a two-party stereo call over ``/v1/stream`` and as Twilio Media Streams
messages over ``/v1/twilio`` giving the rows of ``infer --timeline
--sliding_window`` as events (both backends, random frame sizes), event
subscribers, the files of ``--out_dir``, and bad clients while a good
stream runs.

Three servers (module fixtures): PyTorch with an API key, a Twilio auth
token and ``--out_dir``; ONNX int8 with ``--twilio_unsigned``; ONNX with
neither (``/v1/twilio`` closed).
"""

import asyncio
import csv
import json
import os
import socket
import time

import pytest
import soundfile

from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.infer import main as infer_main
from speechbrain_gemo.serve.client import (
    encode,
    random_pieces,
    read_events,
    send_twilio,
    stream_call,
    twilio_messages,
)
from speechbrain_gemo.serve.security import twilio_signature
from speechbrain_gemo.testing import ServerProcess

httpx = pytest.importorskip("httpx")
websockets = pytest.importorskip("websockets")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]

KEY = "test-key-5f2c"
TOKEN = "twilio-test-token"
ROLES = ["agent", "customer"]
AUTH = {"Authorization": f"Bearer {KEY}"}


class Running(ServerProcess):
    """A server subprocess (``testing.ServerProcess``) with its own
    temporary folder (its TMPDIR)."""

    def __init__(self, args, folder):
        self.folder = folder
        self.tmp = folder / "tmp"  # the server's TMPDIR
        self.tmp.mkdir()
        env = dict(os.environ, TMPDIR=str(self.tmp))
        try:
            super().__init__(args, folder / "server.log", env=env)
        except RuntimeError as err:
            raise AssertionError(str(err)) from err

    def http(self, path):
        return self.url(path)

    def ws(self, path):
        return self.url(path, "ws")

    def peak_rss_kb(self):
        """The server's peak resident memory so far (``VmHWM``)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from speechbrain_gemo.onnx import export_onnx

    root = tmp_path_factory.mktemp("serve_models")
    export = save_tiny_export(str(root / "export"))
    onnx_dir = export_onnx(export, str(root / "onnx"), int8=True)
    return {"pytorch": export, "onnx": onnx_dir}


@pytest.fixture(scope="module")
def call(tmp_path_factory):
    """A two-party call (agent on channel 0, customer on channel 1, each
    faintly on the other's channel): 8 kHz mu-law stereo WAV and 44.1 kHz
    16-bit stereo WAV."""
    from speechbrain_gemo.testing import two_party_call

    root = tmp_path_factory.mktemp("serve_call")
    samples = two_party_call(utterances=4, seed=3, sample_rate=16000)
    from speechbrain_gemo.audio_format import resample

    files = {}
    for name, rate, subtype in (
        ("mulaw", 8000, "ULAW"),
        ("pcm_s16le", 44100, "PCM_16"),
    ):
        path = str(root / f"call_{name}.wav")
        soundfile.write(path, resample(samples, 16000, rate), rate, subtype)
        files[name] = path
    return files


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def offline(models, call, tmp_path_factory):
    """``infer --timeline --sliding_window 3 --hop 1 --channels
    agent,customer`` rows, per backend and file."""
    root = tmp_path_factory.mktemp("serve_offline")
    found = {}
    for backend, extra in (
        ("pytorch", []),
        ("onnx", ["--backend", "onnx", "--precision", "int8"]),
    ):
        for name, path in call.items():
            out = str(root / f"{backend}_{name}.csv")
            args = ["--model", models[backend], "--timeline", path]
            args += ["--sliding_window", "3", "--hop", "1"]
            args += ["--channels", ",".join(ROLES), "--out", out]
            assert infer_main(args + extra + ["--no-progress"]) == 0
            found[backend, name] = _read_csv(out)
    return found


@pytest.fixture(scope="module")
def pt_server(models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve_pt")
    (folder / "key").write_text(KEY + "\n")
    (folder / "token").write_text(TOKEN)
    server = Running(
        [
            "--model", models["pytorch"],
            "--api_key_file", str(folder / "key"),
            "--twilio_auth_token_file", str(folder / "token"),
            "--out_dir", str(folder / "calls"),
            "--max_streams", "8",
            "--max_upload_mb", "3",
            "--max_queue", "16",
        ],
        folder,
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="module")
def onnx_server(models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve_onnx")
    server = Running(
        [
            "--model", models["onnx"], "--backend", "onnx",
            "--precision", "int8", "--twilio_unsigned",
            "--out_dir", str(folder / "calls"),
        ],
        folder,
    )  # fmt: skip
    yield server
    server.stop()


def _raw(path, encoding):
    """A file's samples as a client streams them, and its rate."""
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return encode(data, rate, encoding), rate


def assert_events_match(events, rows):
    """The emotion events equal the offline rows: the same windows of the
    same speakers, probabilities within 1e-4."""
    emotion = [e for e in events if e["type"] == "emotion"]
    assert rows and len(emotion) == len(rows)
    key = lambda start, speaker: (round(float(start), 3), speaker)  # noqa
    by_key = {key(r["start"], r["speaker"]): r for r in rows}
    assert len(by_key) == len(rows)
    for event in emotion:
        row = by_key[key(event["start"], event["speaker"])]
        assert abs(float(row["end"]) - event["end"]) < 1e-3
        assert row["label"] == event["label"]
        for label, prob in event["probs"].items():
            assert abs(float(row[f"prob_{label}"]) - prob) < 1e-4


def _run(coroutine):
    return asyncio.run(coroutine)


# ------------------------------------------------------------------ HTTP


def test_http_routes_keys_and_limits(pt_server, call, models, tmp_path):
    server = pt_server
    before = sorted(os.listdir(server.tmp))
    with httpx.Client(timeout=120) as client:
        health = client.get(server.http("/health"))  # no key needed
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert client.get(server.http("/v1/model")).status_code == 401
        wrong = {"Authorization": "Bearer test-key-5f2d"}
        assert (
            client.get(server.http("/v1/model"), headers=wrong).status_code
            == 401
        )
        info = client.get(server.http("/v1/model"), headers=AUTH).json()
        assert info["sample_rate"] == 16000 and info["backend"] == "pytorch"
        assert (info["window"], info["hop"]) == (3.0, 1.0)

        # POST /v1/classify: the CSV row of infer for the same file
        path = call["pcm_s16le"]  # 44.1 kHz stereo
        out = str(tmp_path / "one.csv")
        assert (
            infer_main(["--model", models["pytorch"], path, "--out", out]) == 0
        )
        (expected,) = _read_csv(out)
        assert [f"prob_{label}" for label in info["labels"]] == [
            column for column in expected if column.startswith("prob_")
        ]
        with open(path, "rb") as f:
            body = f.read()
        assert len(body) < 3e6
        got = client.post(
            server.http("/v1/classify?name=call.wav"),
            content=body,
            headers=AUTH,
        )
        assert got.status_code == 200, got.text
        row = got.json()
        assert list(row) == list(expected)
        assert row["path"] == "call.wav" and row["label"] == expected["label"]
        for column in expected:
            if column.startswith("prob_") or column.endswith("score"):
                assert abs(row[column] - float(expected[column])) < 1e-4

        # POST /v1/timeline: the rows of infer --timeline --sliding_window
        with open(call["mulaw"], "rb") as f:
            recording = f.read()
        got = client.post(
            server.http("/v1/timeline?channels=agent,customer"),
            content=recording,
            headers=AUTH,
        )
        assert got.status_code == 200, got.text
        rows = got.json()["rows"]
        out = str(tmp_path / "tl.csv")
        args = ["--model", models["pytorch"], "--timeline", call["mulaw"]]
        args += ["--sliding_window", "3", "--hop", "1", "--channels"]
        assert infer_main(args + ["agent,customer", "--out", out]) == 0
        offline = _read_csv(out)
        assert [(round(r["start"], 3), r["speaker"]) for r in rows] == [
            (float(r["start"]), r["speaker"]) for r in offline
        ]
        for got_row, row in zip(rows, offline):
            for column in row:
                if column.startswith("prob_"):
                    assert abs(got_row[column] - float(row[column])) < 1e-4

        # limits and errors
        big = bytes(3_000_001)
        got = client.post(
            server.http("/v1/classify"), content=big, headers=AUTH
        )
        assert (
            got.status_code == 413 and "--max_upload_mb" in got.json()["error"]
        )

        def chunks():  # no Content-Length: refused while reading
            for _ in range(80):
                yield bytes(50_000)

        got = client.post(
            server.http("/v1/timeline"), content=chunks(), headers=AUTH
        )
        assert got.status_code == 413
        got = client.post(
            server.http("/v1/classify"), content=b"RIFF not audio", headers=AUTH
        )
        assert got.status_code == 400
        assert got.json()["error"].startswith("cannot read audio")
        assert "BytesIO" not in got.json()["error"]
        got = client.post(
            server.http("/v1/timeline?channels=agent"),
            content=recording,
            headers=AUTH,
        )
        assert got.status_code == 400 and "2 channel(s)" in got.json()["error"]
        got = client.post(
            server.http("/v1/timeline?hop=9"), content=recording, headers=AUTH
        )
        assert got.status_code == 400 and "hop" in got.json()["error"]
        assert (
            client.post(server.http("/v1/classify"), content=body).status_code
            == 401
        )
    # nothing of a request stays on disk
    assert sorted(os.listdir(server.tmp)) == before
    assert "refused (missing or wrong API key)" in server.log()


# ------------------------------------------------------------ streaming


@pytest.mark.parametrize("encoding", ["mulaw", "pcm_s16le"])
def test_stream_gives_the_offline_rows(pt_server, call, offline, encoding):
    """A two-party stereo call (8 kHz mu-law; 44.1 kHz 16-bit) streamed in
    random frame sizes gives the rows of infer --timeline --sliding_window
    as events, a summary per role, and its files in --out_dir."""
    data, rate = _raw(call[encoding], encoding)
    start = {
        "sample_rate": rate,
        "encoding": encoding,
        "channels": 2,
        "roles": ROLES,
        "window": 3.0,
        "hop": 1.0,
        "call_id": f"call-{encoding}",
    }
    pieces = random_pieces(data, seed=len(encoding), largest=5000)
    events = _run(
        stream_call(pt_server.ws("/v1/stream"), pieces, start, headers=AUTH)
    )
    assert events[0]["type"] == "started"
    assert events[0]["call_id"] == f"call-{encoding}"
    rows = offline["pytorch", encoding]
    assert_events_match(events, rows)
    summary = events[-1]
    assert summary["type"] == "summary"
    assert set(summary["speakers"]) == {"agent", "customer"}
    for role in summary["speakers"].values():  # infer --summary's fields
        assert set(role) >= {"speech_seconds", "share", "first", "longest"}
        assert abs(sum(role["share"].values()) - 1) < 1e-6
    # --out_dir: the call's rows as infer writes them, summary and facts
    folder = pt_server.folder / "calls"
    stem = folder / f"call-{encoding}"
    written = _read_csv(f"{stem}.csv")
    assert [(r["start"], r["speaker"], r["label"]) for r in written] == [
        (r["start"], r["speaker"], r["label"]) for r in rows
    ]
    facts = json.loads((folder / f"call-{encoding}.json").read_text())
    assert facts["ended"] == "stop" and facts["dropped_events"] == 0
    assert [r["speaker"] for r in _read_csv(f"{stem}_summary.csv")] == ROLES
    assert not [n for n in os.listdir(folder) if n.startswith(".")]
    assert f"call call-{encoding} roles=agent,customer" in pt_server.log()


def _twilio_tracks(path):
    """The call's channels as Twilio's tracks: inbound the customer
    (channel 1), outbound the agent (channel 0)."""
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    assert rate == 8000
    return {
        "inbound": encode(data[:, 1], rate, "mulaw"),
        "outbound": encode(data[:, 0], rate, "mulaw"),
    }


def test_twilio_signed_call_reaches_subscribers(pt_server, call, offline):
    messages = twilio_messages(_twilio_tracks(call["mulaw"]), "CAsigned01")
    url = pt_server.ws("/v1/twilio")
    signature = twilio_signature(TOKEN.encode(), url)
    events_url = pt_server.ws("/v1/calls/CAsigned01/events")

    async def scenario():
        ready = asyncio.Event()
        subscriber = asyncio.create_task(read_events(events_url, AUTH, ready))
        await ready.wait()
        # no bearer key: Twilio cannot send one; the signature is checked
        back = await send_twilio(
            url, messages, {"X-Twilio-Signature": signature}
        )
        return back, await subscriber

    back, events = _run(scenario())
    assert back == []  # Twilio gets no messages it did not ask for
    assert_events_match(events, offline["pytorch", "mulaw"])
    assert events[-1]["type"] == "summary"
    assert {"agent", "customer"} <= set(events[-1]["speakers"])
    assert (pt_server.folder / "calls" / "CAsigned01.csv").exists()

    # unsigned and wrongly signed upgrades are refused
    for headers in ({}, {"X-Twilio-Signature": twilio_signature(b"x", url)}):
        with pytest.raises(websockets.exceptions.InvalidStatus) as err:
            # (an accepted call would wait for more: give up after 30 s)
            _run(asyncio.wait_for(send_twilio(url, messages[:3], headers), 30))
        assert err.value.response.status_code == 403


def test_onnx_stream_and_unsigned_twilio(onnx_server, call, offline):
    data, rate = _raw(call["mulaw"], "mulaw")
    start = {"sample_rate": rate, "encoding": "mulaw", "channels": 2}
    start["roles"] = ROLES
    rows = offline["onnx", "mulaw"]
    events = _run(
        stream_call(
            onnx_server.ws("/v1/stream"),
            random_pieces(data, seed=11, largest=700),
            start,
        )
    )
    assert_events_match(events, rows)
    messages = twilio_messages(_twilio_tracks(call["mulaw"]), "CAunsigned")

    async def scenario():
        ready = asyncio.Event()
        url = onnx_server.ws("/v1/calls/CAunsigned/events")
        subscriber = asyncio.create_task(read_events(url, ready=ready))
        await ready.wait()
        await send_twilio(onnx_server.ws("/v1/twilio"), messages)
        return await subscriber

    assert_events_match(_run(scenario()), rows)


def test_twilio_closed_without_token_or_unsigned(models, tmp_path):
    server = Running(["--model", models["onnx"], "--backend", "onnx"], tmp_path)
    try:
        with pytest.raises(websockets.exceptions.InvalidStatus) as err:
            _run(
                send_twilio(
                    server.ws("/v1/twilio"), twilio_messages({"inbound": b""})
                )
            )
        assert err.value.response.status_code == 403
        assert "twilio_unsigned" in err.value.response.body.decode()
    finally:
        server.stop()


# ----------------------------------------------------------- bad clients


def _never_reads(port, start, pieces, hold_seconds):
    """A client that streams a call and never reads what the server sends:
    a raw socket with a 4 KiB receive buffer, frames made by websockets'
    protocol object; it stays connected ``hold_seconds`` after its stop."""
    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/v1/stream"))
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {KEY}"
    protocol.send_request(request)
    sock.sendall(b"".join(protocol.data_to_send()))
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101")
    protocol.receive_data(response)

    def send(message):
        if isinstance(message, str):
            protocol.send_text(message.encode())
        else:
            protocol.send_binary(message)
        sock.sendall(b"".join(protocol.data_to_send()))

    send(json.dumps(dict(start, type="start")))
    for piece in pieces:
        send(piece)
    send(json.dumps({"type": "stop"}))
    time.sleep(hold_seconds)
    sock.close()


async def _refused(url, first, headers=AUTH):
    """Sends ``first`` messages; returns the close code and reason and the
    error events the server sent."""
    errors = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        for message in first:
            await ws.send(message)
        try:
            async for message in ws:
                errors.append(json.loads(message))
        except websockets.exceptions.ConnectionClosed:
            pass
    return ws.close_code, ws.close_reason, errors


def test_bad_clients_never_hurt_a_good_stream(pt_server, call, offline):
    """While a good call streams in real time, bad clients come and go:
    more than --max_streams (1013), malformed JSON, audio before start,
    odd byte counts, a lying sample rate, an hour of silence, a client
    that vanishes mid-call, one that never reads its events, 100 bad HTTP
    requests, an over-long upload and wrong keys. The good call's events
    are unchanged and every bad client gets what was promised."""
    server = pt_server
    good_data, rate = _raw(call["mulaw"], "mulaw")
    good_start = {
        "sample_rate": rate, "encoding": "mulaw", "channels": 2,
        "roles": ROLES, "call_id": "good",
    }  # fmt: skip
    stream_url = server.ws("/v1/stream")
    calls = server.folder / "calls"

    async def streams_now():
        async with httpx.AsyncClient() as client:
            return (await client.get(server.http("/health"))).json()["streams"]

    async def over_max_streams():
        # hold every other place with idle calls, then one too many
        idle = []
        while await streams_now() < 8:
            ws = await websockets.connect(stream_url, additional_headers=AUTH)
            await ws.send(json.dumps({"type": "start", "sample_rate": 8000}))
            await ws.recv()  # started
            idle.append(ws)
        # (an accepted call would wait for audio: give up after 30 s)
        code, reason, _ = await asyncio.wait_for(_refused(stream_url, []), 30)
        for ws in idle:
            await ws.send(json.dumps({"type": "stop"}))
            async for _ in ws:
                pass
        while await streams_now() > 1:  # places given back
            await asyncio.sleep(0.05)
        return code, reason

    async def protocol_errors():
        found = {}
        found["json"] = await _refused(stream_url, ["{not json"])
        found["early"] = await _refused(stream_url, [b"\x00\x01"])
        start = json.dumps({"type": "start", "sample_rate": 10**9})
        found["rate"] = await _refused(stream_url, [start])
        return found

    async def odd_bytes():
        # 44.1 kHz 16-bit stereo in odd pieces, and half a sample at the end
        data, rate = _raw(call["pcm_s16le"], "pcm_s16le")
        start = {"sample_rate": rate, "encoding": "pcm_s16le", "channels": 2}
        start["roles"] = ROLES
        pieces = random_pieces(data, seed=5, largest=999)
        assert sum(len(p) % 2 for p in pieces) > 100  # odd sizes
        return await stream_call(stream_url, pieces + [b"\x01"], start, AUTH)

    async def lying_rate():
        # says 8 kHz, sends 16 kHz: longer audio, nothing else
        data, _ = soundfile.read(call["mulaw"], dtype="float32")
        from speechbrain_gemo.audio_format import resample

        raw = encode(resample(data, 8000, 16000), 16000, "mulaw")
        start = dict(good_start, call_id="liar")
        return await stream_call(stream_url, random_pieces(raw, 1), start, AUTH)

    async def hour_of_silence():
        start = {"sample_rate": 8000, "encoding": "mulaw", "channels": 1}
        start["call_id"] = "silence"
        hour = 8000 * 3600
        pieces = [b"\xff" * 64000] * (hour // 64000)
        return await stream_call(stream_url, pieces, start, AUTH)

    async def vanishes():
        ws = await websockets.connect(stream_url, additional_headers=AUTH)
        await ws.send(
            json.dumps(dict(good_start, call_id="vanished", type="start"))
        )
        await ws.send(good_data[: len(good_data) // 2])
        await asyncio.sleep(0.5)
        ws.transport.abort()  # no close frame, no stop

    async def never_reads():
        start = dict(good_start, call_id="deaf", window=0.5, hop=0.05)
        pieces = random_pieces(good_data, seed=2, largest=3200) * 4
        await asyncio.to_thread(_never_reads, server.port, start, pieces, 12.0)

    async def bad_http():
        statuses = []
        async with httpx.AsyncClient(timeout=60) as client:
            for k in range(100):
                kind = k % 5
                if kind == 0:
                    r = await client.post(
                        server.http("/v1/classify"), content=os.urandom(300),
                        headers=AUTH,
                    )  # fmt: skip
                elif kind == 1:
                    r = await client.get(
                        server.http("/v1/nowhere"), headers=AUTH
                    )
                elif kind == 2:
                    r = await client.post(
                        server.http("/v1/timeline?window=abc"), content=b"x",
                        headers=AUTH,
                    )  # fmt: skip
                elif kind == 3:
                    r = await client.get(
                        server.http("/v1/model"),
                        headers={"Authorization": "Bearer " + "x" * k},
                    )
                else:
                    r = await client.post(
                        server.http("/v1/classify"), content=bytes(3_000_001),
                        headers=AUTH,
                    )  # fmt: skip
                statuses.append(r.status_code)
        return statuses

    async def wrong_key():
        with pytest.raises(websockets.exceptions.InvalidStatus) as err:
            await websockets.connect(
                stream_url, additional_headers={"Authorization": "Bearer no"}
            )
        return err.value.response.status_code

    async def scenario():
        good = asyncio.create_task(
            stream_call(
                stream_url,
                random_pieces(good_data, seed=9, largest=1600),
                good_start,
                AUTH,
                realtime=True,
                bytes_per_second=2 * rate,
                speed=0.5,  # half real time: alive while the others run
            )
        )
        await asyncio.sleep(1.0)
        busy = await over_max_streams()
        # an hour of audio read with the memory of a few seconds
        rss_before = server.peak_rss_kb()
        silence = await hour_of_silence()
        rss_after = server.peak_rss_kb()
        results = await asyncio.gather(
            protocol_errors(),
            odd_bytes(),
            lying_rate(),
            vanishes(),
            never_reads(),
            bad_http(),
            wrong_key(),
        )
        return busy, silence, results, rss_before, rss_after, await good

    busy, silence, results, rss_before, rss_after, good = _run(scenario())
    errors, odd, liar, _, _, statuses, key_status = results

    # the good call: its events unchanged, received as they happened
    assert_events_match(good, offline["pytorch", "mulaw"])
    assert good[-1]["type"] == "summary"

    code, reason = busy
    assert code == 1013 and "--max_streams" in reason
    for name, text in (
        ("json", "malformed JSON"),
        ("early", "audio before the start"),
        ("rate", "sample_rate"),
    ):
        code, _, sent = errors[name]
        assert code == 1008 and text in sent[-1]["message"], (name, sent)
    assert_events_match(odd, offline["pytorch", "pcm_s16le"])
    # the liar: its call ran (twice as long), nothing else happened
    assert (
        json.loads((calls / "liar.json").read_text())["seconds"]
        > 2 * (len(good_data) / 2 / rate) - 0.1
    )
    assert [e["type"] for e in liar][-1] == "summary"
    # an hour of silence: no window, no event, the whole hour read
    assert [e["type"] for e in silence] == ["started", "summary"]
    facts = json.loads((calls / "silence.json").read_text())
    assert facts["seconds"] == 3600.0 and facts["windows"] == 0
    # its peak memory did not grow (its samples at 16 kHz alone would take
    # 230 MB; without trimming the engine's buffers: +505 MB measured)
    assert rss_after - rss_before < 48 * 1024, (rss_before, rss_after)
    # the vanished client's call was ended and written
    facts = json.loads((calls / "vanished.json").read_text())
    assert facts["ended"] == "disconnected" and facts["seconds"] > 0
    # the deaf client: its events were dropped from a bounded queue
    facts = json.loads((calls / "deaf.json").read_text())
    assert facts["events"] > 600 and facts["dropped_events"] > 0
    assert sorted(set(statuses)) == [400, 401, 404, 413]
    assert key_status == 401
    with httpx.Client() as client:
        assert client.get(server.http("/health")).json()["streams"] == 0
