"""Telephone audio (issue 23, items 3 and 4): the chain, the telephone
version of a test set (``python -m speechbrain_gemo.data.telephone``) and
the recipes' ``telephone_prob`` augmentation.

Signals are eSpeak NG speech of the demo corpus (``render_utterance``),
so the codecs see what they were designed for.
"""

import glob
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_gemo.audio_format import resample
from speechbrain_gemo.data import telephone
from speechbrain_gemo.data.telephone import (
    CODECS,
    TELEPHONE_RATE,
    code,
    make_telephone_test_set,
    telephone_audio,
    telephone_augment,
    utterance_codec,
)
from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.testing import load_recipe_script, write_tiny_iemocap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = 16000
RECIPES = sorted(
    os.path.basename(os.path.dirname(os.path.dirname(p)))
    for p in glob.glob(
        os.path.join(ROOT, "recipes", "*", "gemo_clap", "train.py")
    )
)


@pytest.fixture(scope="module")
def speech():
    """Four eSpeak NG utterances of the demo corpus at 16 kHz."""
    from speechbrain_gemo.data.synthetic import (
        ESpeakNG,
        plan_corpus,
        render_utterance,
    )

    plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=0)
    with ESpeakNG() as tts:
        return [render_utterance(p, tts, RATE) for p in plan[:4]]


def band_shares(signal, rate, high=3700):
    """Shares of a signal's energy below 200 Hz, in 400-3000 Hz and above
    ``high`` Hz."""
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(len(signal), 1 / rate)
    total = power.sum()
    return (
        power[freqs < 200].sum() / total,
        power[(freqs > 400) & (freqs < 3000)].sum() / total,
        power[freqs > high].sum() / total,
    )


class Forced:
    """A random source that always transforms and picks ``codec``."""

    def __init__(self, codec):
        self.codec = codec

    def random(self):
        return 0.0

    def choice(self, options):
        assert self.codec in options
        return self.codec


# ------------------------------------------------------------------ the chain


def test_chain_is_8k_band_limited_and_coded(speech, tmp_path):
    noise = np.random.default_rng(0).standard_normal(4 * RATE) * 0.1
    low, band, high = band_shares(noise, RATE)
    assert low > 0.02 and high > 0.5  # white noise at 16 kHz
    narrow = telephone_audio(noise, RATE)
    assert narrow.dtype == np.float32 and len(narrow) == 4 * TELEPHONE_RATE
    low, band, high = band_shares(narrow, TELEPHONE_RATE)
    assert low < 0.001 and high < 0.001 and band > 0.8
    # stereo input: the channels' mean
    stereo = np.stack([speech[0], -speech[0] * 0.5], axis=1)
    np.testing.assert_array_equal(
        telephone_audio(stereo, RATE), telephone_audio(speech[0] * 0.25, RATE)
    )
    # loud input is clipped to full scale before the codec
    assert np.abs(telephone_audio(speech[0] * 10, RATE)).max() <= 1.0

    narrow = telephone_audio(speech[1], RATE)
    snr = {}
    for codec, subtype in CODECS.items():
        coded = code(narrow, codec)
        if codec != "gsm":
            assert coded.shape == narrow.shape
        # what a file of that codec holds
        path = tmp_path / f"{codec}.wav"
        soundfile.write(path, narrow, TELEPHONE_RATE, subtype=subtype)
        stored, _ = soundfile.read(path, dtype="float32")
        np.testing.assert_array_equal(coded, stored)
        error = np.sum((coded[: len(narrow)] - narrow) ** 2)
        snr[codec] = 10 * np.log10(np.sum(narrow**2) / error)
    # G.711 is a fine quantiser, GSM 06.10 a coarse vocoder-like coder
    assert 30 < snr["mulaw"] < 45 and 30 < snr["alaw"] < 45
    assert 3 < snr["gsm"] < 20


