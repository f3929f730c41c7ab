"""End-to-end runs of the CREMA-D, MSP-Podcast and CSV recipes on small
trees in the release layouts with tiny local models, a cross-validation
over two folds, and the data pipeline's pieces they rely on (resampling,
mixing down, the class filter).

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import json
import logging
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import soxr
import torch
from corpus_checks import write_wav
from speechbrain.dataio.dataset import DynamicItemDataset
from test_crema_d_prepare import build_tree as build_crema_d
from test_msp_podcast_prepare import EMPTY as MSP_EMPTY
from test_msp_podcast_prepare import build_tree as build_msp_podcast

from speechbrain_gemo.data.audio import read_utterance
from speechbrain_gemo.data.labels import keep_classes
from speechbrain_gemo.inference import GEmoCLAP
from speechbrain_gemo.prompts import class_words

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(ROOT, "recipes")
CREMA_D_CLASSES = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
MSP_CLASSES = ["A", "S", "H", "U", "F", "D", "C", "N"]

pytestmark = pytest.mark.xdist_group("recipe")


def tiny_args(ssl_dir, text_dir):
    """The overrides of every run here: tiny local models, one epoch."""
    return [
        f"--audio_source={ssl_dir}",
        f"--text_source={text_dir}",
        "--embedding_dim=16",
        "--number_of_epochs=1",
        "--batch_size=8",
        "--num_workers=0",
        "--device=cpu",
    ]


def run_script(recipe, script, args):
    """Runs a recipe script offline from the recipe's folder."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, script, *args],
        cwd=os.path.join(RECIPES, recipe, "gemo_clap"),
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def read_predictions(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check_outputs(output, classes, corpus=None):
    """The run's test metrics agree with a count over its predictions, the
    probabilities with the predicted class, and the export loads with
    ``classes`` (its ``label_codes``), named by their words (those of
    ``corpus``; a user's own labels as written); returns the prediction
    rows."""
    with open(os.path.join(output, "test_metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["labels"] == classes
    rows = read_predictions(os.path.join(output, "test_predictions.csv"))
    assert rows and metrics["num_utterances"] == len(rows)
    correct = sum(r["true"] == r["predicted"] for r in rows)
    assert metrics["WAR"] == pytest.approx(correct / len(rows))
    recalls = []
    for label in classes:
        mine = [r for r in rows if r["true"] == label]
        if mine:
            recalls.append(
                sum(r["predicted"] == label for r in mine) / len(mine)
            )
            assert metrics["per_class_recall"][label] == pytest.approx(
                recalls[-1]
            )
    assert metrics["UAR"] == pytest.approx(sum(recalls) / len(recalls))
    for r in rows:
        probs = [float(r[label]) for label in classes]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert r["predicted"] == classes[probs.index(max(probs))]

    model = GEmoCLAP.from_hparams(source=os.path.join(output, "export"))
    words = list(class_words(classes, corpus).values())
    assert list(model.label_codes) == classes
    assert list(model.labels) == words
    probs, _, _, labels = model.classify_batch(0.1 * torch.randn(2, 16000))
    assert probs.shape == (2, len(classes))
    assert set(labels) <= set(words)
    return rows


# ------------------------------------------------- data pipeline pieces


@pytest.mark.parametrize("rate,channels", [(16000, 1), (44100, 2), (8000, 2)])
def test_read_utterance_mixes_down_and_resamples(tmp_path, rate, channels):
    path = str(tmp_path / "a.wav")
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((rate // 2, channels))).astype("float32")
    soundfile.write(path, audio, rate, subtype="FLOAT")
    sig = read_utterance(path, "a", sample_rate=16000)
    # soxr (high quality, the inference readers' resampler) called
    # directly on the channels' mean
    expected = soxr.resample(audio.mean(axis=1), rate, 16000, "HQ")
    assert sig.shape == (8000,) == expected.shape
    torch.testing.assert_close(
        sig, torch.from_numpy(expected), atol=1e-6, rtol=0
    )


def test_keep_classes_drops_and_counts_other_labels(caplog):
    def dataset():
        """A fresh dataset (SpeechBrain adds ``id`` to the entries)."""
        labels = ["A", "O", "S", "O", "X"]
        return DynamicItemDataset(
            {f"u{i}": {"emo": emo} for i, emo in enumerate(labels)}
        )

    with caplog.at_level(logging.INFO, logger="speechbrain_gemo.data.labels"):
        kept = keep_classes(dataset(), ["A", "S"], "train")
    assert kept.data_ids == ["u0", "u2"]
    assert "train: 3 utterance(s)" in caplog.text
    assert "O: 2, X: 1" in caplog.text
    everything = dataset()
    assert keep_classes(everything, ["A", "O", "S", "X"], "x") is everything
    with pytest.raises(ValueError, match="No test utterance"):
        keep_classes(dataset(), ["N"], "test")


# ------------------------------------------------------ recipe runs


@pytest.mark.slow
def test_crema_d_cross_validation_over_two_folds(
    tmp_path, tiny_wavlm_dir, tiny_roberta_dir
):
    """CREMA-D, six classes, through cross_validate.py: each fold trains,
    tests on its own actors and exports; the summary aggregates the folds;
    a second call runs nothing."""
    data = tmp_path / "CREMA-D"
    data.mkdir()
    expected = build_crema_d(str(data))
    output = str(tmp_path / "cv")
    args = [
        "hparams/sl_wavlm.yaml",
        f"--data_folder={data}",
        f"--output_folder={output}",
        "--num_folds=2",
        *tiny_args(tiny_wavlm_dir, tiny_roberta_dir),
    ]
    run_script("CREMA-D", "cross_validate.py", args)

    actor = {utt_id: entry["speaker"] for utt_id, entry in expected.items()}
    folds, tested = {}, {}
    for fold in (1, 2):
        folder = os.path.join(output, f"fold{fold}")
        rows = check_outputs(folder, CREMA_D_CLASSES, "CREMA-D")
        for r in rows:
            assert r["true"] == expected[r["ID"]]["emo"]
        tested[fold] = {actor[r["ID"]] for r in rows}
        with open(os.path.join(folder, "test_metrics.json")) as f:
            folds[fold] = json.load(f)
        with open(os.path.join(folder, "save", "train.json")) as f:
            trained = {actor[i] for i in json.load(f)}
        assert not trained & tested[fold]
    # every actor is tested in exactly one fold
    assert not tested[1] & tested[2]
    assert tested[1] | tested[2] == set(actor.values())

    with open(os.path.join(output, "cv_summary.json")) as f:
        summary = json.load(f)
    assert [f["test_fold"] for f in summary["folds"]] == [1, 2]
    for key in ("WAR", "UAR"):
        values = [folds[1][key], folds[2][key]]
        assert summary[f"{key}_mean"] == pytest.approx(sum(values) / 2)
        assert summary[f"{key}_std"] == pytest.approx(
            abs(values[0] - values[1]) / 2**0.5
        )
    rows = read_predictions(
        os.path.join(output, "fold1", "test_predictions.csv")
    )
    rows += read_predictions(
        os.path.join(output, "fold2", "test_predictions.csv")
    )
    assert len(rows) == len(expected)
    correct = sum(r["true"] == r["predicted"] for r in rows)
    assert summary["pooled"]["WAR"] == pytest.approx(correct / len(rows))
    recalls = [
        sum(r["predicted"] == c for r in rows if r["true"] == c)
        / sum(r["true"] == c for r in rows)
        for c in CREMA_D_CLASSES
    ]
    assert summary["pooled"]["UAR"] == pytest.approx(np.mean(recalls))
    with open(os.path.join(output, "cv_summary.md")) as f:
        assert "| Test fold | WAR (%) | UAR (%) |" in f.read()
    with open(os.path.join(output, "fold1", "export", "README.md")) as f:
        assert "CREMA-D (fold 1 of 2 held out for testing)" in f.read()

    again = run_script("CREMA-D", "cross_validate.py", args)
    assert again.stdout.count("finished already") == 2


def msp_rows():
    """A Train/Development/Test1 label table with unknown speakers and
    genders and the O/X rows that are not classes."""
    rows = []
    genders = ["Male", "Female", "Unknown"]
    for k in range(26):
        split = ["Train"] * 14 + ["Development"] * 6 + ["Test1"] * 6
        emo = (MSP_CLASSES + ["O", "X"])[k % 10]
        unknown = k % 4 == 3
        rows.append(
            (
                f"MSP-PODCAST_{k // 3 + 1:04d}_{k % 3 + 1:04d}.wav",
                emo,
                "4.0",
                "3.5",
                "4.5",
                "Unknown" if unknown else str(10 + k % 5),
                "Unknown" if unknown else genders[k % 2],
                split[k],
            )
        )
    assert any(r[0] == f"{MSP_EMPTY}.wav" for r in rows)
    return rows


@pytest.mark.slow
def test_msp_podcast_trains_tests_and_exports(
    tmp_path, tiny_wavlm_dir, tiny_roberta_dir
):
    """MSP-Podcast, eight classes, speakers and genders partly unknown
    (label -1 in the objective): trains on Train, tests on Test1."""
    data = tmp_path / "MSP-Podcast"
    data.mkdir()
    expected = build_msp_podcast(str(data), rows=msp_rows())
    unknown = [e for e in expected.values() if e["split"] == "Train"]
    assert any(e["gender"] is None for e in unknown)
    assert any(e["speaker"] is None for e in unknown)
    output = str(tmp_path / "out")
    run_script(
        "MSP-Podcast",
        "train.py",
        [
            "hparams/sl_wavlm.yaml",
            f"--data_folder={data}",
            f"--output_folder={output}",
            "--test_set=Test1",
            *tiny_args(tiny_wavlm_dir, tiny_roberta_dir),
        ],
    )
    rows = check_outputs(output, MSP_CLASSES, "MSP-Podcast")
    test_ids = sorted(i for i, e in expected.items() if e["split"] == "Test1")
    assert sorted(r["ID"] for r in rows) == test_ids
    with open(os.path.join(output, "train_log.txt")) as f:
        log = f.read()
    # the batches with unknown genders trained: none was skipped
    assert "train skipped_batches: 0" in log
    with open(os.path.join(output, "export", "README.md")) as f:
        assert "tested on the Test1 partition" in f.read()


@pytest.mark.slow
def test_csv_recipe_any_rate_stereo_and_class_subset(
    tmp_path, tiny_wavlm_dir, tiny_roberta_dir
):
    """A user's CSV (relative paths, Windows line ends, 8/22.05/44.1 kHz,
    stereo, telephone codecs: mu-law (stereo), A-law and GSM 06.10 WAV,
    FLAC, unknown genders), trained on a subset of its labels given on
    the command line: the other labels' utterances are dropped."""
    folder = tmp_path / "my_data"
    lines = ["path,emotion,gender,speaker"]
    rates = [(8000, 1), (22050, 2), (44100, 2)]
    labels = ["calm", "tense", "bored"]
    for speaker in range(4):
        for k in range(6):
            rate, channels = rates[(speaker + k) % 3]
            name = f"calls/s{speaker}_{k}.{'flac' if k % 2 else 'wav'}"
            subtype = None
            if rate == 8000 and name.endswith(".wav"):
                subtype = ("ULAW", "ALAW", "GSM610")[speaker % 3]
                channels = 2 if subtype == "ULAW" else channels
            write_wav(str(folder / name), rate // 4, rate, channels, subtype)
            gender = "" if speaker == 3 else "FM"[speaker % 2]
            lines.append(f"{name},{labels[k % 3]},{gender},agent{speaker}")
    csv_file = folder / "labels.csv"
    csv_file.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    output = str(tmp_path / "out")
    recipe = os.path.join(RECIPES, "CSV", "gemo_clap")
    run_script(
        "CSV",
        "train.py",
        [
            "hparams/sl_wavlm.yaml",
            # relative to train.py's folder, where the run starts
            f"--csv_file={os.path.relpath(csv_file, recipe)}",
            f"--output_folder={output}",
            "--num_folds=2",
            "--emotion_classes=[tense,calm]",
            *tiny_args(tiny_wavlm_dir, tiny_roberta_dir),
        ],
    )
    rows = check_outputs(output, ["tense", "calm"])
    assert {r["true"] for r in rows} == {"tense", "calm"}
    # two of the four speakers are tested, each with its 4 tense/calm clips
    speakers = {r["ID"].split("/")[1].split("_")[0] for r in rows}
    assert len(speakers) == 2 and len(rows) == 8
    with open(os.path.join(output, "log.txt")) as f:
        assert "utterance(s) of labels outside the classes" in f.read()


@pytest.mark.slow
def test_csv_recipe_trains_on_labelled_stretches_of_calls(
    tmp_path, tiny_wavlm_dir, tiny_roberta_dir
):
    """A CSV of labelled stretches of long stereo 8 kHz mu-law calls (one
    channel per row, no speaker column): trains, tests on the stretches of
    recordings it never trained on, and exports. Half the training
    stretches go through the telephone chain (``telephone_prob``)."""
    folder = tmp_path / "calls"
    lines = ["path,emotion,start,end,channel"]
    layout = [(0, 2, 1, "calm"), (2, 4, 2, "tense"), (4, 6, 1, "tense"),
              (6, 8, 2, "calm")]  # fmt: skip
    for call in range(4):
        name = f"rec/{call}.wav"
        write_wav(str(folder / name), 8 * 8000, 8000, 2, subtype="ULAW")
        for start, end, channel, label in layout:
            lines.append(f"{name},{label},{start},{end},{channel}")
    csv_file = folder / "stretches.csv"
    csv_file.write_text("\n".join(lines) + "\n")
    output = str(tmp_path / "out")
    run_script(
        "CSV",
        "train.py",
        [
            "hparams/sl_wavlm.yaml",
            f"--csv_file={csv_file}",
            f"--output_folder={output}",
            "--num_folds=2",
            "--telephone_prob=0.5",
            *tiny_args(tiny_wavlm_dir, tiny_roberta_dir),
        ],
    )
    rows = check_outputs(output, ["calm", "tense"])
    with open(os.path.join(output, "save", "test.json")) as f:
        test = json.load(f)
    with open(os.path.join(output, "save", "train.json")) as f:
        train = json.load(f)
    assert sorted(r["ID"] for r in rows) == sorted(test)
    assert len(rows) == 8  # two recordings of four stretches
    for utt_id, entry in test.items():
        assert re.fullmatch(r"rec/\d\.wav@\d-\d:ch[12]", utt_id)
        assert entry["duration"] == pytest.approx(2.0)
        assert entry["wav"]["stop"] - entry["wav"]["start"] == 16000

    def recordings(manifest):
        return {e["wav"]["file"] for e in manifest.values()}

    assert len(recordings(test)) == 2
    assert not recordings(test) & recordings(train)


def test_csv_hparams_data_folder_classes_and_words(
    tmp_path, monkeypatch, tiny_wavlm_dir, tiny_roberta_dir
):
    """The CSV recipe's {data_root} is the CSV's folder even for a bare file
    name, and its classes and prompt words come from the command line."""
    from hyperpyyaml import load_hyperpyyaml

    monkeypatch.chdir(tmp_path)
    overrides = {
        "csv_file": "labels.csv",
        "output_folder": str(tmp_path / "out"),
        "audio_source": tiny_wavlm_dir,
        "text_source": tiny_roberta_dir,
        "emotion_classes": ["ang", "calm"],
        "emotion_words": {"ang": "angry"},
    }
    path = os.path.join(RECIPES, "CSV", "gemo_clap", "hparams", "sl_wavlm.yaml")
    with open(path) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    assert hparams["data_folder"] == str(tmp_path)
    assert hparams["model"].emotion_prompts == {
        "ang": ["The speaker sounds angry."],
        "calm": ["The speaker sounds calm."],
    }


# ------------------------- your own data: errors and corrections (issue 22)


def run_failing(recipe, args, env=None):
    """Runs a recipe's train.py expected to stop on a user's error;
    returns the completed process."""
    env = dict(
        os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", **(env or {})
    )
    return subprocess.run(
        [sys.executable, "train.py", *args],
        cwd=os.path.join(RECIPES, recipe, "gemo_clap"),
        env=env,
        capture_output=True,
        text=True,
    )


def error_lines(result):
    """The ``error:`` lines of a run's stderr, after checking that it
    stopped with status 2 and printed no traceback anywhere."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    return [
        line for line in result.stderr.splitlines() if line.startswith("error:")
    ]


def snapshot(folder):
    """Every file under ``folder``: relative path to bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_labelled_csv(folder, labels, speakers=4, per_speaker=3):
    """A CSV of ``speakers`` x ``per_speaker`` short clips, the k-th clip
    of each speaker labelled ``labels[k % len(labels)]``; returns its
    path."""
    lines = ["path,emotion,speaker"]
    for speaker in range(speakers):
        for k in range(per_speaker):
            name = f"clips/s{speaker}_{k}.wav"
            write_wav(str(folder / name), 4000)
            lines.append(f"{name},{labels[k % len(labels)]},spk{speaker}")
    csv_file = folder / "labels.csv"
    csv_file.write_text("\n".join(lines) + "\n")
    return csv_file


@pytest.mark.slow
def test_preparation_errors_are_one_line(
    tmp_path, tiny_wavlm_dir, tiny_roberta_dir
):
    """A missing audio file, a protocol the data cannot have, a corpus
    folder without the corpus: one ``error:`` line naming it, status 2, no
    traceback; the traceback is logged at debug level (log.txt) and shown
    with GEMO_TRACEBACK=1."""
    csv_file = write_labelled_csv(tmp_path / "d", ["calm", "tense"])
    with open(csv_file, "a") as f:
        f.write("clips/gone.wav,calm,spk0\n")
    common = [f"--output_folder={tmp_path / 'out'}"]
    common += tiny_args(tiny_wavlm_dir, tiny_roberta_dir)

    # while the hyperparameters are read (the CSV recipe's classes)
    args = ["hparams/sl_wavlm.yaml", f"--csv_file={csv_file}", *common]
    lines = error_lines(run_failing("CSV", args))
    gone = tmp_path / "d" / "clips" / "gone.wav"
    assert lines == [
        f"error: 1 audio file(s) labelled in {csv_file} are missing, "
        f"first: line 14: {gone}"
    ]
    shown = run_failing("CSV", args, env={"GEMO_TRACEBACK": "1"})
    assert shown.returncode == 2
    assert shown.stderr.startswith("error: 1 audio file(s)")
    assert "Traceback" in shown.stderr and "MissingDataError" in shown.stderr

    # in the preparation (after SpeechBrain set its logging up)
    with open(csv_file) as f:
        kept = f.read().splitlines()[:-1]
    csv_file.write_text("\n".join(kept) + "\n")
    args = ["hparams/sl_wavlm.yaml", f"--csv_file={csv_file}", *common]
    lines = error_lines(run_failing("CSV", [*args, "--num_folds=9"]))
    assert lines == [
        "error: Cannot make 9 speaker folds from 4 speaker(s); use "
        "num_folds <= 4"
    ]
    with open(tmp_path / "out" / "log.txt") as f:
        log = f.read()
    assert "DEBUG" in log and "Traceback" in log and "speaker_folds" in log

    # another corpus
    args = ["hparams/sl_wavlm.yaml", f"--data_folder={tmp_path}", *common]
    lines = error_lines(run_failing("CREMA-D", args))
    assert len(lines) == 1
    assert f"CREMA-D data_folder {tmp_path} has no AudioWAV folder" in lines[0]

    # a tower named by hub id, offline: the keys to give local folders
    args = ["hparams/sl_wavlm.yaml", f"--csv_file={csv_file}"]
    args += [a for a in common if not a.startswith("--audio_source=")]
    args += ["--audio_source=microsoft/wavlm-base-plus"]
    lines = error_lines(run_failing("CSV", args))
    assert len(lines) == 1
    assert "could not be loaded from the Hugging Face hub" in lines[0]
    assert "--audio_source=" in lines[0] and "--text_source=" in lines[0]


@pytest.mark.slow
def test_corrected_csv_never_resumes_the_old_checkpoints(
    tmp_path, tiny_wavlm_dir, tiny_roberta_dir
):
    """Labels fixed in the CSV after a run: the next run in the same
    output folder refuses the old run's label encoder and checkpoints (it
    neither trains 0 epochs nor exports them as if trained on the fixed
    data), saying what to do; doing it trains afresh on the fixed labels.
    Labels changed within the same classes are refused too."""
    folder = tmp_path / "d"
    csv_file = write_labelled_csv(folder, ["calm", "tense", "tnese"])
    output = tmp_path / "out"
    args = [
        "hparams/sl_wavlm.yaml",
        f"--csv_file={csv_file}",
        f"--output_folder={output}",
        "--num_folds=2",
        *tiny_args(tiny_wavlm_dir, tiny_roberta_dir),
    ]
    run_script("CSV", "train.py", args)
    check_outputs(str(output), ["calm", "tense", "tnese"])
    export = output / "export"
    exported = snapshot(export)
    save = output / "save"

    csv_file.write_text(csv_file.read_text().replace("tnese", "tense"))
    lines = error_lines(run_failing("CSV", args))
    assert lines == [
        "error: This run's classes ['calm', 'tense'] are not those of the "
        f"run that wrote {save / 'label_encoder.txt'} (['calm', 'tense', "
        "'tnese']); its checkpoints, if any, were trained on those. Train "
        "in a new output folder (--output_folder=...), or delete the "
        f"checkpoints (CKPT+* folders) and label_encoder.txt in {save} to "
        "train afresh there."
    ]
    # what the old message advised: the checkpoints are refused all the same
    os.remove(save / "label_encoder.txt")
    lines = error_lines(run_failing("CSV", args))
    assert lines == [
        f"error: The checkpoints in {save} were made on other data or "
        "classes than this run's (classes then: ['calm', 'tense', 'tnese'], "
        "now: ['calm', 'tense']): resuming from them would continue, or "
        "skip, training done on other data. Train in a new output folder "
        "(--output_folder=...), or delete the checkpoints (CKPT+* folders) "
        f"and label_encoder.txt in {save} to train afresh there."
    ]
    assert snapshot(export) == exported
    with open(output / "train_log.txt") as f:
        assert f.read().count("epoch: 1,") == 1

    # doing what it says trains afresh, on the fixed labels
    for path in save.glob("CKPT+*"):
        shutil.rmtree(path)
    run_script("CSV", "train.py", args)
    check_outputs(str(output), ["calm", "tense"])
    with open(output / "train_log.txt") as f:
        assert f.read().count("epoch: 1,") == 2

    # other labels within the same classes: refused too
    with open(save / "train.json") as f:
        trained = sorted(json.load(f))[0]
    text = csv_file.read_text()
    label = "tense" if f"{trained},calm" in text else "calm"
    csv_file.write_text(
        re.sub(
            f"^{re.escape(trained)},\\w+,",
            f"{trained},{label},",
            text,
            flags=re.M,
        )
    )
    assert csv_file.read_text() != text
    lines = error_lines(run_failing("CSV", args))
    assert len(lines) == 1
    assert (
        "the same classes, other utterances or labels in train or "
        in (lines[0])
    )
