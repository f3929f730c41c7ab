"""Tests of the MSP-Podcast preparation on a small tree in the release
layout: O/X rows, Unknown genders and speakers, several test partitions.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

import pytest
from corpus_checks import (
    check_idempotent,
    load_manifests,
    read_skipped,
    write_stray,
    write_wav,
)

from speechbrain_gemo.data.msp_podcast import prepare_msp_podcast

RECIPE_DIR = os.path.join(
    os.path.dirname(__file__), "..", "recipes", "MSP-Podcast", "gemo_clap"
)
HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"
# FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
ROWS = [
    (
        "MSP-PODCAST_0001_0001.wav",
        "A",
        "5.2",
        "2.0",
        "5.8",
        "12",
        "Male",
        "Train",
    ),
    (
        "MSP-PODCAST_0001_0002.wav",
        "N",
        "4.0",
        "4.0",
        "4.0",
        "12",
        "Male",
        "Train",
    ),
    (
        "MSP-PODCAST_0002_0001.wav",
        "H",
        "5.0",
        "6.2",
        "4.4",
        "13",
        "Female",
        "Train",
    ),
    (
        "MSP-PODCAST_0002_0002.wav",
        "C",
        "3.4",
        "2.6",
        "4.8",
        "Unknown",
        "Unknown",
        "Train",
    ),
    (
        "MSP-PODCAST_0002_0003.wav",
        "O",
        "3.0",
        "3.0",
        "3.0",
        "13",
        "Female",
        "Train",
    ),
    (
        "MSP-PODCAST_0002_0004.wav",
        "X",
        "3.0",
        "3.0",
        "3.0",
        "13",
        "Female",
        "Train",
    ),
    (
        "MSP-PODCAST_0003_0001.wav",
        "S",
        "2.2",
        "1.8",
        "2.5",
        "14",
        "Female",
        "Development",
    ),
    (
        "MSP-PODCAST_0003_0002.wav",
        "U",
        "5.5",
        "4.5",
        "4.0",
        "Unknown",
        "Male",
        "Development",
    ),
    (
        "MSP-PODCAST_0004_0001.wav",
        "F",
        "4.8",
        "2.2",
        "2.0",
        "15",
        "Male",
        "Test1",
    ),
    (
        "MSP-PODCAST_0004_0002.wav",
        "D",
        "4.1",
        "2.4",
        "3.9",
        "15",
        "Unknown",
        "Test1",
    ),
    (
        "MSP-PODCAST_0005_0001.wav",
        "N",
        "3.9",
        "4.1",
        "4.0",
        "16",
        "Female",
        "Test2",
    ),
    (
        "MSP-PODCAST_0005_0002.wav",
        "X",
        "3.9",
        "4.1",
        "4.0",
        "16",
        "Female",
        "Test2",
    ),
]
EMPTY = "MSP-PODCAST_0001_0002"


def build_tree(root, rows=ROWS, line_end="\n"):
    """Writes Audios/ and Labels/labels_consensus.csv; returns the expected
    entries (wav resolved) of the classes' readable segments."""
    expected = {}
    audio = os.path.join(root, "Audios")
    os.makedirs(os.path.join(root, "Labels"), exist_ok=True)
    lines = [HEADER]
    for k, row in enumerate(rows):
        name, emo, act, val, dom, speaker, gender, split = row
        lines.append(",".join(row))
        if emo == "O":
            continue  # not a class: its audio is not even needed
        path = os.path.join(audio, name)
        duration = write_wav(path, 1600 + 320 * k)
        if emo != "X":
            expected[name[:-4]] = {
                "wav": path,
                "duration": duration,
                "emo": emo,
                "gender": {"Male": "M", "Female": "F"}.get(gender),
                "speaker": None if speaker == "Unknown" else speaker,
                "arousal": float(act),
                "valence": float(val),
                "dominance": float(dom),
                "split": split,
            }
    open(os.path.join(audio, f"{EMPTY}.wav"), "wb").close()
    del expected[EMPTY]
    write_stray(os.path.join(audio, "._MSP-PODCAST_0001_0001.wav"))
    labels = os.path.join(root, "Labels", "labels_consensus.csv")
    with open(labels, "w", newline="") as f:
        f.write(line_end.join(lines) + line_end)
    return expected


@pytest.fixture
def corpus(tmp_path):
    """(data_folder, expected entries)."""
    data = tmp_path / "MSP-Podcast"
    data.mkdir()
    return str(data), build_tree(str(data))


@pytest.mark.parametrize("test_set", ["Test1", "Test2"])
def test_partitions_and_fields(corpus, tmp_path, test_set):
    data, expected = corpus
    save = tmp_path / "save"
    prepare_msp_podcast(data, str(save), test_set=test_set)
    folds = load_manifests(save)
    wanted = {"train": "Train", "valid": "Development", "test": test_set}
    for name, split in wanted.items():
        want = {k: dict(v) for k, v in expected.items() if v["split"] == split}
        assert sorted(folds[name]) == sorted(want)
        for utt_id, entry in folds[name].items():
            w = want[utt_id]
            w.pop("split")
            assert entry.pop("wav").format(data_root=data) == w.pop("wav")
            assert entry == w
    # O and X are not classes
    everything = {k: v for f in folds.values() for k, v in f.items()}
    assert "MSP-PODCAST_0002_0003" not in everything
    assert "MSP-PODCAST_0002_0004" not in everything
    assert {e["emo"] for e in everything.values()} <= set("ASHUFDCN")


