"""The command line with the ONNX backend (same CSV as PyTorch) and the
cross-corpus evaluation of ``--labels`` from another corpus."""

import csv
import json
import os
import shutil

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.data.ravdess import prepare_ravdess
from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.infer import main

pytest.importorskip("onnxruntime")
pytest.importorskip("soxr")

from speechbrain_gemo.onnx import export_onnx  # noqa: E402

# RAVDESS code -> the IEMOCAP model's class, as the model names it
IEMOCAP_WORDS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backends")
    export = save_tiny_export(str(folder / "export"))
    return export, export_onnx(export, str(folder / "onnx"))


def _tone(seconds, seed, rate=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t)
    return (wave + 0.02 * rng.standard_normal(len(t))).astype("float32")


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _assert_same_csv(first, second):
    a, b = _read(first), _read(second)
    assert list(a[0]) == list(b[0])  # same columns
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for key in x:
            if key.startswith("prob_") or key.endswith("score"):
                if x[key] or y[key]:
                    assert abs(float(x[key]) - float(y[key])) <= 1e-4, key
            elif key != "error":
                assert x[key] == y[key], key
        # Same failures; the messages may name the backend's reader
        assert bool(x["error"]) == bool(y["error"])


def _run_both(models, args, tmp_path):
    export, onnx_dir = models
    torch_csv, onnx_csv = tmp_path / "torch.csv", tmp_path / "onnx.csv"
    common = args + ["--no-progress"]
    assert main(["--model", export, "--out", str(torch_csv)] + common) == 0
    onnx_args = ["--model", onnx_dir, "--backend", "onnx"]
    assert main(onnx_args + ["--out", str(onnx_csv)] + common) == 0
    _assert_same_csv(torch_csv, onnx_csv)
    return _read(onnx_csv)


