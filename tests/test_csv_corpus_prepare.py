"""Tests of the preparation of a user's own CSV-listed corpus.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import logging
import os

import pytest
from corpus_checks import (
    check_idempotent,
    check_speaker_folds,
    load_manifests,
    read_skipped,
    write_wav,
)

from speechbrain_gemo.data.csv_corpus import prepare_csv_corpus

EMOTIONS = ("angry", "calm", "frustrated")
# speaker -> how its gender is spelled in the CSV, and the expected code
SPEAKERS = {
    "agent1": ("F", "F"),
    "agent2": ("male", "M"),
    "agent3": ("Female", "F"),
    "agent4": ("MALE", "M"),
    "agent5": ("", None),
    "agent6": ("m", "M"),
}
RATES = (8000, 16000, 22050, 44100)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPLITS = ("train", "valid", "test")


def write_corpus(
    root, outside, columns=("path", "emotion", "gender", "speaker")
):
    """Writes audio in several forms and a CRLF CSV with a BOM; returns
    (csv path, expected entries with resolved wav)."""
    expected = {}
    lines = [",".join(columns)]
    k = 0
    for speaker, (spelling, gender) in SPEAKERS.items():
        for emotion in EMOTIONS:
            for take in range(2):
                sr = RATES[k % len(RATES)]
                channels = 2 if k % 5 == 0 else 1
                ext = "flac" if k % 7 == 0 else "wav"
                rel = f"calls/{speaker}/{emotion}_{take}.{ext}"
                full = os.path.join(root, rel)
                if k % 11 == 3:  # absolute, outside the CSV's folder
                    full = os.path.join(
                        outside, f"{speaker}_{emotion}_{take}.{ext}"
                    )
                    written, utt_id = full, full
                    wav = full
                elif k % 11 == 5:  # absolute, inside the CSV's folder
                    written, utt_id = full, rel
                    wav = "{data_root}/" + rel
                else:
                    written, utt_id = rel, rel
                    wav = "{data_root}/" + rel
                frames = sr // 10 + 37 * k
                duration = write_wav(full, frames, sr, channels)
                k += 1
                cells = {
                    "path": written,
                    "emotion": emotion,
                    "gender": spelling,
                    "speaker": speaker,
                }
                lines.append(",".join(cells[c] for c in columns))
                expected[utt_id] = {
                    "wav": wav,
                    "resolved": full,
                    "duration": duration,
                    "emo": emotion,
                    "gender": gender if "gender" in columns else None,
                    "speaker": speaker if "speaker" in columns else None,
                    "line": k + 1,
                }
    csv_file = os.path.join(root, "labels.csv")
    with open(csv_file, "wb") as f:
        f.write(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    return csv_file, expected


@pytest.fixture
def corpus(tmp_path):
    """(csv path, expected entries)."""
    root = tmp_path / "mydata"
    root.mkdir()
    return write_corpus(str(root), str(tmp_path / "elsewhere"))


def test_manifest_fields(corpus, tmp_path):
    csv_file, expected = corpus
    save = tmp_path / "save"
    prepare_csv_corpus(csv_file, str(save), num_folds=3)
    folds = load_manifests(save)
    everything = {k: v for f in folds.values() for k, v in f.items()}
    assert sorted(everything) == sorted(expected)
    root = os.path.dirname(csv_file)
    for utt_id, entry in everything.items():
        want = dict(expected[utt_id])
        resolved = want.pop("resolved")
        assert entry["wav"] == want.pop("wav")
        assert entry.pop("wav").replace("{data_root}", root) == resolved
        assert entry == want
    # The forms of the tree are all there.
    assert any(
        not e["wav"].startswith("{data_root}") for e in expected.values()
    )
    assert any(e["wav"].endswith(".flac") for e in expected.values())
    assert any(os.path.isabs(i) for i in expected)


def test_speaker_folds(corpus, tmp_path):
    csv_file, expected = corpus
    tested_in = check_speaker_folds(
        prepare_csv_corpus, csv_file, tmp_path, 3, expected
    )
    assert sorted(tested_in) == sorted(SPEAKERS)


def test_stratified_folds_without_speakers(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    csv_file, expected = write_corpus(
        str(root), str(tmp_path / "o"), columns=("path", "emotion")
    )
    tested_in = {}
    for fold in (1, 2, 3, 4):
        save = tmp_path / f"f{fold}"
        prepare_csv_corpus(csv_file, str(save), test_fold=fold, num_folds=4)
        folds = load_manifests(save)
        ids = [i for f in folds.values() for i in f]
        assert sorted(ids) == sorted(expected)
        # 12 utterances per class: 3 of each class in each test fold.
        counts = collections.Counter(e["emo"] for e in folds["test"].values())
        assert counts == {emo: 3 for emo in EMOTIONS}
        for utt_id in folds["test"]:
            assert utt_id not in tested_in
            tested_in[utt_id] = fold
        assert {e["gender"] for f in folds.values() for e in f.values()} == {
            None
        }
    assert sorted(tested_in) == sorted(expected)


def test_split_column_honoured(tmp_path):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    rows = ["path,emotion,speaker,split"]
    want = {}
    spellings = {"train": "Train", "valid": "validation", "test": "TEST"}
    for i in range(12):
        split = ("train", "train", "valid", "test")[i % 4]
        write_wav(str(root / "a" / f"{i}.wav"), 800)
        rows.append(f"a/{i}.wav,{'xy'[i % 2]},s{i % 3},{spellings[split]}")
        want.setdefault(split, []).append(f"a/{i}.wav")
    (root / "l.csv").write_text("\n".join(rows) + "\n")
    save = tmp_path / "save"
    prepare_csv_corpus(str(root / "l.csv"), str(save), test_fold=3)
    folds = load_manifests(save)
    for name in ("train", "valid", "test"):
        assert sorted(folds[name]) == sorted(want[name])


def test_split_without_valid_rows_draws_valid_from_train(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    rows = ["path,emotion,split"]
    for i in range(10):
        write_wav(str(root / f"{i}.wav"), 800)
        rows.append(f"{i}.wav,{'xy'[i % 2]},{'test' if i < 2 else 'train'}")
    (root / "l.csv").write_text("\n".join(rows) + "\n")
    save = tmp_path / "save"
    prepare_csv_corpus(str(root / "l.csv"), str(save), valid_ratio=0.25)
    folds = load_manifests(save)
    assert sorted(folds["test"]) == ["0.wav", "1.wav"]
    # 4 training utterances per class: round(0.25 * 4) = 1 each to valid.
    assert len(folds["valid"]) == 2
    assert {folds["valid"][i]["emo"] for i in folds["valid"]} == {"x", "y"}
    assert len(folds["train"]) == 6


def test_empty_file_skipped(corpus, tmp_path):
    csv_file, expected = corpus
    victim = next(iter(expected))
    open(expected[victim]["resolved"], "wb").close()
    save = tmp_path / "save"
    prepare_csv_corpus(csv_file, str(save))
    rows = read_skipped(save)
    assert [r[0] for r in rows[1:]] == [victim]
    assert victim not in {i for f in load_manifests(save).values() for i in f}


def _csv(tmp_path, text, wavs=("a.wav", "b.wav")):
    for name in wavs:
        write_wav(str(tmp_path / name), 800)
    path = tmp_path / "l.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "text, error, match",
    [
        ("file,emotion\na.wav,x\n", ValueError, "lacks the column\\(s\\) path"),
        ("path,emotion\na.wav,\n", ValueError, "emotion is empty on line 2"),
        (
            "path,emotion,gender\na.wav,x,F\nb.wav,y,robot\n",
            ValueError,
            "Gender 'robot' on line 3",
        ),
        (
            "path,emotion,split\na.wav,x,train\nb.wav,y,holdout\n",
            ValueError,
            "split 'holdout' on line 3",
        ),
        (
            "path,emotion\na.wav,x\nmissing.wav,y\n",
            FileNotFoundError,
            "line 3: .*missing.wav",
        ),
        (
            "path,emotion\na.wav,x\n./a.wav,y\n",
            ValueError,
            "'./a.wav' on line 3 .* is 'a.wav', listed already on line 2",
        ),
        (
            "path,emotion,speaker\na.wav,x,s1\nb.wav,y,\n",
            ValueError,
            "have no speaker while",
        ),
        ("path,emotion\na.wav,x,extra\n", ValueError, "Line 2 .* extra cells"),
    ],
)
def test_bad_csv(tmp_path, text, error, match):
    csv_file = _csv(tmp_path, text)
    save = tmp_path / "save"
    with pytest.raises(error, match=match):
        prepare_csv_corpus(csv_file, str(save), num_folds=2)
    assert not save.exists()


def test_missing_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match="Corpus CSV not found"):
        prepare_csv_corpus(str(tmp_path / "no.csv"), str(tmp_path / "s"))


def test_idempotent(corpus, tmp_path, caplog):
    csv_file, _ = corpus
    save = tmp_path / "save"
    check_idempotent(
        lambda: prepare_csv_corpus(csv_file, str(save)), str(save), caplog
    )
    # An edited CSV is prepared again.
    with open(csv_file, "ab") as f:
        f.write(b"\r\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        prepare_csv_corpus(csv_file, str(save))
    assert "skipping" not in caplog.text


def test_speaker_in_train_and_test_is_a_warning(tmp_path, caplog):
    """A ``split`` column that puts a speaker in both train and test is
    used as it is, with a warning naming that speaker only."""
    root = tmp_path / "d"
    root.mkdir()
    rows = ["path,emotion,speaker,split"]
    # s1 in train and test, s2 in train only, s3 in test only
    layout = [("s1", "train"), ("s2", "train"), ("s1", "test"), ("s3", "test")]
    for i, (speaker, split) in enumerate(layout * 2):
        write_wav(str(root / f"{i}.wav"), 800)
        rows.append(f"{i}.wav,{'xy'[i % 2]},{speaker},{split}")
    (root / "l.csv").write_text("\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        prepare_csv_corpus(str(root / "l.csv"), str(tmp_path / "save"))
    warnings = [r.getMessage() for r in caplog.records]
    shared = [m for m in warnings if "not speaker-independent" in m]
    assert len(shared) == 1
    assert "s1" in shared[0] and "s2" not in shared[0]
    assert "s3" not in shared[0]
    folds = load_manifests(tmp_path / "save")
    assert sorted(folds["test"]) == ["2.wav", "3.wav", "6.wav", "7.wav"]


# ------------------------------------- spreadsheets' CSVs (issue 22, 5-8)


def _rows_csv(root, rows, delimiter=",", name="l.csv"):
    """Writes ``rows`` (lists of cells, header first) with ``delimiter``;
    the audio of each ``path`` cell is written when missing."""
    import csv

    root.mkdir(parents=True, exist_ok=True)
    path_column = rows[0].index("path")
    for row in rows[1:]:
        audio = root / row[path_column].strip()
        if not audio.exists():
            write_wav(str(audio), 800 + 7 * len(str(audio)))
    with open(root / name, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return str(root / name)


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_csv(tmp_path, delimiter):
    """A CSV saved by a spreadsheet with semicolons (or tabs) gives the
    manifests of the comma-separated one, cells holding commas included."""
    rows = [["path", "emotion", "speaker", "split"]]
    for i in range(8):
        name = f"calls/a,{i}.wav" if i == 3 else f"calls/{i}.wav"
        split = "train" if i < 6 else "test"
        rows.append([name, "xy"[i % 2], f"s{i % 4}", split])
    reference = _rows_csv(tmp_path / "d", rows)
    prepare_csv_corpus(reference, str(tmp_path / "comma"))
    other = _rows_csv(tmp_path / "d", rows, delimiter, name="other.csv")
    prepare_csv_corpus(other, str(tmp_path / "other"))
    assert load_manifests(tmp_path / "other") == load_manifests(
        tmp_path / "comma"
    )
    assert "calls/a,3.wav" in load_manifests(tmp_path / "other")["train"]


def test_unknown_delimiter_says_what_was_read_and_expected(tmp_path):
    csv_file = _csv(tmp_path, "path|emotion\na.wav|x\n")
    with pytest.raises(ValueError) as err:
        prepare_csv_corpus(csv_file, str(tmp_path / "save"))
    message = str(err.value)
    assert "lacks the column(s) path, emotion" in message
    assert "['path|emotion']" in message
    assert "separated by commas, semicolons or tabs" in message


def test_labels_differing_in_case_or_spaces_are_one_class(tmp_path, caplog):
    """``Angry``, ``angry``, `` ANGRY `` are one class, named by the most
    frequent spelling; ``very  sad`` and ``Very sad`` too. A warning names
    the spellings merged with their first lines; the recipe's class list
    (``csv_classes``) is the merged one."""
    from speechbrain_gemo.data.csv_corpus import csv_classes

    labels = ["Angry", "angry", "angry", " ANGRY ", "very  sad", "Very sad"]
    labels += ["Very sad", "calm"]
    rows = [["path", "emotion"]]
    rows += [[f"{i}.wav", label] for i, label in enumerate(labels * 2)]
    csv_file = _rows_csv(tmp_path / "d", rows)
    with caplog.at_level(logging.WARNING):
        prepare_csv_corpus(csv_file, str(tmp_path / "save"), num_folds=2)
    folds = load_manifests(tmp_path / "save")
    classes = collections.Counter(
        e["emo"] for f in folds.values() for e in f.values()
    )
    assert classes == {"angry": 8, "Very sad": 6, "calm": 2}
    assert csv_classes(csv_file) == ["Very sad", "angry", "calm"]
    merged = [r.getMessage() for r in caplog.records if "differ only" in r.msg]
    assert len(merged) == 2
    assert "'Angry' (2 row(s), first on line 2)" in merged[0]
    assert "'ANGRY' (2 row(s), first on line 5)" in merged[0]
    assert merged[0].endswith("one class, 'angry'")
    assert "'very sad' (2 row(s), first on line 6)" in merged[1]


def test_same_name_stem_other_extension_is_another_utterance(tmp_path):
    """``x.wav`` and ``x.flac`` are two utterances, each with its own
    file; the same file listed twice is refused naming it and both
    lines."""
    root = tmp_path / "d"
    write_wav(str(root / "x.wav"), 800)
    write_wav(str(root / "x.flac"), 1600)
    write_wav(str(root / "y.wav"), 2400)
    rows = "path,emotion\nx.wav,a\nx.flac,b\ny.wav,a\nsub/../x.flac,b\n"
    (root / "l.csv").write_text(rows)
    with pytest.raises(ValueError) as err:
        prepare_csv_corpus(str(root / "l.csv"), str(tmp_path / "save"))
    assert str(err.value).startswith("'sub/../x.flac' on line 5 of")
    assert "is 'x.flac', listed already on line 3" in str(err.value)
    (root / "l.csv").write_text(rows.rsplit("sub", 1)[0])
    prepare_csv_corpus(str(root / "l.csv"), str(tmp_path / "save"), num_folds=2)
    everything = {
        k: v
        for f in load_manifests(tmp_path / "save").values()
        for k, v in f.items()
    }
    assert sorted(everything) == ["x.flac", "x.wav", "y.wav"]
    assert everything["x.wav"]["wav"] == "{data_root}/x.wav"
    assert everything["x.flac"]["wav"] == "{data_root}/x.flac"
    assert everything["x.flac"]["duration"] == 0.1
    assert everything["x.wav"]["emo"] == "a"
    assert everything["x.flac"]["emo"] == "b"


@pytest.mark.parametrize("speakers", [False, True])
def test_class_missing_from_a_folds_train_or_test_is_warned(
    tmp_path, caplog, speakers
):
    """A class with fewer utterances than folds (or all of one speaker)
    leaves some folds' train or test without it: each fold's preparation
    warns, naming the fold and the class, exactly where the manifests lack
    it."""
    columns = ["path", "emotion", "speaker"][: 3 if speakers else 2]
    rows = [columns]
    for i in range(12):
        rows.append([f"{i}.wav", "xy"[i % 2], f"s{i % 3}"][: len(columns)])
    rows.append(["rare.wav", "rare", "s0"][: len(columns)])  # one utterance
    csv_file = _rows_csv(tmp_path / "d", rows)
    warned, texts = {}, []
    for fold in (1, 2, 3):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            prepare_csv_corpus(
                csv_file, str(tmp_path / f"f{fold}"), fold, num_folds=3
            )
        folds = load_manifests(tmp_path / f"f{fold}")
        lacking = {
            name
            for name in ("train", "test")
            if all(e["emo"] != "rare" for e in folds[name].values())
        }
        warnings = [r.getMessage() for r in caplog.records]
        texts += warnings
        assert len(warnings) == len(lacking)
        for message in warnings:
            assert message.startswith(f"CSV corpus fold {fold} of 3: class ")
            assert "class 'rare' has no " in message
        warned[fold] = sorted(
            name
            for name in ("train", "test")
            if f"has no {name} " in " ".join(warnings)
        )
        assert warned[fold] == sorted(lacking)
    # tested in one fold, where the model cannot learn it
    assert sorted(warned.values()) == [["test"], ["test"], ["train"]]
    [train_warning] = [t for t in texts if "has no train" in t]
    assert train_warning.endswith(
        "(1 in all: 0 in valid, 1 in test): the model trained on it cannot "
        "learn that class"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["recipes/CSV/gemo_clap/csv_prepare.py"],
        ["-m", "speechbrain_gemo.data.csv_corpus"],
    ],
)
def test_preparation_command_reports_one_line(tmp_path, command):
    """A preparation error from the command line is one ``error:`` line
    naming the file and line, status 2, no traceback (issue 22)."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    csv_file = _csv(tmp_path, "path,emotion\na.wav,x\ngone.wav,y\n")
    result = subprocess.run(
        [sys.executable, *command, csv_file, str(tmp_path / "save")],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: 1 audio file(s) labelled in {csv_file} are missing, first: "
        f"line 3: {tmp_path / 'gone.wav'}\n"
    )


