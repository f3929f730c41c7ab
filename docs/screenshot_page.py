"""Takes the README's screenshots of the supervisor's page with headless
Chromium (the browser of tests/test_page.py): a synthetic two-party call,
in which the customer turns angry, streamed to ``python -m
speechbrain_gemo.serve`` (default alert rule, ``--keep_audio``).

    python docs/screenshot_page.py --model results/demo/export --out docs

Writes ``page_list.png`` (the list while the call is live) and
``page_call.png`` (the call's page once it ended).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

RATE = 8000
# (party, label): agent (channel 0) and customer (channel 1) take turns;
# the customer starts neutral and turns angry
TURNS = [
    ("agent", "neu"),
    ("customer", "neu"),
    ("agent", "hap"),
    ("customer", "sad"),
    ("agent", "neu"),
    ("customer", "ang"),
    ("agent", "neu"),
    ("customer", "ang"),
    ("agent", "sad"),
    ("customer", "ang"),
]


def scripted_call(seed=0):
    """The call: eSpeak NG utterances of the demo corpus' session 1 (the
    demo's held-out session), the male speaker as the agent, the female
    as the customer, each faintly on the other's channel (-30 dB), 0.4 to
    1.2 s apart, over low noise; 8 kHz 16-bit stereo bytes."""
    from speechbrain_gemo.audio_format import resample
    from speechbrain_gemo.data.synthetic import (
        ESpeakNG,
        plan_corpus,
        render_utterance,
    )

    plan = plan_corpus(utterances_per_speaker=16, extra_per_speaker=0)
    speakers = {"agent": "Ses01M", "customer": "Ses01F"}
    rng = np.random.default_rng(seed)
    used, pieces, cursor = set(), [], 8000
    with ESpeakNG() as tts:
        for party, label in TURNS:
            utterance = next(
                p
                for p in plan
                if p.speaker.name == speakers[party]
                and p.label == label
                and p.utt_id not in used
            )
            used.add(utterance.utt_id)
            wav = render_utterance(utterance, tts, 16000)
            pieces.append((party == "customer", cursor, wav))
            cursor += len(wav) + int(rng.uniform(0.4, 1.2) * 16000)
    call = np.zeros((cursor + 16000, 2))
    for channel, start, wav in pieces:
        call[start : start + len(wav), int(channel)] += wav
        call[start : start + len(wav), 1 - int(channel)] += 0.03 * wav
    call += 0.002 * rng.standard_normal(call.shape)
    call = resample(call.astype(np.float32), 16000, RATE)
    return (np.clip(call, -1, 1) * 32767).round().astype("<i2").tobytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="export folder")
    parser.add_argument("--out", default="docs", help="folder of the PNGs")
    parser.add_argument("--speed", type=float, default=3.0)
    args = parser.parse_args()

    import httpx
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
    from websockets.sync.client import connect

    pcm = scripted_call()
    work = tempfile.mkdtemp(prefix="gemo-page-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "speechbrain_gemo.serve", "--model", args.model]
        + ["--port", str(port), "--out_dir", os.path.join(work, "calls")]
        + ["--keep_audio"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"127.0.0.1:{port}"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--window-size=1280,420", "--mute-audio"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    driver = None
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        driver = webdriver.Chrome(
            service=Service(shutil.which("chromedriver")), options=options
        )
        wait = WebDriverWait(driver, 300, poll_frequency=0.2)
        driver.get(f"http://{base}/")
        call_id = "CA7f3e2a-demo"

        def stream():
            with connect(f"ws://{base}/v1/stream") as ws:
                start = {
                    "type": "start",
                    "call_id": call_id,
                    "sample_rate": RATE,
                    "encoding": "pcm_s16le",
                    "channels": 2,
                    "roles": ["agent", "customer"],
                }
                ws.send(json.dumps(start))
                step = RATE * 4 // 5  # 0.2 s
                for k in range(0, len(pcm), step):
                    ws.send(pcm[k : k + step])
                    time.sleep(0.2 / args.speed)
                ws.send(json.dumps({"type": "stop"}))
                for _ in ws:
                    pass

        streamer = threading.Thread(target=stream)
        streamer.start()
        seconds = len(pcm) / 4 / RATE
        time.sleep(0.8 * seconds / args.speed)
        wait.until(lambda d: d.find_elements("css selector", ".status.live"))
        time.sleep(2.5)  # a poll of the list
        driver.save_screenshot(os.path.join(args.out, "page_list.png"))
        streamer.join()
        driver.get(f"http://{base}/call/{call_id}")
        wait.until(lambda d: d.find_elements("css selector", "audio"))
        wait.until(
            lambda d: d.execute_script(
                "return document.querySelector('audio').readyState >= 1"
            )
        )
        # play from the customer's first angry stretch for a moment
        angry = driver.find_elements(
            "css selector",
            'svg[data-role="customer"] rect.segment[data-label="angry"]',
        )
        if angry:
            angry[0].click()
        time.sleep(1.2)
        driver.execute_script("document.querySelector('audio').pause()")
        # the whole page: the viewport grown to the document's height
        height = driver.execute_script(
            "return document.documentElement.scrollHeight"
        )
        chrome = driver.execute_script(
            "return window.outerHeight - window.innerHeight"
        )
        driver.set_window_size(1280, min(1600, height + chrome))
        time.sleep(0.5)
        driver.save_screenshot(os.path.join(args.out, "page_call.png"))
        print(f"screenshots in {args.out}; server log: {log.name}")
    finally:
        if driver is not None:
            driver.quit()
        os.kill(server.pid, signal.SIGTERM)
        server.wait(30)


if __name__ == "__main__":
    main()
