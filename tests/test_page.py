"""The supervisor's web page of ``python -m speechbrain_gemo.serve``
(``speechbrain_gemo.serve.page``, ``alerts``, ``archive``, ``login``), in
a real browser: Debian's headless Chromium driven by Selenium (``make
test`` installs it: ``make browser``).

Two servers, started as subprocesses on 127.0.0.1 with a free port and
stopped by their pid: one with ``--keep_audio`` and alert rules, where a
test client streams a two-party call while the browser watches; one with
``--api_key_file`` (audio not kept, the default), for the login.

The rules' logic, the session cookie and the kept audio are also checked
without a browser (fast tests at the end).
"""

import asyncio
import csv
import json
import os
import shutil
import threading
import time

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.plotting import class_colours
from speechbrain_gemo.serve.alerts import (
    MIN_ALERT_WINDOWS,
    AlertHub,
    AlertWatch,
    parse_alert,
    resolve_alerts,
)
from speechbrain_gemo.serve.archive import Archive, AudioKeeper, newest_first
from speechbrain_gemo.serve.login import Sessions
from speechbrain_gemo.testing import ServerProcess

RATE = 8000
ROLES = ["agent", "customer"]
KEY = "page-test-key-93b1"
LABELS = ["neutral", "happy", "angry", "sad"]  # the tiny export's words
CODES = ["neu", "hap", "ang", "sad"]
# One rule per class for the customer, each above a quarter: with
# MIN_ALERT_WINDOWS or more customer windows one class holds at least a
# quarter of them, so at least one rule must fire, whatever the tiny
# random model says
RULES = [f"customer:{label}:0.24:30" for label in LABELS]
WAIT = 120  # seconds a browser condition may take on a loaded machine


# ------------------------------------------------------------ the server


class Server(ServerProcess):
    """A server subprocess (``testing.ServerProcess``) whose failure to
    start fails the test."""

    def __init__(self, args, folder):
        try:
            super().__init__(args, folder / "server.log")
        except RuntimeError as err:
            raise AssertionError(str(err)) from err


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from speechbrain_gemo.export import save_tiny_export

    return save_tiny_export(str(tmp_path_factory.mktemp("page") / "export"))


@pytest.fixture(scope="module")
def call_pcm():
    """A synthetic two-party call (agent on channel 0, customer on
    channel 1), 8 kHz 16-bit stereo, as interleaved bytes."""
    from speechbrain_gemo.audio_format import resample
    from speechbrain_gemo.testing import two_party_call

    samples = resample(two_party_call(utterances=6, seed=5), 16000, RATE)
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    return pcm.tobytes()


@pytest.fixture(scope="module")
def open_server(export, tmp_path_factory):
    folder = tmp_path_factory.mktemp("page_open")
    rules = [arg for rule in RULES for arg in ("--alert", rule)]
    server = Server(
        ["--model", export, "--out_dir", str(folder / "calls"), "--keep_audio"]
        + rules,
        folder,
    )
    server.out_dir = folder / "calls"
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keyed_server(export, tmp_path_factory):
    folder = tmp_path_factory.mktemp("page_keyed")
    (folder / "key").write_text(KEY + "\n")
    server = Server(
        ["--model", export, "--out_dir", str(folder / "calls")]
        + ["--api_key_file", str(folder / "key")],
        folder,
    )
    server.out_dir = folder / "calls"
    yield server
    server.stop()


# ----------------------------------------------------------- the browser


def _chromium():
    """Paths of Chromium and its chromedriver, or the reason they are not
    usable."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, "selenium is not installed: pip install -e '.[test]'"
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        return None, (
            "headless Chromium is not installed (make browser: apt-get "
            "install chromium chromium-driver, as root)"
        )
    return (binary, driver), None


@pytest.fixture
def browser():
    """A headless Chromium (a fresh profile per test)."""
    found, reason = _chromium()
    if found is None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in (
        "--headless=new",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--mute-audio",
    ):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses root else
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _console_errors(driver):
    """The browser console's errors since the last call."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _wait(driver, condition, what):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(
        lambda d: condition(d), message=f"timed out waiting for {what}"
    )