# ------------------------ labelled stretches of long recordings (issue 23)


def _call(path, seconds, rate=8000, channels=2, subtype="ULAW"):
    """Writes a call: each channel a distinct ramp (channel c holds
    ``c + sample / 10**6``), 8 kHz mu-law stereo by default; returns the
    samples as read back (the codec rounds them)."""
    import numpy as np
    import soundfile

    os.makedirs(os.path.dirname(path), exist_ok=True)
    frames = int(seconds * rate)
    ramp = np.arange(frames) / frames
    audio = np.stack(
        [0.2 * (c + 1) * ramp - 0.1 * c for c in range(channels)], axis=1
    ).astype("float32")
    soundfile.write(path, audio, rate, subtype=subtype)
    return soundfile.read(path, dtype="float32", always_2d=True)[0]


STRETCH_CSV = """path,emotion,start,end,channel
calls/a.wav,angry,1.5,3.25,2
calls/a.wav,neutral,1.5,3.25,1
calls/a.wav,neutral,4,,
calls/b.flac,happy,,0.5,1
calls/b.flac,happy,,,
calls/c.wav,calm,,,2
"""


def test_stretch_rows_are_utterances_read_by_seeking(tmp_path, monkeypatch):
    """Each row with start/end/channel is one utterance: its id says the
    stretch, its wav is SpeechBrain's dict form with the channel (samples
    at the file's rate), its duration the stretch's; the training reader
    reads that stretch and channel only, seeking to it."""
    import numpy as np
    import soundfile
    from speechbrain.dataio import audio_io

    from speechbrain_gemo.data.audio import read_utterance

    root = tmp_path / "d"
    audio = {
        "calls/a.wav": (_call(str(root / "calls/a.wav"), 6.0), 8000),
        "calls/b.flac": (
            _call(str(root / "calls/b.flac"), 1.0, 44100, 2, None),
            44100,
        ),
        "calls/c.wav": (_call(str(root / "calls/c.wav"), 0.5, 16000), 16000),
    }
    (root / "labels.csv").write_text(STRETCH_CSV)
    save = tmp_path / "save"
    prepare_csv_corpus(str(root / "labels.csv"), str(save), num_folds=2)
    everything = {
        k: v for fold in load_manifests(save).values() for k, v in fold.items()
    }
    expected = {  # id -> (file, first sample, stop, channel, line)
        "calls/a.wav@1.5-3.25:ch2": ("calls/a.wav", 12000, 26000, 2, 2),
        "calls/a.wav@1.5-3.25:ch1": ("calls/a.wav", 12000, 26000, 1, 3),
        "calls/a.wav@4-end": ("calls/a.wav", 32000, 48000, None, 4),
        "calls/b.flac@0-0.5:ch1": ("calls/b.flac", 0, 22050, 1, 5),
        "calls/b.flac": ("calls/b.flac", None, None, None, 6),
        "calls/c.wav:ch2": ("calls/c.wav", 0, 8000, 2, 7),
    }
    assert sorted(everything) == sorted(expected)

    reads = []
    real_read = audio_io.sf.read

    def spy(path, *args, **kwargs):
        name = os.path.basename(os.fsdecode(path))
        reads.append((name, kwargs.get("start", 0), kwargs.get("frames", -1)))
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(audio_io.sf, "read", spy)
    for utt_id, (name, first, stop, channel, line) in expected.items():
        entry = everything[utt_id]
        assert entry["line"] == line
        samples, rate = audio[name]
        if first is None:  # a whole-file row keeps its plain path
            assert entry["wav"] == "{data_root}/" + name
            assert entry["duration"] == pytest.approx(len(samples) / rate)
            continue
        assert entry["wav"] == {
            "file": "{data_root}/" + name,
            "start": first,
            "stop": stop,
            "channel": channel,
        }
        assert entry["duration"] == pytest.approx((stop - first) / rate)
        wav = {**entry["wav"], "file": str(root / name)}
        reads.clear()
        sig = read_utterance(wav, utt_id).numpy()
        # only the stretch was read from the file
        assert reads == [(os.path.basename(name), first, stop - first)]
        want = samples[first:stop]
        want = want.mean(axis=1) if channel is None else want[:, channel - 1]
        if channel is None:
            sig = sig.mean(axis=1)
        np.testing.assert_allclose(sig, want, atol=1e-6)
        # at the model's rate: that channel resampled, same length
        at_16k = read_utterance(wav, utt_id, sample_rate=16000)
        assert len(at_16k) == round((stop - first) * 16000 / rate)
    assert soundfile.info(str(root / "calls/a.wav")).subtype == "ULAW"


