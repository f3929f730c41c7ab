"""Tests of the RAVDESS preparation on small trees in the release layout,
with the song archive unpacked into the same actor folders.

Authors
 * speechbrain-gemo developers 2026
"""

import logging
import os
import sys

import pytest
import soundfile
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

from speechbrain_gemo.data.ravdess import prepare_ravdess
from speechbrain_gemo.prompts import CORPUS_CLASSES

RECIPE_DIR = os.path.join(
    os.path.dirname(__file__), "..", "recipes", "RAVDESS", "gemo_clap"
)
SR = 48000
ACTORS = ("01", "02", "03", "04", "05", "06")
STEREO = "03-01-05-02-01-01-03"
EMPTY = "03-01-04-01-01-01-06"


def build_tree(root):
    """Writes Actor_XX folders with speech, song and video-track names;
    returns the expected entries (wav resolved) of the readable speech."""
    expected = {}
    for a, actor in enumerate(ACTORS):
        folder = os.path.join(root, f"Actor_{actor}")
        for e in range(1, 9):
            emotion = f"{e:02d}"
            # neutral has no strong intensity
            for intensity in ("01",) if e == 1 else ("01", "02"):
                name = f"03-01-{emotion}-{intensity}-01-01-{actor}"
                frames = 2400 + 480 * ((a + e) % 4)
                channels = 2 if name == STEREO else 1
                duration = write_wav(
                    os.path.join(folder, f"{name}.wav"), frames, SR, channels
                )
                expected[name] = {
                    "wav": os.path.join(folder, f"{name}.wav"),
                    "duration": duration,
                    "emo": emotion,
                    "gender": "M" if int(actor) % 2 else "F",
                    "speaker": actor,
                    "intensity": intensity,
                    "statement": "01",
                }
        # Song files (vocal channel 02) and the video modalities' names.
        write_wav(
            os.path.join(folder, f"03-02-03-01-01-01-{actor}.wav"), 480, SR
        )
        write_wav(
            os.path.join(folder, f"01-01-03-01-01-01-{actor}.wav"), 480, SR
        )
        write_wav(
            os.path.join(folder, f"02-01-03-01-01-01-{actor}.wav"), 480, SR
        )
        write_stray(os.path.join(folder, f"._03-01-01-01-01-01-{actor}.wav"))
    empty = os.path.join(root, "Actor_06", f"{EMPTY}.wav")
    open(empty, "wb").close()
    del expected[EMPTY]
    write_stray(os.path.join(root, "._Actor_01"))
    return expected


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A tree built once per module, and its expected entries."""
    return build_template(tmp_path_factory, "RAVDESS", build_tree)


@pytest.fixture
def corpus(template, tmp_path):
    """(data_folder, expected entries) of a fresh copy of the tree."""
    return copy_template(template, str(tmp_path / "RAVDESS"))


def test_manifest_fields_and_left_out_files(corpus, tmp_path, caplog):
    data, expected = corpus
    save = tmp_path / "save"
    with caplog.at_level(logging.INFO):
        prepare_ravdess(data, str(save), test_fold=1, num_folds=3)
    folds = load_manifests(save)
    # Only audio-only speech: no song, no video modality, no ._ file.
    everything = check_entries(folds, expected, data)
    assert {e["emo"] for e in everything.values()} == set(
        CORPUS_CLASSES["RAVDESS"]
    )
    assert "left out 6 file(s): song (vocal channel 02)" in caplog.text
    assert "left out 6 file(s): modality 01 (not audio-only)" in caplog.text
    assert "ignored 6 hidden file(s)" in caplog.text
    rows = read_skipped(save)
    assert [r[0] for r in rows[1:]] == [EMPTY]


def test_stereo_duration_from_header(corpus, tmp_path):
    data, expected = corpus
    assert soundfile.info(expected[STEREO]["wav"]).channels == 2
    save = tmp_path / "save"
    prepare_ravdess(data, str(save))
    folds = load_manifests(save)
    entry = {**folds["train"], **folds["valid"], **folds["test"]}[STEREO]
    assert entry["duration"] == expected[STEREO]["duration"]


def test_folds_of_actors(corpus, tmp_path):
    data, expected = corpus
    tested_in = check_speaker_folds(
        prepare_ravdess, data, tmp_path, 3, expected
    )
    assert sorted(tested_in) == list(ACTORS)
    for fold in (1, 2, 3):
        genders = sorted(
            "M" if int(a) % 2 else "F"
            for a, k in tested_in.items()
            if k == fold
        )
        assert genders == ["F", "M"]


def test_nested_release_folders(tmp_path):
    # Speech and song archives unpacked side by side, one level down.
    data = tmp_path / "RAVDESS"
    speech = data / "Audio_Speech_Actors_01-24"
    speech.mkdir(parents=True)
    expected = build_tree(str(speech))
    song = data / "Audio_Song_Actors_01-24" / "Actor_01"
    write_wav(str(song / "03-02-02-01-01-01-01.wav"), 480, SR)
    save = tmp_path / "save"
    prepare_ravdess(str(data), str(save), num_folds=2)
    folds = load_manifests(save)
    everything = {k: v for fold in folds.values() for k, v in fold.items()}
    assert sorted(everything) == sorted(expected)
    entry = everything["03-01-02-01-01-01-01"]
    assert entry["wav"] == (
        "{data_root}/Audio_Speech_Actors_01-24/Actor_01/03-01-02-01-01-01-01.wav"
    )


def test_idempotent(corpus, tmp_path, caplog):
    data, _ = corpus
    save = tmp_path / "save"
    check_idempotent(
        lambda: prepare_ravdess(data, str(save)), str(save), caplog
    )


def test_no_speech_found(tmp_path):
    write_wav(str(tmp_path / "Actor_01" / "03-02-01-01-01-01-01.wav"), 480, SR)
    with pytest.raises(ValueError, match="No RAVDESS audio-only speech"):
        prepare_ravdess(str(tmp_path), str(tmp_path / "save"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prepare_ravdess(str(tmp_path / "nowhere"), str(tmp_path / "save"))


def test_recipe_module(corpus, tmp_path, monkeypatch):
    data, _ = corpus
    monkeypatch.syspath_prepend(os.path.abspath(RECIPE_DIR))
    monkeypatch.delitem(sys.modules, "ravdess_prepare", raising=False)
    import ravdess_prepare

    assert ravdess_prepare.prepare_ravdess is prepare_ravdess
    ravdess_prepare.main([data, str(tmp_path / "s"), "--num_folds", "6"])
    test = load_manifests(tmp_path / "s")["test"]
    assert {e["speaker"] for e in test.values()} == {"01"}