def test_unknown_gender_and_speaker_are_null(corpus, tmp_path):
    data, _ = corpus
    save = tmp_path / "save"
    prepare_msp_podcast(data, str(save))
    folds = load_manifests(save)
    assert folds["train"]["MSP-PODCAST_0002_0002"]["gender"] is None
    assert folds["train"]["MSP-PODCAST_0002_0002"]["speaker"] is None
    assert folds["valid"]["MSP-PODCAST_0003_0002"]["speaker"] is None
    assert folds["valid"]["MSP-PODCAST_0003_0002"]["gender"] == "M"
    assert folds["test"]["MSP-PODCAST_0004_0002"]["gender"] is None


def test_empty_segment_skipped(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    with caplog.at_level("INFO"):
        prepare_msp_podcast(data, str(save))
    skipped = read_skipped(save)
    assert [r[0] for r in skipped[1:]] == [EMPTY]
    assert "skipped 1 empty or unreadable" in caplog.text
    assert "left out (not classes): O 1, X 2" in caplog.text


def test_missing_audio_is_an_error(corpus, tmp_path):
    data, _ = corpus
    os.remove(os.path.join(data, "Audios", "MSP-PODCAST_0003_0001.wav"))
    save = tmp_path / "save"
    with pytest.raises(FileNotFoundError, match="MSP-PODCAST_0003_0001.wav"):
        prepare_msp_podcast(data, str(save))
    assert not save.exists()
    # A missing segment of an unused test partition does not matter.
    os.remove(os.path.join(data, "Audios", "MSP-PODCAST_0005_0001.wav"))
    write_wav(os.path.join(data, "Audios", "MSP-PODCAST_0003_0001.wav"), 800)
    prepare_msp_podcast(data, str(save), test_set="Test1")


def test_windows_line_ends_and_bom(tmp_path):
    expected = build_tree(str(tmp_path), line_end="\r\n")
    labels = tmp_path / "Labels" / "labels_consensus.csv"
    labels.write_bytes(b"\xef\xbb\xbf" + labels.read_bytes())
    save = tmp_path / "save"
    prepare_msp_podcast(str(tmp_path), str(save))
    folds = load_manifests(save)
    n = sum(len(f) for f in folds.values())
    assert n == sum(v["split"] != "Test2" for v in expected.values())
    assert folds["test"]["MSP-PODCAST_0004_0001"]["valence"] == 2.2


@pytest.mark.parametrize(
    "row, error, match",
    [
        (
            ("Z.wav", "Q", "1", "1", "1", "1", "Male", "Train"),
            ValueError,
            "EmoClass 'Q' on line 14",
        ),
        (
            ("Z.wav", "A", "high", "1", "1", "1", "Male", "Train"),
            ValueError,
            "EmoAct 'high' on line 14",
        ),
        (
            ("Z.wav", "A", "1", "1", "1", "1", "Other", "Train"),
            ValueError,
            "Gender 'Other' on line 14",
        ),
        (
            ("Z.wav", "A", "1", "1", "1", "1", "Male", ""),
            ValueError,
            "Split_Set is empty on line 14",
        ),
        (ROWS[0], ValueError, "labelled twice, on lines 2 and 14"),
    ],
)
def test_bad_rows(corpus, tmp_path, row, error, match):
    data, _ = corpus
    labels = os.path.join(data, "Labels", "labels_consensus.csv")
    with open(labels, "a") as f:
        f.write(",".join(row) + "\n")
    save = tmp_path / "save"
    with pytest.raises(error, match=match):
        prepare_msp_podcast(data, str(save))
    assert not save.exists()


def test_bad_test_set_and_layout(corpus, tmp_path):
    data, _ = corpus
    with pytest.raises(ValueError, match="it has Test1, Test2"):
        prepare_msp_podcast(data, str(tmp_path / "s"), test_set="Test3")
    with pytest.raises(ValueError, match="not a test partition"):
        prepare_msp_podcast(data, str(tmp_path / "s"), test_set="Train")
    with pytest.raises(FileNotFoundError, match="labels_consensus.csv"):
        prepare_msp_podcast(str(tmp_path), str(tmp_path / "s"))


def test_idempotent(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    check_idempotent(
        lambda: prepare_msp_podcast(data, str(save)), str(save), caplog
    )
    prepare_msp_podcast(data, str(save), test_set="Test2")
    assert sorted(load_manifests(save)["test"]) == ["MSP-PODCAST_0005_0001"]


def test_recipe_module(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    monkeypatch.syspath_prepend(os.path.abspath(RECIPE_DIR))
    monkeypatch.delitem(sys.modules, "msp_podcast_prepare", raising=False)
    import msp_podcast_prepare

    assert msp_podcast_prepare.prepare_msp_podcast is prepare_msp_podcast
    msp_podcast_prepare.main([data, str(tmp_path / "s"), "--test_set", "Test2"])
    assert sorted(load_manifests(tmp_path / "s")["test"]) == [
        "MSP-PODCAST_0005_0001"
    ]


def test_class_codes_in_any_case_and_semicolons(tmp_path):
    """EmoClass ``a`` or `` h `` is A or H (any case, spaces around), and a
    labels file re-saved with semicolons reads the same (issue 22)."""
    reference = tmp_path / "reference"
    reference.mkdir()
    build_tree(str(reference))
    prepare_msp_podcast(str(reference), str(tmp_path / "save_ref"))
    data = tmp_path / "MSP-Podcast"
    data.mkdir()
    rows = [
        (name, {"A": "a", "H": " h ", "X": "x"}.get(emo, emo), *rest)
        for name, emo, *rest in ROWS
    ]
    build_tree(str(data), rows)
    labels = data / "Labels" / "labels_consensus.csv"
    labels.write_text(labels.read_text().replace(",", ";"))
    prepare_msp_podcast(str(data), str(tmp_path / "save"))
    assert load_manifests(tmp_path / "save") == load_manifests(
        tmp_path / "save_ref"
    )