def test_training_chain_gives_what_reading_the_telephone_file_gives(
    speech, tmp_path
):
    """telephone_augment (training) and a file written by the telephone
    test-set tool, read back and resampled as every reader resamples:
    the same samples, for each codec."""
    from speechbrain_gemo.data.audio import read_utterance

    soundfile.write(tmp_path / "u.wav", speech[2], RATE)
    manifest = tmp_path / "test.json"
    manifest.write_text(json.dumps({"u": {"wav": "{data_root}/u.wav"}}))
    for codec in CODECS:
        out = tmp_path / codec
        make_telephone_test_set(str(manifest), str(out), str(tmp_path), codec)
        stored, rate = soundfile.read(out / "u.wav", dtype="float32")
        assert rate == TELEPHONE_RATE
        read = resample(stored, TELEPHONE_RATE, RATE)
        # the training reader's samples of the same source
        sig = read_utterance(str(tmp_path / "u.wav"), "u", RATE)
        trained = telephone_augment(sig, RATE, 1.0, Forced(codec)).numpy()
        assert len(trained) == len(sig)
        n = min(len(read), len(trained))
        assert n >= len(sig) - 1
        np.testing.assert_array_equal(trained[:n], read[:n])


def test_telephone_prob_zero_draws_nothing_and_draws_are_seeded(speech):
    sig = torch.from_numpy(speech[0])
    rng = random.Random(5)
    state = rng.getstate()
    global_state = random.getstate()
    assert telephone_augment(sig, RATE, 0.0, rng) is sig
    assert telephone_augment(sig, RATE, 0.0) is sig
    assert rng.getstate() == state and random.getstate() == global_state

    short = sig[: RATE // 4]

    def outputs(seed, n=120, prob=0.5):
        rng = random.Random(seed)
        return [telephone_augment(short, RATE, prob, rng) for _ in range(n)]

    first, again, other = outputs(1), outputs(1), outputs(2)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    changed = [not torch.equal(x, short) for x in first]
    assert 0.35 < sum(changed) / len(changed) < 0.65
    assert [not torch.equal(x, short) for x in other] != changed
    # every codec is drawn: the three kinds of output appear
    kinds = {
        codec: telephone_augment(short, RATE, 1.0, Forced(codec))
        for codec in CODECS
    }
    seen = {
        codec for x in first for codec, y in kinds.items() if torch.equal(x, y)
    }
    assert seen == set(CODECS)
    with pytest.raises(ValueError, match="telephone_prob 1.5"):
        telephone_augment(short, RATE, 1.5)


def test_codec_draw_of_a_test_set_depends_on_id_and_seed_only():
    ids = [f"utt{k}" for k in range(60)]
    drawn = [utterance_codec(u, None, 3) for u in ids]
    assert set(drawn) == set(CODECS)
    assert drawn == [utterance_codec(u, None, 3) for u in reversed(ids)][::-1]
    assert drawn != [utterance_codec(u, None, 4) for u in ids]


# --------------------------------------------------------- the recipes' reader


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_turns_training_utterances_into_telephone_audio(
    recipe, tmp_path
):
    """With telephone_prob 1, every training utterance the recipe's data
    pipeline gives is band-limited; validation and test utterances are
    read as they are."""
    from speechbrain_gemo.data.audio import read_utterance
    from speechbrain_gemo.data.iemocap import prepare_iemocap

    data = str(tmp_path / "data")
    write_tiny_iemocap(data, utterances_per_speaker=2)
    paths = prepare_iemocap(
        data, str(tmp_path / "save"), test_session=1, expected_utterances=None
    )
    train = load_recipe_script(
        os.path.join(ROOT, "recipes", recipe, "gemo_clap", "train.py")
    )
    hparams = {
        "max_train_seconds": None,
        "telephone_prob": 1.0,
        "avd_head": False,
        "sample_rate": RATE,
        "data_folder": data,
        "save_folder": str(tmp_path / "save"),
        **{f"{s}_annotation": paths[s] for s in ("train", "valid", "test")},
    }
    datasets, _ = train.dataio_prep(hparams, ["neu", "hap", "ang", "sad"])
    with open(paths["train"]) as f:
        wavs = {
            utt_id: entry["wav"].replace("{data_root}", data)
            for utt_id, entry in json.load(f).items()
        }
    random.seed(0)
    for item in datasets["train"]:
        raw = read_utterance(wavs[item["id"]], item["id"], RATE).numpy()
        # noisy tones: wideband
        assert band_shares(raw, RATE, high=4100)[2] > 0.01
        sig = item["sig"].numpy()
        assert len(sig) == len(raw)
        # (the codecs' noise reaches 4 kHz, the 8 kHz files' Nyquist)
        assert band_shares(sig, RATE, high=4100)[2] < 1e-4
    for split in ("valid", "test"):
        with open(paths[split]) as f:
            entries = json.load(f)
        for item in datasets[split]:
            wav = entries[item["id"]]["wav"].replace("{data_root}", data)
            raw = read_utterance(wav, item["id"], RATE)
            assert torch.equal(item["sig"], raw)


# ------------------------------------------------------ the telephone test set


def write_test_set(folder, speech):
    """A manifest over 16 kHz WAV, 44.1 kHz stereo FLAC and 8 kHz mu-law
    sources (one per utterance), under {data_root}."""
    os.makedirs(os.path.join(folder, "sub"), exist_ok=True)
    stereo = resample(np.stack([speech[1], speech[1] * 0.8], 1), RATE, 44100)
    sources = {
        "s0": ("s0.wav", speech[0], RATE, "PCM_16"),
        "sub/s1": ("sub/s1.flac", stereo, 44100, "PCM_16"),
        "s2": ("s2.wav", resample(speech[2], RATE, 8000), 8000, "ULAW"),
        "s3": ("s3.wav", speech[3], RATE, "FLOAT"),
    }
    entries = {}
    labels = ["neu", "hap", "ang", "sad"]
    for k, (utt_id, (name, samples, rate, subtype)) in enumerate(
        sources.items()
    ):
        soundfile.write(
            os.path.join(folder, name), samples, rate, subtype=subtype
        )
        entries[utt_id] = {
            "wav": "{data_root}/" + name,
            "duration": 0.0,
            "emo": labels[k],
            "speaker": "x",
        }
    manifest = os.path.join(folder, "test.json")
    with open(manifest, "w") as f:
        json.dump(entries, f)
    return manifest


def run_module(*args, runner=None):
    command = [sys.executable]
    if runner:
        command.append(runner)
    else:
        command.append("-m")
    command += ["speechbrain_gemo.data.telephone", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


@pytest.mark.slow
def test_telephone_test_set_end_to_end_with_infer_labels(speech, tmp_path):
    data = str(tmp_path / "data")
    manifest = write_test_set(data, speech)
    out = str(tmp_path / "tel")
    result = run_module(
        "--manifest", manifest, "--data_root", data, "--out", out
    )
    assert result.returncode == 0, result.stderr
    assert "4 files written, 0 already done" in result.stdout
    with open(os.path.join(out, "test.json")) as f:
        written = json.load(f)
    assert list(written) == ["s0", "sub/s1", "s2", "s3"]
    for utt_id, entry in written.items():
        path = entry["wav"].replace("{data_root}", out)
        assert path == os.path.join(out, *utt_id.split("/")) + ".wav"
        info = soundfile.info(path)
        assert (info.samplerate, info.channels) == (TELEPHONE_RATE, 1)
        assert info.subtype == CODECS[entry["codec"]]
        assert entry["codec"] == utterance_codec(utt_id, None, 1986)
        assert entry["duration"] == pytest.approx(info.duration)
        assert entry["speaker"] == "x"
    assert not glob.glob(os.path.join(out, "**", ".*.tmp"), recursive=True)

    export = save_tiny_export(str(tmp_path / "export"))
    preds = str(tmp_path / "preds.csv")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "speechbrain_gemo.infer",
            "--model",
            export,
            "--labels",
            os.path.join(out, "test.json"),
            "--data_root",
            out,
            "--out",
            preds,
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(str(tmp_path / "preds_report.json")) as f:
        report = json.load(f)
    assert report["num_utterances"] == 4 and report["failed"] == 0

    # one codec for every file
    gsm = str(tmp_path / "gsm")
    result = run_module(
        "--manifest",
        manifest,
        "--data_root",
        data,
        "--out",
        gsm,
        "--codec",
        "gsm",
    )
    assert result.returncode == 0, result.stderr
    with open(os.path.join(gsm, "test.json")) as f:
        assert {e["codec"] for e in json.load(f).values()} == {"gsm"}
    for path in glob.glob(os.path.join(gsm, "**", "*.wav"), recursive=True):
        assert soundfile.info(path).subtype == "GSM610"


# Runs the telephone module as __main__, SIGKILLed at the N-th
# soundfile.write (inside the atomic write of a file: its temporary file
# exists, the file does not)
KILL_RUNNER = '''"""kill_runner.py N ARGS...: the telephone tool, SIGKILLed at
the N-th soundfile.write."""
import os
import runpy
import signal
import sys

import soundfile

count, calls, original = int(sys.argv[1]), [0], soundfile.write


def write(*args, **kwargs):
    """Kills the process at the chosen call."""
    calls[0] += 1
    if calls[0] == count:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)


soundfile.write = write
sys.argv = [sys.argv[0]] + sys.argv[2:]
runpy.run_module("speechbrain_gemo.data.telephone", run_name="__main__")
'''


@pytest.mark.slow
def test_telephone_tool_killed_resumes_where_it_stopped(speech, tmp_path):
    data = str(tmp_path / "data")
    manifest = write_test_set(data, speech)
    out = str(tmp_path / "tel")
    runner = str(tmp_path / "kill_runner.py")
    with open(runner, "w") as f:
        f.write(KILL_RUNNER)
    args = ["--manifest", manifest, "--data_root", data, "--out", out]
    command = [sys.executable, runner, "3", *args]
    killed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert killed.returncode == -9, killed.stderr
    done = sorted(glob.glob(os.path.join(out, "**", "*.wav"), recursive=True))
    assert len(done) == 2  # s0 and sub/s1; s2's write was killed
    assert glob.glob(os.path.join(out, ".s2.wav.*.tmp"))
    assert not os.path.exists(os.path.join(out, "test.json"))
    mtimes = {p: os.stat(p).st_mtime_ns for p in done}

    result = run_module(*args)
    assert result.returncode == 0, result.stderr
    assert "2 files written, 2 already done" in result.stdout
    assert {p: os.stat(p).st_mtime_ns for p in done} == mtimes
    assert not glob.glob(os.path.join(out, "**", ".*.tmp"), recursive=True)
    with open(os.path.join(out, "test.json")) as f:
        assert len(json.load(f)) == 4
    # the same as a run never interrupted
    reference = str(tmp_path / "reference")
    result = run_module(
        "--manifest", manifest, "--data_root", data, "--out", reference
    )
    assert result.returncode == 0, result.stderr
    for path in glob.glob(os.path.join(out, "**", "*.wav"), recursive=True):
        twin = os.path.join(reference, os.path.relpath(path, out))
        with open(path, "rb") as a, open(twin, "rb") as b:
            assert a.read() == b.read(), path


def test_telephone_tool_errors(speech, tmp_path, capsys):
    data = str(tmp_path / "data")
    manifest = write_test_set(data, speech)
    out = str(tmp_path / "tel")

    def fails(*args):
        with pytest.raises(SystemExit) as exit_info:
            telephone.main(list(args))
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    missing = str(tmp_path / "none.json")
    assert f"manifest {missing} does not exist" in fails(
        "--manifest", missing, "--out", out
    )
    error = fails("--manifest", manifest, "--out", out)
    assert "utterance 's0' is under {data_root}: give --data_root" in error
    (tmp_path / "empty.json").write_text("{}")
    assert "found an empty one" in fails(
        "--manifest", str(tmp_path / "empty.json"), "--out", out
    )
    (tmp_path / "bad.json").write_text("[1, 2")
    assert "is not JSON" in fails(
        "--manifest", str(tmp_path / "bad.json"), "--out", out
    )
    assert "would overwrite the manifest" in fails(
        "--manifest", manifest, "--data_root", data, "--out", data
    )
    assert "invalid choice: 'opus'" in fails(
        "--manifest", manifest, "--out", out, "--codec", "opus"
    )

    assert not os.path.exists(out)  # nothing written on those errors

    # an unreadable source: the others are written, it is listed, status 1
    with open(os.path.join(data, "s2.wav"), "wb") as f:
        f.write(b"RIFF....WAVEjunk")
    args = ["--manifest", manifest, "--data_root", data, "--out", out]
    assert telephone.main(args + ["--codec", "alaw"]) == 1
    assert "1 source files could not be read" in capsys.readouterr().err
    with open(os.path.join(out, "test.json")) as f:
        assert list(json.load(f)) == ["s0", "sub/s1", "s3"]
    with open(os.path.join(out, "skipped.csv")) as f:
        lines = f.read().splitlines()
    assert lines[0] == "utt_id,path,reason" and lines[1].startswith('"s2",')
    assert not os.path.exists(os.path.join(out, "s2.wav"))
    # the folder holds an A-law set: another codec is refused
    assert "made with other options (codec='alaw')" in fails(
        *args, "--codec", "mulaw"
    )
    # the source repaired, the run started again finishes the set
    soundfile.write(os.path.join(data, "s2.wav"), speech[2], RATE)
    assert telephone.main(args + ["--codec", "alaw"]) == 0
    assert "1 files written, 3 already done" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(out, "skipped.csv"))