def test_onnx_backend_gives_the_same_csv(models, tmp_path):
    for k, seconds in enumerate((0.6, 1.3, 0.9, 2.5)):
        soundfile.write(tmp_path / f"{k}.wav", _tone(seconds, k), 16000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF" + b"junk" * 20)
    # 1 s windows: the 1.3 s and 2.5 s files are classified in windows
    rows = _run_both(
        models,
        [str(tmp_path), "--window_seconds", "1", "--overlap_seconds", "0.2"],
        tmp_path,
    )
    assert [bool(r["error"]) for r in rows] == [False] * 4 + [True]
    assert "gender" in rows[0]  # the tiny export is an ML model


def test_onnx_backend_gives_the_same_timeline(models, tmp_path):
    rate = 16000
    silence = np.zeros(rate, dtype="float32")
    audio = np.concatenate(
        [silence, _tone(1.5, 1), silence, _tone(2.2, 2), silence]
    )
    soundfile.write(tmp_path / "call.wav", audio, rate)
    rows = _run_both(
        models,
        [str(tmp_path / "call.wav"), "--timeline", "--vad", "energy"],
        tmp_path,
    )
    assert len(rows) == 2 and not any(r["error"] for r in rows)
    assert float(rows[0]["start"]) == pytest.approx(1.0, abs=0.1)


def test_onnx_backend_gives_the_same_csv_for_telephone_audio(models, tmp_path):
    """8 kHz mu-law, A-law and GSM 06.10, a stereo mu-law call, 44.1 kHz
    stereo FLAC and 22.05 kHz: both backends read them through the one
    resampler, so their CSVs agree within 1e-4, in batch and timeline
    mode (GSM files, which libsndfile cannot seek in, included)."""
    folder = tmp_path / "calls"
    folder.mkdir()
    for k, (name, rate, subtype) in enumerate(
        [
            ("mulaw.wav", 8000, "ULAW"),
            ("alaw.wav", 8000, "ALAW"),
            ("gsm.wav", 8000, "GSM610"),
            ("odd.wav", 22050, "PCM_16"),
        ]
    ):
        soundfile.write(
            folder / name, _tone(1.2, k, rate), rate, subtype=subtype
        )
    stereo = np.stack([_tone(1.1, 5, 8000), _tone(1.1, 6, 8000)], axis=1)
    soundfile.write(folder / "call.wav", stereo, 8000, subtype="ULAW")
    stereo = np.stack([_tone(0.9, 7, 44100), _tone(0.9, 8, 44100)], axis=1)
    soundfile.write(folder / "music.flac", stereo, 44100)
    rows = _run_both(models, [str(folder)], tmp_path)
    assert len(rows) == 6 and not any(r["error"] for r in rows)

    silence = np.zeros(8000, dtype="float32")
    call = np.concatenate(
        [silence, _tone(1.5, 1, 8000), silence, _tone(2.2, 2, 8000), silence]
    )
    soundfile.write(tmp_path / "gsm_call.wav", call, 8000, subtype="GSM610")
    timeline = tmp_path / "timeline"
    timeline.mkdir()
    rows = _run_both(
        models,
        [str(tmp_path / "gsm_call.wav"), "--timeline", "--vad", "energy"],
        timeline,
    )
    assert len(rows) == 2 and not any(r["error"] for r in rows)


def test_onnx_backend_gives_the_same_timeline_per_role(models, tmp_path):
    """``--channels agent,customer`` on a stereo 8 kHz mu-law call with
    bleed (a GSM call of GSM's one channel beside it gets its
    channel-count error row with both backends)."""
    from speechbrain_gemo.testing import write_test_call

    call = tmp_path / "call.wav"
    write_test_call(
        str(call), [(0, 0.3, "Good morning."), (1, 2.0, "Hello there.")]
    )
    mono = tmp_path / "mono.wav"
    soundfile.write(mono, _tone(1.0, 3, 8000), 8000, subtype="GSM610")
    rows = _run_both(
        models,
        [str(call), str(mono), "--timeline", "--vad", "energy"]
        + ["--channels", "agent,customer"],
        tmp_path,
    )
    assert [r["speaker"] for r in rows] == ["agent", "customer", ""]
    assert "has 1 channel but 2 channel names" in rows[-1]["error"]


def test_onnx_backend_refuses_other_prompts(models, tmp_path, capsys):
    _, onnx_dir = models
    with pytest.raises(SystemExit) as info:
        main(["--model", onnx_dir, "--backend", "onnx", "--zero_shot",
              "--labels", str(tmp_path / "test.json")])  # fmt: skip
    assert info.value.code == 2
    assert "no text model" in capsys.readouterr().err
    # a folder converted without --int8 has no int8 graph
    wav = str(tmp_path / "a.wav")
    soundfile.write(wav, _tone(0.5, 0), 16000)
    argv = ["--model", onnx_dir, "--backend", "onnx", "--precision", "int8"]
    assert main(argv + [wav, "--out", str(tmp_path / "p.csv")]) == 2
    assert "no 'int8' graph" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ravdess(tmp_path_factory):
    """A RAVDESS tree (2 actors, 8 emotions, 16 kHz) prepared into
    manifests; the test fold holds one actor: one file per emotion."""
    root = tmp_path_factory.mktemp("ravdess")
    data = root / "data"
    for actor in ("01", "02"):
        os.makedirs(data / f"Actor_{actor}")
        for e in range(1, 9):
            name = f"03-01-{e:02d}-01-01-01-{actor}.wav"
            seconds = 0.5 + 0.1 * e
            soundfile.write(
                data / f"Actor_{actor}" / name,
                _tone(seconds, e + 10 * int(actor)),
                16000,
            )
    prepare_ravdess(str(data), str(root / "save"), test_fold=1, num_folds=2)
    return str(data), str(root / "save" / "test.json")


def test_cross_corpus_report_on_shared_classes(models, ravdess, tmp_path):
    export, _ = models
    data, manifest = ravdess
    out = tmp_path / "p.csv"
    args = ["--model", export, "--labels", manifest, "--data_root", data]
    assert main(args + ["--out", str(out), "--no-progress"]) == 0
    report = json.loads((tmp_path / "p_report.json").read_text())
    with open(manifest) as f:
        truth = {
            os.path.normpath(e["wav"].replace("{data_root}", data)): e["emo"]
            for e in json.load(f).values()
        }
    assert sorted(truth.values()) == [f"{e:02d}" for e in range(1, 9)]
    # By hand: IEMOCAP's four classes are RAVDESS 01, 03, 04, 05; calm,
    # fearful, disgusted and surprised (02, 06, 07, 08) are left out
    assert report["num_utterances"] == 4
    assert report["unknown_label"] == 4
    assert report["left_out"] == {"02": 1, "06": 1, "07": 1, "08": 1}
    assert report["labels"] == ["neutral", "happy", "angry", "sad"]
    assert report["corpora"] == {"model": "IEMOCAP", "labels": "RAVDESS"}
    # WAR from the CSV: the most probable of the four shared classes
    hits = 0
    for row in _read(out):
        code = truth[os.path.normpath(row["path"])]
        if code in IEMOCAP_WORDS:
            probs = {c: float(row[f"prob_{c}"]) for c in IEMOCAP_WORDS.values()}
            hits += max(probs, key=probs.get) == IEMOCAP_WORDS[code]
    assert report["WAR"] == pytest.approx(hits / 4)
    text = (tmp_path / "p_report.txt").read_text()
    assert "left out: 02" in text and "calm" in text
    # the ONNX backend reports the same
    onnx_args = ["--model", models[1], "--backend", "onnx"]
    out = tmp_path / "o.csv"
    argv = onnx_args + args[2:] + ["--out", str(out), "--no-progress"]
    assert main(argv) == 0
    onnx_report = json.loads((tmp_path / "o_report.json").read_text())
    for key in ("confusion_matrix", "left_out", "WAR", "UAR"):
        assert onnx_report[key] == report[key], key


def test_cross_corpus_zero_shot_scores_every_class(models, ravdess, tmp_path):
    export, _ = models
    data, manifest = ravdess
    out = tmp_path / "z.csv"
    args = ["--model", export, "--labels", manifest, "--data_root", data]
    assert main(args + ["--zero_shot", "--out", str(out), "--no-progress"]) == 0
    report = json.loads((tmp_path / "z_report.json").read_text())
    codes = [f"{e:02d}" for e in range(1, 9)]
    assert report["labels"] == codes
    assert report["num_utterances"] == 8 and report["unknown_label"] == 0
    assert sum(map(sum, report["confusion_matrix"])) == 8
    assert list(_read(out)[0])[3:11] == [f"prob_{c}" for c in codes]
    words = {row["manifest"]: row["word"] for row in report["class_mapping"]}
    assert words["02"] == "calm" and words["08"] == "surprised"


def test_cli_without_torch_says_what_it_needs(models, tmp_path):
    import subprocess
    import sys

    _, onnx_dir = models
    code = (
        "import sys\n"
        "for name in ('torch', 'speechbrain', 'transformers'):\n"
        "    sys.modules[name] = None\n"
        "from speechbrain_gemo.infer import main\n"
        f"sys.exit(main(['--backend', 'onnx', '--model', {onnx_dir!r}, "
        f"{str(tmp_path / 'a.wav')!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert "needs torch, speechbrain" in result.stderr
    assert "EmotionClassifierONNX" in result.stderr


def test_class_mapping_reads_codes_within_their_corpus():
    from speechbrain_gemo.cross_corpus import class_mapping
    from speechbrain_gemo.prompts import CORPUS_CLASSES

    # EmoDB's A is fearful, MSP-Podcast's A angry: an MSP-Podcast model
    # on EmoDB maps A to its F and W to its A; bored (L) is not shared
    match = class_mapping(CORPUS_CLASSES["MSP-Podcast"], ["A", "W", "L", "N"])
    assert match["manifest_corpus"] == "EmoDB"
    assert match["mapping"] == {"A": "F", "N": "N", "W": "A"}
    # only letters both corpora use: the model's own corpus is assumed
    same = class_mapping(CORPUS_CLASSES["MSP-Podcast"], ["A", "N"])
    assert same["manifest_corpus"] == "MSP-Podcast"
    assert same["mapping"] == {"A": "A", "N": "N"}
    # a user's own labels are their own words
    own = class_mapping(["angry", "frustrated"], ["ANG", "SAD"])
    assert own["mapping"] == {"ANG": "angry"}


@pytest.mark.parametrize(
    "option, message",
    [
        (["--prompts", "prompts.json"], "no text model"),
        (["--zero_shot"], "no text model"),
        (["--device", "cuda"], "runs on the CPU"),
    ],
)
def test_onnx_backend_refuses_what_needs_torch(
    option, message, tmp_path, capsys
):
    """``--backend onnx`` refuses other prompts (no text model) and other
    devices than the CPU, before anything is loaded."""
    argv = ["--model", str(tmp_path), "--backend", "onnx"]
    with pytest.raises(SystemExit) as info:
        main(argv + [str(tmp_path / "a.wav"), *option])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_onnx_backend_int8_precision_uses_the_int8_graph(
    models, tmp_path, capsys
):
    """``--precision int8`` classifies with the folder's int8 graph: its
    CSV gives ``EmotionClassifierONNX(precision="int8")``'s probabilities
    and differs from the fp32 graph's. Without ``--precision``, a folder
    converted with ``--int8`` is still classified with fp32, and each run
    says which graph it uses."""
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    export, _ = models
    onnx_dir = export_onnx(export, str(tmp_path / "onnx"), int8=True)
    wavs = []
    for k, seconds in enumerate((0.6, 1.3, 0.9)):
        wavs.append(str(tmp_path / f"{k}.wav"))
        soundfile.write(wavs[-1], _tone(seconds, k), 16000)
    # one file per batch: int8 activation ranges depend on the padding
    argv = ["--model", onnx_dir, "--backend", "onnx", "--no-progress"]
    argv += ["--max_batch_size", "1", *wavs]
    rows, said = {}, {}
    for precision in ("fp32", "int8", None):
        out = str(tmp_path / f"{precision}.csv")
        asked = ["--precision", precision] if precision else []
        assert main(argv + asked + ["--out", out]) == 0
        rows[precision] = _read(out)
        said[precision] = capsys.readouterr().err
    assert "ONNX backend: fp32 graph (audio_encoder.onnx)" in said["fp32"]
    assert "ONNX backend: int8 graph (audio_encoder.int8.onnx)" in said["int8"]
    assert "ONNX backend: fp32 graph (audio_encoder.onnx)" in said[None]
    assert rows[None] == rows["fp32"]
    int8 = EmotionClassifierONNX(onnx_dir, precision="int8")
    keys = [f"prob_{label}" for label in int8.labels]
    gaps = []
    for wav, row8, row32 in zip(wavs, rows["int8"], rows["fp32"]):
        got = np.array([float(row8[key]) for key in keys])
        fp32 = np.array([float(row32[key]) for key in keys])
        # measured: 4.7e-7 apart (6 decimals in the CSV)
        np.testing.assert_allclose(
            got, int8.classify_file(wav)[0][0], rtol=0, atol=2e-6
        )
        gaps.append(np.abs(got - fp32).max())
    # measured: int8 and fp32 are 7.5e-4 to 1.6e-3 apart on these files
    assert max(gaps) > 2e-4


def test_both_backends_check_windows_alike(models):
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    export, onnx_dir = models
    backends = (
        GEmoCLAP.from_hparams(source=export, savedir=export),
        EmotionClassifierONNX(onnx_dir),
    )
    wav = _tone(0.5, 0)[None]
    assert backends[0].min_samples == backends[1].min_samples == 400
    for model in backends:
        # Checked even when no item is long enough to be split
        with pytest.raises(ValueError, match="at least 400 samples"):
            model.classify_batch(wav, window_seconds=0.02)
        with pytest.raises(ValueError, match="window_seconds=1.0, overlap"):
            model.classify_batch(wav, window_seconds=1.0, overlap_seconds=1)
        with pytest.raises(ValueError, match="overlap_seconds=-0.1"):
            model.classify_batch(wav, window_seconds=1.0, overlap_seconds=-0.1)
    # 0 never splits: the same probabilities as no window at all
    for model in backends:
        whole = np.asarray(model.classify_batch(wav, window_seconds=0)[0])
        assert np.allclose(whole, np.asarray(model.classify_batch(wav)[0]))


def test_a_damaged_model_is_one_error_line_on_either_backend(
    models, tmp_path, capsys
):
    """A damaged export (PyTorch) or graph (ONNX) stops the command line
    with status 2 and one line naming the file, not a traceback."""
    export, onnx_dir = models
    audio = str(tmp_path / "a.wav")
    soundfile.write(audio, np.zeros(16000, dtype="float32"), 16000)
    for backend, source, damaged in (
        ("pytorch", export, "model.ckpt"),
        ("onnx", onnx_dir, "projection.onnx"),
    ):
        copy = str(tmp_path / backend)
        shutil.copytree(source, copy)
        with open(os.path.join(copy, damaged), "wb") as f:
            f.write(b"not a model")
        capsys.readouterr()
        status = main(
            ["--model", copy, "--backend", backend, audio, "--out",
             str(tmp_path / f"{backend}.csv"), "--no-progress"]
        )  # fmt: skip
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error")]
        assert status == 2, err
        assert len(lines) == 1 and "damaged" in lines[0], err
        assert os.path.join(copy, damaged) in lines[0]
        assert not os.path.exists(tmp_path / f"{backend}.csv")
