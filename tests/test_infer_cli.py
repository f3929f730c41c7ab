"""The inference command line: ``python -m speechbrain_gemo.infer``."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.batching import make_batches
from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.infer import main
from speechbrain_gemo.inference import GEmoCLAP

# the tiny IEMOCAP-like export's classes, as a person reads them
LABELS = ["neutral", "happy", "angry", "sad"]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return save_tiny_export(str(tmp_path_factory.mktemp("cli") / "export"))


@pytest.fixture(scope="module")
def model(export):
    return GEmoCLAP.from_hparams(source=export)


def _tone(seconds, rate, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t)
    wave = wave + 0.02 * rng.standard_normal(len(t))
    wave = wave.astype("float32")
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    """Three good files (various rates and channels), a corrupt one, one
    too short for the model, and a file that is not audio."""
    folder = tmp_path_factory.mktemp("audio")
    os.makedirs(folder / "sub")
    soundfile.write(folder / "a.wav", _tone(0.8, 16000, seed=1), 16000)
    soundfile.write(folder / "sub" / "b.flac", _tone(1.2, 44100, 2, 2), 44100)
    soundfile.write(folder / "c.wav", _tone(0.5, 8000, seed=3), 8000)
    (folder / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" * 8)
    soundfile.write(folder / "short.wav", _tone(0.01, 16000), 16000)
    (folder / "notes.txt").write_text("not audio")
    return folder


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "speechbrain_gemo.infer", "--help"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "--max_batch_seconds" in result.stdout


def test_folder_with_a_corrupt_file(export, model, audio_dir, tmp_path, capsys):
    out = tmp_path / "out" / "predictions.csv"
    args = ["--model", export, str(audio_dir), "--out", str(out)]
    assert main(args + ["--max-batch-seconds", "2.5"]) == 0
    stderr = capsys.readouterr().err
    assert "3 of 5 files classified (2 failed)" in stderr
    assert "5/5" in stderr  # the progress bar
    rows = _read(out)
    assert [os.path.relpath(r["path"], audio_dir) for r in rows] == [
        "a.wav",
        "broken.wav",
        "c.wav",
        "short.wav",
        os.path.join("sub", "b.flac"),
    ]
    assert list(rows[0]) == (
        ["path", "label", "score"]
        + [f"prob_{label}" for label in LABELS]
        + ["gender", "gender_score", "error"]
    )
    by_name = {os.path.basename(r["path"]): r for r in rows}
    assert "cannot read audio" in by_name["broken.wav"]["error"]
    assert "receptive field" in by_name["short.wav"]["error"]
    for name in ("a.wav", "b.flac", "c.wav"):
        row = by_name[name]
        assert row["error"] == ""
        probs = [float(row[f"prob_{label}"]) for label in LABELS]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert row["label"] == LABELS[int(np.argmax(probs))]
        assert row["gender"] in ("F", "M")
        # batched by duration = one file at a time
        single = model.classify_file(row["path"])[0][0].tolist()
        assert probs == pytest.approx(single, abs=2e-6)


def test_labelled_manifest_report(export, audio_dir, tmp_path):
    manifest = tmp_path / "test.json"
    entries = {
        "u1": {"wav": "{data_root}/a.wav", "emo": "neu"},
        "u2": {"wav": "{data_root}/sub/b.flac", "emo": "sad"},
        "u3": {"wav": "{data_root}/c.wav", "emo": "sad"},
        "u4": {"wav": "{data_root}/broken.wav", "emo": "ang"},
    }
    manifest.write_text(json.dumps(entries))
    out = str(tmp_path / "preds.csv")
    code = main(
        [
            "--model",
            export,
            "--labels",
            str(manifest),
            "--data_root",
            str(audio_dir),
            "--out",
            out,
            "--no-progress",
        ]
    )
    assert code == 0
    rows = _read(out)
    assert len(rows) == 4 and rows[3]["error"]
    with open(tmp_path / "preds_report.json") as f:
        report = json.load(f)
    # the manifest's codes, read as the classes they name
    truth = {"a.wav": "neutral", "b.flac": "sad", "c.wav": "sad"}
    correct = sum(
        r["label"] == truth[os.path.basename(r["path"])] for r in rows[:3]
    )
    assert report["num_utterances"] == 3 and report["failed"] == 1
    assert report["WAR"] == pytest.approx(correct / 3)
    assert report["labels"] == LABELS
    assert sum(map(sum, report["confusion_matrix"])) == 3
    assert report["per_class"]["sad"]["support"] == 2
    text = (tmp_path / "preds_report.txt").read_text()
    assert "UAR" in text and "sad" in text
    png = tmp_path / "preds_confusion.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_csv_list_with_zero_shot_prompts(export, audio_dir, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(f"path\n{audio_dir / 'a.wav'}\n{audio_dir / 'c.wav'}\n")
    prompts = tmp_path / "prompts.json"
    prompts.write_text(
        json.dumps({"calm": "A calm voice.", "tense": ["A tense voice."]})
    )
    out = str(tmp_path / "zs.csv")
    args = ["--model", export, str(listing), "--out", out, "--no-progress"]
    assert main(args + ["--prompts", str(prompts)]) == 0
    rows = _read(out)
    assert len(rows) == 2
    assert {"prob_calm", "prob_tense"} <= set(rows[0])
    assert all(r["label"] in ("calm", "tense") for r in rows)


def test_all_files_failing_exit_code(export, audio_dir, tmp_path):
    out = str(tmp_path / "p.csv")
    broken = str(audio_dir / "broken.wav")
    args = ["--model", export, broken, "--out", out, "--no-progress"]
    assert main(args) == 1
    assert _read(out)[0]["error"]
    with pytest.raises(SystemExit) as info:
        main(["--model", export])  # nothing to classify
    assert info.value.code == 2


def test_duration_batches():
    rng = np.random.default_rng(0)
    durations = list(rng.uniform(0.1, 30.0, 200))
    batches = make_batches(durations, 60.0, 8, 20.0)
    assert sorted(i for b in batches for i in b) == list(range(200))
    for batch in batches:
        longest = max(durations[i] for i in batch)
        if longest > 20.0:
            assert len(batch) == 1
        else:
            assert len(batch) <= 8
            assert len(batch) == 1 or len(batch) * longest <= 60.0


def test_a_file_that_breaks_its_batch_gets_its_error_alone(model, tmp_path):
    # The batching engine of files and segments: a batch whose
    # predict_batch fails is classified item by item, from the waveforms
    # already read, so only the bad item gets an error
    from speechbrain_gemo.batch_runs import run_inference

    class Flaky:
        """The model, but predict_batch fails on any batch with c.wav."""

        def __init__(self, model):
            self.model, self.calls, self.reads = model, [], []
            self.window_seconds = model.window_seconds

        def load_audio(self, path):
            self.reads.append(os.path.basename(path))
            return self.model.load_audio(path)

        def predict_batch(self, wavs, lengths, names=None, **kwargs):
            names = [os.path.basename(n) for n in names]
            self.calls.append(names)
            if "c.wav" in names:
                raise RuntimeError("c.wav breaks the batch")
            return self.model.predict_batch(wavs, lengths, **kwargs)

    flaky = Flaky(model)
    paths = []  # of one duration: one batch
    for k, (name, rate, channels) in enumerate(
        [("a.wav", 16000, 1), ("c.wav", 8000, 1), ("b.flac", 44100, 2)]
    ):
        paths.append(str(tmp_path / name))
        soundfile.write(paths[-1], _tone(1.0, rate, channels, k), rate)
    rows = run_inference(flaky, paths, max_batch_seconds=60, progress=False)
    assert sorted(map(sorted, flaky.calls)) == [
        ["a.wav"],
        ["a.wav", "b.flac", "c.wav"],
        ["b.flac"],
        ["c.wav"],
    ]
    assert sorted(flaky.reads) == ["a.wav", "b.flac", "c.wav"]  # once each
    assert rows[1]["error"] == "RuntimeError: c.wav breaks the batch"
    for row in (rows[0], rows[2]):
        assert row["error"] == ""
        single = model.classify_file(row["path"])[0][0].tolist()
        probs = [row["probs"][label] for label in LABELS]
        assert probs == pytest.approx(single, abs=2e-6)


def test_cross_corpus_report_repicks_among_the_shared_classes(tmp_path):
    """A file whose most probable class is not shared is scored by the
    most probable shared class and counted in
    ``predicted_outside_shared``; a label with no model class is left
    out and counted per label."""
    from speechbrain_gemo.reports import write_report

    def row(path, label, ang, dis, hap):
        """A prediction row as the command line writes it."""
        return {
            "path": path,
            "label": label,
            "error": "",
            "prob_ANG": ang,
            "prob_DIS": dis,
            "prob_HAP": hap,
        }

    rows = [
        # disgusted is not shared: re-picked as ANG (0.3 > 0.2), right
        row("a.wav", "DIS", "0.3", "0.5", "0.2"),
        # re-picked as HAP (0.35 > 0.05), wrong: the file is angry
        row("b.wav", "DIS", "0.05", "0.6", "0.35"),
        row("c.wav", "HAP", "0.1", "0.1", "0.8"),
        row("d.wav", "ANG", "0.7", "0.2", "0.1"),
    ]
    labelled = [
        {"path": "a.wav", "label": "ang"},
        {"path": "b.wav", "label": "ang"},
        {"path": "c.wav", "label": "hap"},
        {"path": "d.wav", "label": "neu"},
    ]
    report = write_report(
        rows,
        labelled,
        ["ANG", "DIS", "HAP"],
        str(tmp_path / "p.csv"),
        mapping={"ang": "ANG", "hap": "HAP"},
    )
    assert report["predicted_outside_shared"] == 2
    assert report["left_out"] == {"neu": 1}
    assert report["num_utterances"] == 3
    # ANG: 1 of 2 right, HAP: 1 of 1; over the two shared classes only
    assert report["labels"] == ["ANG", "HAP"]
    assert report["WAR"] == pytest.approx(2 / 3)
    assert report["UAR"] == pytest.approx((1 / 2 + 1) / 2)


def test_a_missing_model_path_is_an_error_not_a_hub_look_up(
    audio_dir, tmp_path, monkeypatch, capsys
):
    import huggingface_hub

    def snapshot_download(repo_id, **kwargs):
        """Fails the test on any hub look-up."""
        raise AssertionError(f"{repo_id} was looked up on the hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.chdir(tmp_path)
    out = str(tmp_path / "p.csv")
    # the README's own --model, before the export exists
    argv = ["--model", "exports/gemo", str(audio_dir / "a.wav"), "--out", out]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: GEmo-CLAP export folder exports/gemo does not exist" in err
    assert "hf://exports/gemo" in err
    assert not os.path.exists(out)


@pytest.mark.slow
def test_hub_model_from_the_hugging_face_cache_without_savedir(
    export, audio_dir, tmp_path
):
    """``--model hf://org/name`` and no ``--savedir``: huggingface_hub
    resolves the model offline from a cache (``HF_HUB_CACHE``) whose
    snapshot is links into ``blobs/``, as a download leaves it."""
    from speechbrain_gemo.testing import save_hub_cache

    cache = str(tmp_path / "hub")
    save_hub_cache(export, cache, "org/gemo")
    out = str(tmp_path / "p.csv")
    wav = str(audio_dir / "a.wav")
    env = dict(os.environ, HF_HUB_CACHE=cache, HF_HUB_OFFLINE="1")
    env.pop("HF_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "speechbrain_gemo.infer"]
        + ["--model", "hf://org/gemo", wav, "--out", out, "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read(out)
    local = str(tmp_path / "local.csv")
    assert main(["--model", export, wav, "--out", local, "--no-progress"]) == 0
    expected = _read(local)
    # the same model: the same rows, up to the float rounding of another
    # process (its thread count may differ from this one's)
    assert [r.keys() for r in rows] == [r.keys() for r in expected]
    for row, want in zip(rows, expected):
        for key, value in want.items():
            if key.startswith(("prob_", "score")):
                assert abs(float(row[key]) - float(value)) < 1e-5, key
            else:
                assert row[key] == value, key
    assert len(rows) == 1 and rows[0]["error"] == ""


@pytest.mark.slow
def test_a_run_prints_neither_known_warning_while_others_show(
    export, audio_dir, tmp_path
):
    """A real run used to print PyTorch's key_padding_mask UserWarning and
    SpeechBrain's expect_len reminder; both are silenced, and other
    warnings of the same module and logger still show."""
    code = (
        "import logging, sys, warnings\n"
        "from speechbrain_gemo.infer import main\n"
        "status = main(sys.argv[1:])\n"
        "warnings.warn_explicit('another torch warning', UserWarning,\n"
        "    'functional.py', 1, module='torch.nn.functional')\n"
        "logging.getLogger('speechbrain.dataio.encoder').warning(\n"
        "    'another encoder warning')\n"
        "sys.exit(status)\n"
    )
    out = str(tmp_path / "p.csv")
    result = subprocess.run(
        [sys.executable, "-c", code, "--model", export, "--out", out]
        + [str(audio_dir / "a.wav"), str(audio_dir / "sub" / "b.flac")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "2 of 2 files classified" in output
    assert "key_padding_mask" not in output
    assert "expect_len" not in output
    assert "another torch warning" in output
    assert "another encoder warning" in output


def _probs(row):
    return [float(row[f"prob_{label}"]) for label in LABELS]


def _burst(path, seed=0):
    """Writes a tone between two stretches of quiet noise (speech for the
    energy detector)."""
    rng = np.random.default_rng(seed)
    signal = 0.001 * rng.standard_normal(32000)
    signal[8000:24000] += _tone(1.0, 16000, seed=seed)
    soundfile.write(path, signal.astype("float32"), 16000)


@pytest.mark.skipif(os.name != "posix", reason="byte file names are POSIX")
def test_a_file_name_that_is_not_utf8_gets_its_row(
    export, model, tmp_path, capsys
):
    """A file name that is not valid UTF-8 is classified like any other
    (batch and timeline mode, plots included): its row shows the name
    with ``\\xNN`` escapes and the CSV stays UTF-8; the other files go
    on. (On 209ec44 the run stopped before any work with a
    UnicodeEncodeError.)"""
    folder = tmp_path / "in"
    folder.mkdir()
    good = folder / "a.wav"
    _burst(good, seed=1)
    _burst(tmp_path / "c.wav", seed=2)
    odd = os.fsencode(folder) + b"/caf\xe9.wav"
    with open(odd, "wb") as f:
        f.write((tmp_path / "c.wav").read_bytes())
    out = tmp_path / "p.csv"
    args = ["--model", export, str(folder), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "2 of 2 files classified (0 failed)" in capsys.readouterr().err
    rows = _read(out)  # UTF-8: an undecodable byte would raise here
    shown = str(folder / "caf\\xe9.wav")
    assert [r["path"] for r in rows] == [str(good), shown]
    assert rows[1]["error"] == ""
    single = model.classify_file(str(tmp_path / "c.wav"))[0][0].tolist()
    assert _probs(rows[1]) == pytest.approx(single, abs=2e-6)
    plots = tmp_path / "plots"
    timeline = args + ["--timeline", "--vad", "energy", "--plot", str(plots)]
    assert main(timeline) == 0
    rows = _read(out)
    assert {r["path"] for r in rows} == {str(good), shown}
    assert not any(r["error"] for r in rows)
    assert os.fsencode(plots) + b"/caf\xe9.png" in [
        os.fsencode(p) for p in plots.iterdir()
    ]


def test_file_names_with_line_breaks_round_trip(export, tmp_path, capsys):
    """File names with a carriage return, a line feed, commas and quotes
    are quoted in the CSVs, which the csv module and pandas read back
    with every name intact, and the file count is right. (On 209ec44 the
    carriage return was written unquoted: a broken row and 4 files
    counted instead of 3.)"""
    pandas = pytest.importorskip("pandas")
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["a\rb.wav", "c\nd.wav", 'e,"f".wav']
    for seed, name in enumerate(names):
        _burst(folder / name, seed)
    expected = sorted(str(folder / name) for name in names)
    out = tmp_path / "p.csv"
    args = ["--model", export, str(folder), "--out", str(out), "--no-progress"]
    for extra, count in (([], "3 of 3 files"), (["--timeline"], "in 3 of 3")):
        assert main(args + extra + ["--vad", "energy"]) == 0
        assert count in capsys.readouterr().err
        rows = _read(out)
        assert sorted({r["path"] for r in rows}) == expected
        assert not any(r["error"] for r in rows)
        frame = pandas.read_csv(out, dtype=str, keep_default_na=False)
        assert list(frame["path"]) == [r["path"] for r in rows]
        assert list(frame["label"]) == [r["label"] for r in rows]


def test_lists_with_a_byte_order_mark(export, audio_dir, tmp_path, capsys):
    """``--labels`` lists saved with a UTF-8 byte-order mark (as
    spreadsheets save them), CSV and JSON, are read as without it (on
    209ec44 the CSV's first column was named '\\ufeffpath' and the run
    ended in a traceback; the JSON one failed to parse), with commas or
    semicolons (the reader of the corpus CSV); a list that is not UTF-8
    is refused naming the file and what to do."""
    listing = tmp_path / "labels.csv"
    listing.write_text(
        f"path,emotion\n{audio_dir / 'a.wav'},neu\n{audio_dir / 'c.wav'},sad\n",
        encoding="utf-8-sig",
    )
    manifest = tmp_path / "labels.json"
    entries = {"u1": {"wav": str(audio_dir / "a.wav"), "emo": "neu"}}
    manifest.write_text(json.dumps(entries), encoding="utf-8-sig")
    # a spreadsheet in a locale whose CSVs use semicolons
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text(
        f"Path;Emotion\n{audio_dir / 'c.wav'};sad\n", encoding="utf-8-sig"
    )
    for labels, count in ((listing, 2), (manifest, 1), (semicolons, 1)):
        out = tmp_path / f"{labels.stem}_{labels.suffix[1:]}.csv"
        args = ["--model", export, "--labels", str(labels), "--out", str(out)]
        assert main(args + ["--no-progress"]) == 0
        rows = _read(out)
        assert len(rows) == count and not any(r["error"] for r in rows)
        report = json.loads((tmp_path / f"{out.stem}_report.json").read_text())
        assert report["num_utterances"] == count
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        f"path,emotion\n{audio_dir / 'a.wav'},né\n".encode("cp1252")
    )
    args = ["--model", export, "--labels", str(latin), "--no-progress"]
    assert main(args + ["--out", str(tmp_path / "x.csv")]) == 2
    assert f"{latin} is not UTF-8 (byte 0xe9" in capsys.readouterr().err


def test_list_paths_are_relative_to_the_list(
    export, audio_dir, tmp_path, monkeypatch, capsys
):
    """Relative paths in ``--labels`` and input lists are read from the
    list's folder, as in a corpus CSV: a training CSV works as
    ``--labels`` from any folder. A listed file that is missing gets an
    error row naming the path tried, and one warning says so. A list
    written for the old rule (paths relative to the current folder)
    still works, with a warning. (On 209ec44 every file of the training
    CSV failed with 'no such file', the path tried unnamed.)"""
    corpus = tmp_path / "corpus"
    (corpus / "audio").mkdir(parents=True)
    for name in ("a.wav", "c.wav"):
        (corpus / "audio" / name).write_bytes((audio_dir / name).read_bytes())
    listing = corpus / "labels.csv"
    listing.write_text(
        "path,emotion,gender,speaker\naudio/a.wav,neu,F,s1\n"
        "audio/c.wav,sad,M,s2\naudio/gone.wav,ang,F,s1\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = elsewhere / "p.csv"
    args = ["--model", export, "--labels", str(listing), "--out", str(out)]
    assert main(args + ["--no-progress"]) == 0
    err = capsys.readouterr().err
    tried = str(corpus / "audio" / "gone.wav")
    assert (
        f"1 listed file(s) do not exist; first, line 4, looked for {tried}"
        in err
    )
    rows = _read(out)
    assert [r["path"] for r in rows] == [
        str(corpus / "audio" / n) for n in ("a.wav", "c.wav", "gone.wav")
    ]
    assert [bool(r["error"]) for r in rows] == [False, False, True]
    assert tried in rows[2]["error"]
    report = json.loads((elsewhere / "p_report.json").read_text())
    assert (report["num_utterances"], report["failed"]) == (2, 1)
    # the same list as an input list (relative list path)
    assert (
        main(
            [
                "--model",
                export,
                os.path.relpath(listing),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert [r["error"] == "" for r in _read(out)] == [True, True, False]
    # a list written for the old rule: relative to the current folder
    old = tmp_path / "lists" / "deeper" / "old.csv"
    old.parent.mkdir(parents=True)
    old.write_text(f"path\n{os.path.relpath(corpus / 'audio' / 'a.wav')}\n")
    capsys.readouterr()
    assert (
        main(["--model", export, str(old), "--out", str(out), "--no-progress"])
        == 0
    )
    (row,) = _read(out)
    assert row["error"] == ""
    assert (
        "exist only relative to the current folder" in capsys.readouterr().err
    )


def test_every_option_has_a_help_text(monkeypatch, capsys):
    """``infer --help`` describes every option (the parser is caught as
    ``parse_args`` builds it). (On 209ec44 five options had none.)"""
    import argparse

    from speechbrain_gemo.infer import parse_args

    parsers = []
    real = argparse.ArgumentParser.parse_args

    def spy(self, *args, **kwargs):
        """Records the parser, then parses."""
        parsers.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", spy)
    parse_args(["--model", "m", "a.wav"])
    (parser,) = parsers
    bare = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS
    ]
    assert bare == []
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "cap on padded audio per batch" in text


def test_outputs_have_the_permissions_of_the_umask(export, audio_dir, tmp_path):
    """The final CSV gets the permissions ``open`` gives under the
    process's umask, like the reports beside it (on 209ec44 it was
    created 0600 by ``mkstemp``)."""
    listing = tmp_path / "labels.csv"
    listing.write_text(f"path,emotion\n{audio_dir / 'a.wav'},neu\n")
    out = tmp_path / "p.csv"
    args = ["--model", export, "--labels", str(listing), "--out", str(out)]
    umask = os.umask(0o027)
    try:
        assert main(args + ["--no-progress"]) == 0
    finally:
        os.umask(umask)
    modes = {
        name: os.stat(tmp_path / name).st_mode & 0o777
        for name in ("p.csv", "p_report.json", "p_report.txt")
    }
    assert modes == dict.fromkeys(modes, 0o640)