@pytest.mark.parametrize(
    "row, match",
    [
        ("calls/a.wav,x,5.5,6.5,", "the stretch 5.5-6.5 s goes past the end"),
        ("calls/a.wav,x,7,,", "the stretch 7-end s goes past the end"),
        ("calls/a.wav,x,3,3,", "end 3 is not after start 3"),
        ("calls/a.wav,x,3,2.5,1", "end 2.5 is not after start 3"),
        ("calls/a.wav,x,,,3", "channel 3 of .*, which has 2 channel"),
        ("calls/a.wav,x,1,2,0", "channel 0 of .* is not 1 or more"),
        ("calls/a.wav,x,1,2,left", "channel 'left' of .* is not a channel"),
        ("calls/a.wav,x,one,2,", "start 'one' of .* is not a number"),
        ("calls/a.wav,x,-1,2,", "start -1 of .* is negative"),
        ("calls/a.wav,x,nan,2,", "start 'nan' of .* is not a number"),
    ],
)
def test_bad_stretch_names_line_and_file(tmp_path, row, match):
    """A stretch past the file's end, with end <= start, or a channel the
    file does not have: an error naming the CSV line and the file, and no
    manifest written."""
    root = tmp_path / "d"
    _call(str(root / "calls/a.wav"), 6.0)
    csv_file = root / "labels.csv"
    csv_file.write_text(
        "path,emotion,start,end,channel\ncalls/a.wav,y,0,1,1\n"
        f"calls/a.wav,y,1,2,2\n{row}\n"
    )
    save = tmp_path / "save"
    with pytest.raises(ValueError, match=match) as err:
        prepare_csv_corpus(str(csv_file), str(save), num_folds=2)
    message = str(err.value)
    assert message.startswith(f"Line 4 of {csv_file}: ")
    assert str(root / "calls" / "a.wav") in message
    assert not save.exists()