def _css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _read_all(connection, messages):
    """Reads a WebSocket's messages until it closes (in a thread)."""
    from websockets.exceptions import ConnectionClosed

    try:
        messages.extend(connection)
    except ConnectionClosed:  # the server went away: the test says more
        pass


def _rgb(colour):
    """``#rrggbb`` as the browser's computed ``rgb(r, g, b)``."""
    r, g, b = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _segments(driver):
    return len(_css(driver, "svg.lane-plot rect.segment"))


def _js(driver, selector, expression):
    """``expression`` of the first element matching ``selector`` (``e``),
    read in the page in one go (the page redraws as events come: a
    Selenium element may go stale between two calls)."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]);"
        f"return e === null ? null : ({expression});",
        selector,
    )


def _attrs(driver, selector, name):
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((e) => e.getAttribute(arguments[1]));",
        selector,
        name,
    )


def _click(driver, selector, index=0):
    """Clicks a matching element (a real click), again if it was redrawn
    meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(20):
        try:
            _css(driver, selector)[index].click()
            return
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"{selector} kept being redrawn")


# ----------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.xdist_group("page")
def test_live_call_on_the_page(open_server, browser, call_pcm):
    """The list loads without console errors; while a client streams a
    two-party call, it appears in the list, its lanes grow and an alert
    shows; once stopped, its summary shows and its kept audio plays from
    a clicked segment, with the cursor following; an ``alert`` event
    reached the call's events subscriber."""
    from websockets.sync.client import connect

    server, driver = open_server, browser
    call_id = "page-call-1"
    driver.get(server.url("/"))
    _wait(driver, lambda d: "No calls yet" in d.page_source, "the list")
    legend = driver.execute_script(
        "return [...document.querySelectorAll('#legend .item')]"
        ".map((e) => e.textContent);"
    )
    assert legend == ["neutral (neu)", "happy (hap)", "angry (ang)", "sad"]
    # the plots' palette (plotting.class_colours), served from Python
    colours = class_colours(LABELS)
    swatches = driver.execute_script(
        "return [...document.querySelectorAll('#legend .swatch')]"
        ".map((e) => getComputedStyle(e).backgroundColor);"
    )
    assert swatches == [_rgb(colours[label]) for label in LABELS]
    # nothing is fetched from elsewhere (the page works offline)
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name);"
    )
    assert fetched and all(u.startswith(server.url("/")) for u in fetched)
    assert _console_errors(driver) == []

    subscriber = connect(server.url(f"/v1/calls/{call_id}/events", "ws"))
    caller = connect(server.url("/v1/stream", "ws"))
    # both read all along (a client that stops reading stops answering
    # the server's pings, and the server drops it)
    heard = {"subscriber": [], "caller": []}
    readers = [
        threading.Thread(target=_read_all, args=(c, heard[n]))
        for n, c in (("subscriber", subscriber), ("caller", caller))
    ]
    for reader in readers:
        reader.start()
    caller.send(
        json.dumps(
            {
                "type": "start",
                "call_id": call_id,
                "sample_rate": RATE,
                "encoding": "pcm_s16le",
                "channels": 2,
                "roles": ROLES,
            }
        )
    )
    half = len(call_pcm) // 2 // 4 * 4
    for k in range(0, half, 3200):
        caller.send(call_pcm[k : min(k + 3200, half)])

    # the call is listed as live (the list polls)
    row = f'tr[data-call-id="{call_id}"]'
    _wait(driver, lambda d: _css(d, row + " .status.live"), "the live call")
    _click(driver, row + " a")
    _wait(driver, lambda d: _segments(d) > 0, "the first windows")
    assert "live" in _js(driver, "#status", "e.textContent")
    lanes = _attrs(driver, ".lane", "data-role")
    assert lanes == ROLES
    fills = driver.execute_script(
        "return [...document.querySelectorAll('rect.segment:not(.error)')]"
        ".map((e) => [e.dataset.label, e.getAttribute('fill')]);"
    )
    assert fills and all(fill == colours[label] for label, fill in fills)
    first = _segments(driver)

    # the rest of the call (not stopped yet): the lanes grow, an alert shows
    for k in range(half, len(call_pcm), 3200):
        caller.send(call_pcm[k : k + 3200])
    _wait(driver, lambda d: _segments(d) > first, "more windows")
    _wait(driver, lambda d: _css(d, "#alerts .alert"), "an alert")
    assert "live" in _js(driver, "#status", "e.textContent")  # not stopped
    shown = _js(driver, "#alerts .alert", "[e.dataset.rule, e.textContent]")
    assert shown[0] in RULES and "customer" in shown[1]

    # stop: the summary replaces the live view, the kept audio plays
    caller.send(json.dumps({"type": "stop"}))
    readers[1].join(WAIT)  # the server's events, until it closes
    caller.close()
    _wait(
        driver,
        lambda d: _css(d, "#summary tbody tr") and _css(d, "audio"),
        "the summary and the audio",
    )
    assert "ended" in _js(driver, "#status", "e.textContent")
    roles = _attrs(driver, "#summary tbody tr", "data-role")
    assert set(roles) == {"agent", "customer"}
    # the table shows the call's summary file; the lanes its probabilities
    with open(server.out_dir / f"{call_id}_summary.csv") as f:
        for line in csv.DictReader(f):
            for label in LABELS:
                cell = f'#summary tr[data-role="{line["speaker"]}"] td'
                text = _js(
                    driver, f'{cell}[data-label="{label}"]', "e.textContent"
                )
                percent = int(100 * float(line[f"share_{label}"]) + 0.5)
                assert text.startswith(f"{percent} %"), (line, text)
    for role in ROLES:
        lines = _attrs(
            driver, f'svg[data-role="{role}"] path.prob', "data-label"
        )
        assert lines == LABELS
    _wait(
        driver,
        lambda d: (
            d.execute_script(
                "return document.querySelector('audio').readyState"
            )
            >= 1
        ),
        "the audio's metadata",
    )
    duration = driver.execute_script(
        "return document.querySelector('audio').duration"
    )
    assert duration == pytest.approx(len(call_pcm) / 4 / RATE, abs=0.01)
    customer = 'svg[data-role="customer"] rect.segment'
    start = float(_attrs(driver, customer, "data-start")[-1])
    _click(driver, customer, -1)
    _wait(
        driver,
        lambda d: d.execute_script(
            "const a = document.querySelector('audio');"
            f"return !a.paused && a.currentTime > {start} + 0.2"
        ),
        "the audio playing from the clicked segment",
    )
    # what played began at the segment (not at 0: a seek, then play)
    played = driver.execute_script(
        "const p = document.querySelector('audio').played;"
        "return [...Array(p.length).keys()].map((i) => p.start(i));"
    )
    assert played and min(played) == pytest.approx(start, abs=0.05)
    cursor = "return parseFloat(document.getElementById('cursor').style.left)"
    left = driver.execute_script(cursor)
    _wait(driver, lambda d: d.execute_script(cursor) > left, "the cursor")
    assert _console_errors(driver) == []

    # the subscriber got the alert as an event
    readers[0].join(WAIT)
    events = [json.loads(m) for m in heard["subscriber"]]
    alerts = [e for e in events if e["type"] == "alert"]
    assert alerts, [e["type"] for e in events]
    assert all(
        a["speaker"] == "customer" and a["rule"] in RULES for a in alerts
    )
    assert all(a["share"] > 0.24 for a in alerts)
    assert all(a["windows"] >= MIN_ALERT_WINDOWS for a in alerts)
    assert alerts[0]["rule"] == shown[0]

    # the finished call's alerts (its rows under the same rules) are the
    # live ones
    import httpx

    listed = httpx.get(server.url("/page/calls")).json()["calls"]
    (entry,) = [e for e in listed if e["call_id"] == call_id]
    fields = ("rule", "end", "share", "windows")
    assert [[a[f] for f in fields] for a in entry["alerts"]] == [
        [a[f] for f in fields] for a in alerts
    ]

    # the list marks the finished call
    driver.get(server.url("/"))
    _wait(driver, lambda d: _css(d, row + " .alert-badge"), "the badge")
    assert "alerted" in _js(driver, row, "e.className")
    assert "ended" in _js(driver, row + " .status", "e.textContent")
    shares = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((e) => e.textContent);",
        row + " .role-share",
    )
    assert len(shares) == 2 and all("%" in text for text in shares)
    assert _console_errors(driver) == []

    # the audio kept is the audio streamed, sample for sample
    kept, rate = soundfile.read(
        server.out_dir / f"{call_id}.wav", dtype="int16"
    )
    assert rate == RATE and kept.shape[1] == 2
    assert kept.tobytes() == call_pcm
    assert not [n for n in os.listdir(server.out_dir) if n.endswith(".part")]


