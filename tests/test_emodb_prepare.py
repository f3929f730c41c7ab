"""Tests of the EmoDB preparation on a small tree in the release layout.

Authors
 * speechbrain-gemo developers 2026
"""

import os
import sys

import pytest
from corpus_checks import (
    build_template,
    check_entries,
    check_idempotent,
    check_speaker_folds,
    copy_template,
    load_manifests,
    read_skipped,
    write_stray,
    write_wav,
)

from speechbrain_gemo.data.emodb import prepare_emodb

RECIPE_DIR = os.path.join(
    os.path.dirname(__file__), "..", "recipes", "EmoDB", "gemo_clap"
)
# From the corpus documentation (CORPORA.md), not from the module.
MALE = ("03", "10", "11", "12", "15")
FEMALE = ("08", "09", "13", "14", "16")
LETTERS = "WLEAFTN"


def build_tree(root):
    """Writes wav/ (two texts per speaker and emotion) plus phonetic label
    folders; returns the expected entries (wav resolved)."""
    expected = {}
    for s, speaker in enumerate(sorted(MALE + FEMALE)):
        for e, letter in enumerate(LETTERS):
            for text in ("a01", "b10"):
                name = f"{speaker}{text}{letter}{'ab'[(s + e) % 2]}"
                path = os.path.join(root, "wav", f"{name}.wav")
                duration = write_wav(path, 800 + 160 * ((s + e) % 3))
                expected[name] = {
                    "wav": path,
                    "duration": duration,
                    "emo": letter,
                    "gender": "M" if speaker in MALE else "F",
                    "speaker": speaker,
                    "text": text,
                }
    os.makedirs(os.path.join(root, "lablaut"))
    with open(os.path.join(root, "lablaut", "03a01Fa.lab"), "w") as f:
        f.write("not audio\n")
    write_stray(os.path.join(root, "wav", "._03a01Wa.wav"))
    # An unreadable file
    with open(os.path.join(root, "wav", "16b10Tc.wav"), "wb") as f:
        f.write(b"garbage")
    return expected


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A tree built once per module, and its expected entries."""
    return build_template(tmp_path_factory, "EmoDB", build_tree)


@pytest.fixture
def corpus(template, tmp_path):
    """(data_folder, expected entries) of a fresh copy of the tree."""
    return copy_template(template, str(tmp_path / "EmoDB"))


def test_manifest_fields(corpus, tmp_path):
    data, expected = corpus
    save = tmp_path / "save"
    prepare_emodb(data, str(save))
    folds = load_manifests(save)
    check_entries(folds, expected, data)
    skipped = read_skipped(save)
    assert [r[0] for r in skipped[1:]] == ["16b10Tc"]
    assert skipped[1][2].startswith("unreadable")


def test_leave_one_speaker_out_by_default(corpus, tmp_path):
    data, expected = corpus
    tested_in = check_speaker_folds(prepare_emodb, data, tmp_path, 10, expected)
    # Fold k tests the k-th speaker in sorted order.
    assert tested_in == {s: k for k, s in enumerate(sorted(MALE + FEMALE), 1)}
    save = tmp_path / "default"
    prepare_emodb(data, str(save), test_fold=4)
    test = load_manifests(save)["test"]
    assert {e["speaker"] for e in test.values()} == {"10"}


def test_fewer_folds(corpus, tmp_path):
    data, expected = corpus
    tested_in = check_speaker_folds(prepare_emodb, data, tmp_path, 5, expected)
    for fold in range(1, 6):
        speakers = [s for s, k in tested_in.items() if k == fold]
        assert sorted(s in MALE for s in speakers) == [False, True]


def test_wavs_at_the_top(tmp_path):
    # Some copies have the wavs directly in the data folder.
    write_wav(str(tmp_path / "wav" / "03a01Wa.wav"), 800)
    write_wav(str(tmp_path / "wav" / "08a01Wa.wav"), 800)
    save = tmp_path / "save"
    prepare_emodb(str(tmp_path / "wav"), str(save), num_folds=2)
    test = load_manifests(save)["test"]
    assert test["03a01Wa"]["wav"] == "{data_root}/03a01Wa.wav"


def test_idempotent(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    check_idempotent(lambda: prepare_emodb(data, str(save)), str(save), caplog)


def test_no_utterance(tmp_path):
    (tmp_path / "wav").mkdir()
    with pytest.raises(ValueError, match="No EmoDB utterance"):
        prepare_emodb(str(tmp_path), str(tmp_path / "save"))


def test_recipe_module(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    monkeypatch.syspath_prepend(os.path.abspath(RECIPE_DIR))
    monkeypatch.delitem(sys.modules, "emodb_prepare", raising=False)
    import emodb_prepare

    assert emodb_prepare.prepare_emodb is prepare_emodb
    emodb_prepare.main([data, str(tmp_path / "s"), "--test_fold", "10"])
    test = load_manifests(tmp_path / "s")["test"]
    assert {e["speaker"] for e in test.values()} == {"16"}