def test_stretches_of_a_recording_never_straddle_train_and_test(tmp_path):
    """Without a speaker column, the folds are of recordings: every
    recording is tested in exactly one fold, all its stretches with it,
    and none of them in that fold's train or valid."""
    root = tmp_path / "d"
    rows = ["path,emotion,start,end,channel"]
    stretches = {}
    for call in range(6):
        name = f"calls/{call}.wav"
        _call(str(root / name), 4.0)
        for k in range(4):
            channel = 1 + k % 2
            rows.append(f"{name},{'xyz'[(call + k) % 3]},{k},{k + 1},{channel}")
            stretches.setdefault(name, set()).add(
                f"{name}@{k}-{k + 1}:ch{channel}"
            )
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    tested = {}
    for fold in (1, 2, 3):
        save = tmp_path / f"fold{fold}"
        prepare_csv_corpus(
            str(root / "labels.csv"), str(save), test_fold=fold, num_folds=3
        )
        folds = load_manifests(save)

        def recordings(name, folds=folds):
            return {e["wav"]["file"] for e in folds[name].values()}

        assert not recordings("test") & (
            recordings("train") | recordings("valid")
        )
        for recording in recordings("test"):
            assert recording not in tested
            tested[recording] = fold
            name = recording.replace("{data_root}/", "")
            assert {
                i for i, e in folds["test"].items()
                if e["wav"]["file"] == recording
            } == stretches[name]  # fmt: skip
        assert all(
            e["speaker"] is None for f in folds.values() for e in f.values()
        )
    assert len(tested) == 6