@pytest.mark.slow
@pytest.mark.xdist_group("page")
def test_login_refuses_a_wrong_key(keyed_server, browser, call_pcm):
    """With ``--api_key_file``: the page sends a browser to the login; a
    wrong key shows the login again; the right one sets an HttpOnly,
    SameSite cookie (the key is in no URL) with which the list, a
    finished call's page and its events work; audio is not kept by
    default; logging out ends the session."""
    import httpx

    server, driver = keyed_server, browser
    # a finished call, streamed with the key
    asyncio.run(_stream(server, "keyed-call", call_pcm[: len(call_pcm) // 2]))

    driver.get(server.url("/call/keyed-call"))
    assert driver.current_url.startswith(server.url("/login"))
    key_box = _css(driver, "#key")[0]
    key_box.send_keys("not-the-key")
    _css(driver, "#login-form button")[0].click()
    _wait(driver, lambda d: _css(d, "#login-error"), "the refusal")
    assert "Wrong key" in _css(driver, "#login-error")[0].text
    assert _css(driver, "#login-form")  # the login again
    assert driver.get_cookies() == []

    _css(driver, "#key")[0].send_keys(KEY)
    _css(driver, "#login-form button")[0].click()
    _wait(driver, lambda d: _css(d, "#summary tbody tr"), "the call's page")
    assert driver.current_url == server.url("/call/keyed-call")
    assert KEY not in driver.current_url
    (cookie,) = driver.get_cookies()
    assert cookie["name"] == "gemo_session" and cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict" and KEY not in cookie["value"]
    assert driver.execute_script("return document.cookie") == ""
    assert _css(driver, "audio") == []
    assert "not kept" in _css(driver, "#player")[0].text
    assert not list(server.out_dir.glob("*.wav"))

    driver.get(server.url("/"))
    _wait(
        driver, lambda d: _css(d, 'tr[data-call-id="keyed-call"]'), "the list"
    )
    # the cookie opens the API and the events socket of the same origin
    jar = {"gemo_session": cookie["value"]}
    assert httpx.get(server.url("/page/calls"), cookies=jar).status_code == 200
    assert httpx.get(server.url("/page/calls")).status_code == 401
    forged = {"gemo_session": cookie["value"][:-2] + "xx"}
    assert (
        httpx.get(server.url("/page/calls"), cookies=forged).status_code == 401
    )
    assert (
        httpx.get(server.url(f"/?key={KEY}")).headers["location"]
        == "/login?next=/"
    )
    _css(driver, "#logout button")[0].click()
    _wait(driver, lambda d: _css(d, "#login-form"), "the login after logout")
    assert httpx.get(server.url("/page/calls"), cookies=jar).status_code == 401


async def _stream(server, call_id, pcm):
    from speechbrain_gemo.serve.client import stream_call

    return await stream_call(
        server.url("/v1/stream", "ws"),
        [pcm[k : k + 8000] for k in range(0, len(pcm), 8000)],
        {
            "call_id": call_id,
            "sample_rate": RATE,
            "encoding": "pcm_s16le",
            "channels": 2,
            "roles": ROLES,
        },
        headers={"Authorization": f"Bearer {KEY}"},
    )


@pytest.mark.slow
@pytest.mark.xdist_group("page")
def test_cookie_is_refused_across_origins(keyed_server):
    """A session cookie counts only from the server's own origin (another
    site's WebSocket or form gets nothing); a wrong key posted gets no
    cookie; the key in a query string logs nobody in."""
    import httpx
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    server = keyed_server
    wrong = httpx.post(server.url("/login"), data={"key": "nope"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert 'id="login-form"' in wrong.text
    right = httpx.post(server.url("/login"), data={"key": KEY})
    assert right.status_code == 303
    value = right.cookies["gemo_session"]
    header = right.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header
    cookie = {"Cookie": f"gemo_session={value}"}
    events = server.url("/v1/calls/some-call/events", "ws")
    with connect(events, additional_headers=cookie, open_timeout=10):
        pass  # same origin (no Origin header, as non-browser clients)
    own = dict(cookie, Origin=server.url(""))
    with connect(events, additional_headers=own, open_timeout=10):
        pass
    other = dict(cookie, Origin="http://evil.example")
    with pytest.raises(InvalidStatus) as refused:
        connect(events, additional_headers=other, open_timeout=10)
    assert refused.value.response.status_code == 401
    assert httpx.get(server.url(f"/page/calls?key={KEY}")).status_code == 401


# ------------------------------------------------- without a browser


def test_alert_rules_fire_once_per_crossing():
    """A rule fires when the share over the last SECONDS crosses SHARE,
    not before the role has MIN_ALERT_WINDOWS windows there, not again
    while it stays above, again after it fell; old windows leave the
    span; other roles do not count."""
    rule, longer = resolve_alerts(
        ["customer:angry:0.5:10", "customer:sad:0.5:60"], LABELS
    )
    assert rule.label == "angry"
    # a corpus code names the class too
    (coded,) = resolve_alerts(["customer:ANG:0.5:10"], LABELS, CODES)
    assert coded.label == "angry"
    # the longer rule keeps a minute of windows: the first counts its 10 s
    watch = AlertWatch([rule, longer], "c")
    fired = []
    assert MIN_ALERT_WINDOWS == 5
    labels = ["angry"] * 5 + ["neutral"] * 12 + ["angry"] * 8
    for k, label in enumerate(labels):
        for alert in watch.feed("customer", k, k + 3.0, label):
            fired.append((k, alert["share"], alert["windows"]))
        assert watch.feed("agent", k, k + 3.0, "angry") == []
    # the span holds the windows whose centre (k + 1.5) lies in the last
    # 10 s (the call is at k + 3): the last 9. k<4: all angry but too few
    # windows; k=4: 5 windows, all angry; k=9: 4 angry of 9, off;
    # k=21: windows 13-21, 5 angry of 9, on again
    assert fired == [(4, 1.0, 5), (21, 0.5556, 9)]


def test_alert_hub_sends_alerts_to_subscribers():
    """The hub publishes ``alert`` events after the event that fired
    them, to the call's subscribers only, and forgets them at the end."""
    hub = AlertHub(16, [parse_alert("customer:sad:0.5:30")])
    mine, other = hub.subscribe("c1"), hub.subscribe("c2")
    for k in range(MIN_ALERT_WINDOWS):
        hub.publish(
            "c1",
            {
                "type": "emotion",
                "speaker": "customer",
                "start": k,
                "end": k + 3.0,
                "label": "sad",
            },
        )
    kinds = [
        mine.queue.get_nowait()["type"] for _ in range(MIN_ALERT_WINDOWS + 1)
    ]
    assert kinds == ["emotion"] * MIN_ALERT_WINDOWS + ["alert"]
    assert other.queue.empty() and len(hub.alerts["c1"]) == 1
    hub.end("c1")
    assert "c1" not in hub.alerts


def test_bad_rules_are_refused():
    for text in ("customer:angry", "customer:angry:1.5:30", "a:b:0.5:0"):
        with pytest.raises(ValueError, match="ROLE:CLASS:SHARE:SECONDS"):
            parse_alert(text)
    with pytest.raises(ValueError, match="no class 'bored'"):
        resolve_alerts(["customer:bored:0.5:30"], LABELS)


def test_sessions_expire_and_are_revoked():
    sessions = Sessions(lifetime=60)
    value = sessions.issue()
    assert sessions.valid(value)
    expiry, sid, mac = value.split(".")
    assert not sessions.valid(f"{int(expiry) + 1}.{sid}.{mac}")  # forged
    assert not Sessions(60).valid(value)  # another server's (restart)
    expired = Sessions(lifetime=-1)
    assert not expired.valid(expired.issue())
    sessions.revoke(value)
    assert not sessions.valid(value)


@pytest.mark.parametrize("encoding", ["pcm_s16le", "mulaw", "alaw"])
def test_kept_audio_is_the_audio_received(tmp_path, encoding):
    """Whatever the encoding, ``<call_id>.wav`` holds the samples the
    server decoded (soundfile's G.711 decoding, exact in 16 bits), pieces
    of any size and a trailing half frame included; no temporary file is
    left."""
    from speechbrain_gemo.serve.client import encode
    from speechbrain_gemo.streaming import SampleDecoder

    rng = np.random.default_rng(0)
    samples = (0.3 * rng.standard_normal((8000, 2))).clip(-1, 1)
    data = encode(samples, RATE, encoding)
    keeper = AudioKeeper(str(tmp_path), "c1", encoding, RATE, 2)
    cut = sorted(rng.integers(0, len(data), 20))
    for a, b in zip([0] + cut, cut + [len(data)]):
        keeper.write(data[a:b])
    keeper.write(b"\x01")  # half a frame: dropped
    path = keeper.close()
    kept, rate = soundfile.read(path, dtype="float32")
    expected = SampleDecoder(encoding, 2).decode(data)
    assert rate == RATE and np.array_equal(kept, expected)
    assert os.listdir(tmp_path) == ["c1.wav"]


def _archived_call(folder, call_id, started_at, label):
    """The files a finished call leaves in ``--out_dir``, one customer
    window per second, all of ``label``."""
    from speechbrain_gemo.rows import write_predictions
    from speechbrain_gemo.summaries import call_summary, summary_text
    from speechbrain_gemo.timeline import hop_spans

    probs = {other: 0.1 for other in LABELS}
    probs[label] = 0.7
    rows = [
        {
            "path": call_id,
            "start": float(k),
            "end": k + 3.0,
            "speaker": "customer",
            "label": label,
            "score": 0.7,
            "probs": probs,
            "error": "",
        }
        for k in range(6)
    ]
    stem = str(folder / call_id)
    write_predictions(
        rows, f"{stem}.csv", LABELS, False, timeline=True, speaker=True
    )
    summary = call_summary(hop_spans(rows, 1.0), LABELS)
    (folder / f"{call_id}_summary.csv").write_text(
        summary_text(summary, LABELS)
    )
    record = {
        "call_id": call_id,
        "roles": ["customer"],
        "hop": 1.0,
        "started_at": started_at,
        "ended": "stop",
        "seconds": 8.0,
    }
    (folder / f"{call_id}.json").write_text(json.dumps(record))


def test_archive_lists_newest_first_and_skips_broken_calls(tmp_path):
    """Finished calls come newest first with their shares per role and the
    alerts their rows give; a call whose files are broken or missing is
    left out, never the list; a live call comes first when newer."""
    _archived_call(tmp_path, "old-call", 100.0, "neutral")
    _archived_call(tmp_path, "new-call", 200.0, "sad")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "no-rows.json").write_text('{"started_at": 300.0}')
    (tmp_path / "not a call id!.json").write_text("{}")
    archive = Archive(
        str(tmp_path), LABELS, [parse_alert("customer:sad:0.5:30")]
    )
    entries = newest_first({}, archive)
    assert [e["call_id"] for e in entries] == ["new-call", "old-call"]
    assert entries[0]["shares"] == {
        "customer": {"neutral": 0.0, "happy": 0.0, "angry": 0.0, "sad": 1.0}
    }
    # the rule over the rows: the fifth window (k=4, end 7 s) fires it
    assert [a["end"] for a in entries[0]["alerts"]] == [7.0]
    assert entries[1]["alerts"] == [] and not entries[0]["audio"]
    live = {"live-call": {"call_id": "live-call", "started_at": 250.0}}
    order = [e["call_id"] for e in newest_first(live, archive)]
    assert order == ["live-call", "new-call", "old-call"]
    detail = archive.detail("new-call")
    assert len(detail["rows"]) == 6 and detail["rows"][0]["probs"]["sad"] == 0.7
    assert archive.detail("broken") is None


def test_browser_tests_say_why_they_skip(monkeypatch):
    """Without Chromium the browser tests are skipped with a reason that
    says how to install it (``make test -rs`` prints it), never
    silently."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    found, reason = _chromium()
    assert found is None and "make browser" in reason
    assert "apt-get install chromium chromium-driver" in reason
