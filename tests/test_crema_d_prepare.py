"""Tests of the CREMA-D preparation on small trees in the release layout.

Authors
 * speechbrain-gemo developers 2026
"""

import logging
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
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_gemo.data import manifest
from speechbrain_gemo.data.crema_d import prepare_crema_d

RECIPE_DIR = os.path.join(
    os.path.dirname(__file__), "..", "recipes", "CREMA-D", "gemo_clap"
)
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
ACTORS = {
    "1001": "Male",
    "1002": "Female",
    "1003": "Female",
    "1004": "Male",
    "1005": "Male",
    "1006": "Female",
}
EMPTY_CLIP = "1003_IEO_SAD_HI"


def build_tree(root):
    """Writes CREMA-D/AudioWAV and VideoDemographics.csv; returns the
    expected manifest entries (wav resolved) of the readable clips."""
    expected = {}
    with open(os.path.join(root, "VideoDemographics.csv"), "w") as f:
        f.write("ActorID,Age,Sex,Race,Ethnicity\n")
        for actor, sex in ACTORS.items():
            f.write(f"{actor},30,{sex},Caucasian,Not Hispanic\n")
    audio = os.path.join(root, "AudioWAV")
    for n, actor in enumerate(ACTORS):
        for k, emo in enumerate(EMOTIONS):
            for sentence, level in (("DFA", "XX"), ("IEO", "HI")):
                name = f"{actor}_{sentence}_{emo}_{level}"
                frames = 800 + 160 * ((n + k) % 5)
                path = os.path.join(audio, f"{name}.wav")
                duration = write_wav(path, frames)
                expected[name] = {
                    "wav": path,
                    "duration": duration,
                    "emo": emo,
                    "gender": ACTORS[actor][0],
                    "speaker": actor,
                    "sentence": sentence,
                    "level": level,
                }
    # Public copies hold a 0-byte clip; ._ files and other files appear too.
    open(os.path.join(audio, f"{EMPTY_CLIP}.wav"), "wb").close()
    del expected[EMPTY_CLIP]
    write_stray(os.path.join(audio, "._1001_DFA_ANG_XX.wav"))
    write_stray(os.path.join(root, "._AudioWAV"))
    with open(os.path.join(audio, "README.txt"), "w") as f:
        f.write("not audio\n")
    return expected


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A tree built once per module, and its expected entries."""
    return build_template(tmp_path_factory, "CREMA-D", build_tree)


@pytest.fixture
def corpus(template, tmp_path):
    """(data_folder, expected entries) of a fresh copy of the tree."""
    return copy_template(template, str(tmp_path / "CREMA-D"))


def test_manifest_fields(corpus, tmp_path):
    data, expected = corpus
    save = tmp_path / "save"
    paths = prepare_crema_d(data, str(save), test_fold=2, num_folds=3)
    assert paths == {
        n: str(save / f"{n}.json") for n in ("train", "valid", "test")
    }
    folds = load_manifests(save)
    everything = check_entries(folds, expected, data)
    for entry in everything.values():
        assert entry["wav"].startswith("{data_root}/AudioWAV/")
    assert {e["emo"] for e in everything.values()} == set(EMOTIONS)


def test_empty_clip_skipped_and_listed(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    with caplog.at_level(logging.INFO):
        prepare_crema_d(data, str(save))
    rows = read_skipped(save)
    assert rows[0] == ["id", "path", "reason"]
    assert len(rows) == 2
    assert rows[1][0] == EMPTY_CLIP
    assert rows[1][1] == os.path.join(data, "AudioWAV", f"{EMPTY_CLIP}.wav")
    assert "empty" in rows[1][2]
    assert "skipped 1 empty or unreadable" in caplog.text
    assert any(
        r.levelno == logging.WARNING and EMPTY_CLIP in r.getMessage()
        for r in caplog.records
    )
    assert "ignored 1 hidden file" in caplog.text


def test_unreadable_clip_skipped(corpus, tmp_path):
    data, _ = corpus
    bad = os.path.join(data, "AudioWAV", "1005_DFA_NEU_XX.wav")
    with open(bad, "wb") as f:
        f.write(b"RIFF\x00\x00not a wav file at all")
    save = tmp_path / "save"
    prepare_crema_d(data, str(save))
    reasons = {row[0]: row[2] for row in read_skipped(save)[1:]}
    assert sorted(reasons) == sorted(["1005_DFA_NEU_XX", EMPTY_CLIP])
    assert reasons["1005_DFA_NEU_XX"].startswith("unreadable")


def test_folds_of_actors(corpus, tmp_path):
    data, expected = corpus
    tested_in = check_speaker_folds(
        prepare_crema_d, data, tmp_path, 3, expected
    )
    assert sorted(tested_in) == sorted(ACTORS)
    # Three folds of six actors (three of each sex): two actors, one per sex.
    for fold in (1, 2, 3):
        actors = [a for a, k in tested_in.items() if k == fold]
        assert sorted(ACTORS[a] for a in actors) == ["Female", "Male"]


def test_valid_from_training_actors(corpus, tmp_path):
    data, _ = corpus
    save = tmp_path / "save"
    prepare_crema_d(data, str(save), num_folds=3, valid_ratio=0.25)
    folds = load_manifests(save)
    # 4 training actors x 2 clips per class = 8 per class (7 for SAD, whose
    # empty clip may be a training actor's): round(0.25 * n) per class.
    train_valid = {**folds["train"], **folds["valid"]}
    for emo in EMOTIONS:
        n = sum(e["emo"] == emo for e in train_valid.values())
        n_valid = sum(e["emo"] == emo for e in folds["valid"].values())
        assert n_valid == int(0.25 * n + 0.5)
    # Seeded: the same call gives the same valid set, another seed another.
    other = tmp_path / "other"
    prepare_crema_d(data, str(other), num_folds=3, valid_ratio=0.25, seed=7)
    assert sorted(load_manifests(other)["valid"]) != sorted(folds["valid"])


def test_loads_in_speechbrain(corpus, tmp_path):
    data, _ = corpus
    paths = prepare_crema_d(data, str(tmp_path / "save"))
    test = DynamicItemDataset.from_json(
        paths["test"], replacements={"data_root": data}
    )
    assert len(test) > 0
    for entry in test.data.values():
        assert os.path.isfile(entry["wav"])


def test_idempotent(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    check_idempotent(
        lambda: prepare_crema_d(data, str(save)), str(save), caplog
    )
    caplog.clear()
    with caplog.at_level(logging.INFO):
        prepare_crema_d(data, str(save), test_fold=2)
    assert "skipping" not in caplog.text
    # A new clip changes the corpus: prepared again.
    write_wav(os.path.join(data, "AudioWAV", "1006_TIE_HAP_XX.wav"), 800)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        prepare_crema_d(data, str(save), test_fold=2)
    assert "skipping" not in caplog.text
    assert "1006_TIE_HAP_XX" in {
        i for fold in load_manifests(save).values() for i in fold
    }


def test_missing_demographics_leaves_gender_unknown(corpus, tmp_path):
    data, _ = corpus
    os.remove(os.path.join(data, "VideoDemographics.csv"))
    save = tmp_path / "save"
    prepare_crema_d(data, str(save))
    folds = load_manifests(save)
    assert {e["gender"] for f in folds.values() for e in f.values()} == {None}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_fold": 0}, "test_fold"),
        ({"test_fold": 6, "num_folds": 5}, "test_fold"),
        ({"num_folds": 1}, "num_folds"),
        ({"num_folds": 7, "test_fold": 1}, "7 speaker folds from 6"),
        ({"valid_ratio": 1.0}, "valid_ratio"),
    ],
)
def test_bad_arguments(corpus, tmp_path, kwargs, match):
    data, _ = corpus
    save = tmp_path / "save"
    with pytest.raises(ValueError, match=match):
        prepare_crema_d(data, str(save), **kwargs)
    assert not save.exists() or not os.listdir(save)


def test_missing_audio_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="AudioWAV"):
        prepare_crema_d(str(tmp_path), str(tmp_path / "save"))


def test_recipe_module(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    monkeypatch.syspath_prepend(os.path.abspath(RECIPE_DIR))
    monkeypatch.delitem(sys.modules, "crema_d_prepare", raising=False)
    import crema_d_prepare

    assert crema_d_prepare.prepare_crema_d is prepare_crema_d
    crema_d_prepare.main(
        [data, str(tmp_path / "s"), "--test_fold", "3", "--num_folds", "3"]
    )
    assert len(load_manifests(tmp_path / "s")["test"]) > 0


def test_interrupted_write_is_redone(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    save = tmp_path / "save"
    prepare_crema_d(data, str(save), test_fold=1)
    real_write = manifest.write_json_atomic

    def write_failing_on_valid(path, obj):
        if path.endswith("valid.json"):
            raise KeyboardInterrupt
        return real_write(path, obj)

    monkeypatch.setattr(manifest, "write_json_atomic", write_failing_on_valid)
    with pytest.raises(KeyboardInterrupt):
        prepare_crema_d(data, str(save), test_fold=2)
    monkeypatch.undo()
    # Not marked done, no temporary file left behind.
    assert "prepare_opts.json" not in os.listdir(save)
    assert not [p for p in os.listdir(save) if p.endswith(".tmp")]
    prepare_crema_d(data, str(save), test_fold=2)
    test_actors = {e["speaker"] for e in load_manifests(save)["test"].values()}
    train_actors = {
        e["speaker"] for e in load_manifests(save)["train"].values()
    }
    assert not test_actors & train_actors
    assert os.path.isfile(save / "prepare_opts.json")


def test_classes_of_the_manifests(corpus, tmp_path):
    data, _ = corpus
    prepare_crema_d(data, str(tmp_path / "save"))
    assert manifest.manifest_classes(str(tmp_path / "save")) == sorted(EMOTIONS)


def test_demographics_saved_with_semicolons(corpus, tmp_path):
    """VideoDemographics.csv re-saved by a spreadsheet with semicolons
    gives the same genders (issue 22)."""
    data, expected = corpus
    demographics = os.path.join(data, "VideoDemographics.csv")
    with open(demographics) as f:
        text = f.read()
    with open(demographics, "w") as f:
        f.write(text.replace(",", ";"))
    prepare_crema_d(data, str(tmp_path / "save"), num_folds=2)
    everything = check_entries(
        load_manifests(tmp_path / "save"), expected, data
    )
    assert {e["gender"] for e in everything.values()} == {"F", "M"}