def test_recording_in_train_and_test_of_a_split_is_a_warning(tmp_path, caplog):
    """A ``split`` column that puts stretches of one recording in train
    and test is used as it is, with a warning naming that recording."""
    root = tmp_path / "d"
    for name in ("a", "b", "c"):
        _call(str(root / f"{name}.wav"), 3.0)
    (root / "l.csv").write_text(
        "path,emotion,start,end,split\na.wav,x,0,1,train\na.wav,y,1,2,test\n"
        "b.wav,x,0,1,train\nb.wav,y,1,2,valid\nc.wav,y,2,3,test\n"
    )
    with caplog.at_level(logging.WARNING):
        prepare_csv_corpus(str(root / "l.csv"), str(tmp_path / "save"))
    shared = [
        r.getMessage()
        for r in caplog.records
        if "recording(s)" in r.getMessage()
    ]
    assert len(shared) == 1 and "a.wav" in shared[0]
    assert "b.wav" not in shared[0] and "c.wav" not in shared[0]


def test_reader_names_a_channel_the_file_lacks(tmp_path):
    """A file that lost the stretch's channel after preparation (a stereo
    call replaced by a mono one): the training reader's error names the
    file, the utterance and the channel, instead of reading nothing."""
    from speechbrain_gemo.data.audio import read_utterance

    path = str(tmp_path / "call.wav")
    _call(path, 1.0, channels=1)
    wav = {"file": path, "start": 0, "stop": 4000, "channel": 2}
    for rate in (None, 16000):
        with pytest.raises(RuntimeError, match="has 1 channel") as err:
            read_utterance(wav, "call.wav@0-0.5:ch2", sample_rate=rate)
        assert path in str(err.value) and "call.wav@0-0.5:ch2" in str(err.value)


def test_infer_refuses_a_manifest_of_stretches_naming_the_entry(tmp_path):
    """``infer --labels`` classifies whole files: a manifest of stretches
    is refused with an error naming the list and the entry (not read as
    whole recordings)."""
    from speechbrain_gemo.inputs import read_list

    root = tmp_path / "d"
    _call(str(root / "a.wav"), 2.0)
    (root / "l.csv").write_text(
        "path,emotion,start,end,split\na.wav,x,0,1,train\na.wav,y,1,2,test\n"
    )
    save = tmp_path / "save"
    prepare_csv_corpus(str(root / "l.csv"), str(save))
    test = str(save / "test.json")
    with pytest.raises(ValueError, match="is a stretch of a recording") as err:
        read_list(test, str(root))
    assert test in str(err.value) and "a.wav@1-2" in str(err.value)


def test_recipe_reader_gives_telephone_stretches_of_any_source(tmp_path):
    """The CSV recipe's data pipeline on stretch rows of a 44.1 kHz stereo
    FLAC and an 8 kHz mu-law stereo call: with ``telephone_prob`` 1 each
    training stretch comes back at 16 kHz, as long as the stretch, and
    band-limited (the telephone chain ran); valid and test stretches are
    the stretch read as it is."""
    import json
    import random

    import numpy as np
    import soundfile
    import torch

    from speechbrain_gemo.data.audio import read_utterance
    from speechbrain_gemo.testing import load_recipe_script

    root = tmp_path / "d"
    root.mkdir()
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal((4 * 44100, 2)).astype("float32")
    soundfile.write(str(root / "wide.flac"), noise, 44100)
    _call(str(root / "call.wav"), 4.0)  # 8 kHz mu-law stereo
    (root / "l.csv").write_text(
        "path,emotion,start,end,channel,split\n"
        "wide.flac,x,0.5,1.5,1,train\nwide.flac,y,2,3.25,,train\n"
        "call.wav,x,1,2,2,train\ncall.wav,y,2,3,1,valid\n"
        "wide.flac,y,3.5,4,2,test\n"
    )
    save = tmp_path / "save"
    prepare_csv_corpus(str(root / "l.csv"), str(save))
    train = load_recipe_script(
        os.path.join(ROOT, "recipes", "CSV", "gemo_clap", "train.py")
    )
    hparams = {
        "max_train_seconds": None,
        "telephone_prob": 1.0,
        "avd_head": False,
        "sample_rate": 16000,
        "data_folder": str(root),
        "save_folder": str(save),
        **{f"{s}_annotation": str(save / f"{s}.json") for s in SPLITS},
    }
    datasets, _ = train.dataio_prep(hparams, ["x", "y"])
    entries = {}
    for split in SPLITS:
        with open(save / f"{split}.json") as f:
            entries.update(json.load(f))

    def resolved(utt_id):
        wav = dict(entries[utt_id]["wav"])
        wav["file"] = wav["file"].replace("{data_root}", str(root))
        return wav

    random.seed(0)
    seen = 0
    for item in datasets["train"]:
        utt_id, sig = item["id"], item["sig"].numpy()
        assert len(sig) == round(entries[utt_id]["duration"] * 16000)
        raw = read_utterance(resolved(utt_id), utt_id, 16000).numpy()
        assert len(sig) == len(raw) and not np.allclose(sig, raw)
        if utt_id.startswith("wide.flac"):
            power = np.abs(np.fft.rfft(sig)) ** 2
            freqs = np.fft.rfftfreq(len(sig), 1 / 16000)
            assert power[freqs > 4100].sum() / power.sum() < 1e-4
        seen += 1
    assert seen == 3
    for split in ("valid", "test"):
        for item in datasets[split]:
            raw = read_utterance(resolved(item["id"]), item["id"], 16000)
            assert torch.equal(item["sig"], raw)
