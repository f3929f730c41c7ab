"""Checks shared by the corpus preparation tests: writing tiny audio and
stray files, building and copying test trees, loading manifests, and the
properties every folded or repeated preparation must have.

Authors
 * speechbrain-gemo developers 2026
"""

import json
import logging
import os
import shutil

import numpy as np
import soundfile

MANIFESTS = ("train", "valid", "test")
LOGGER = "speechbrain_gemo.data.manifest"
# What macOS leaves beside each file when copying to other file systems.
STRAY_BYTES = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X\xff\xfe\x80"


def write_wav(path, frames, sr=16000, channels=1, subtype=None):
    """Writes ``frames`` samples of low noise; returns the duration."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(len(path) + frames)
    shape = (frames,) if channels == 1 else (frames, channels)
    audio = (0.05 * rng.standard_normal(shape)).astype("float32")
    soundfile.write(path, audio, sr, subtype=subtype)
    return frames / sr


def write_stray(path):
    """Writes a ``._`` metadata file (not audio) at ``path``."""
    with open(path, "wb") as f:
        f.write(STRAY_BYTES)


def build_template(tmp_path_factory, name, build_tree):
    """Builds a corpus tree once (for a module-scoped fixture) in a folder
    ``name``; returns its path and ``build_tree``'s expected entries."""
    data = tmp_path_factory.mktemp("template") / name
    data.mkdir()
    return str(data), build_tree(str(data))


def copy_template(template, data):
    """Copies a ``build_template`` tree to ``data``; returns ``data`` and
    the expected entries with their wav paths moved there."""
    source, expected = template
    shutil.copytree(source, data)
    return data, {
        utt_id: {**entry, "wav": entry["wav"].replace(source, data, 1)}
        for utt_id, entry in expected.items()
    }


def load_manifests(save):
    """The three manifests of a save folder, as dicts."""
    folds = {}
    for name in MANIFESTS:
        with open(os.path.join(save, f"{name}.json"), encoding="utf-8") as f:
            folds[name] = json.load(f)
    return folds


def read_skipped(save):
    """The rows of ``skipped.csv`` (header first)."""
    with open(os.path.join(save, "skipped.csv"), encoding="utf-8") as f:
        return [line.rstrip("\n").split(",", 2) for line in f]


def check_entries(folds, expected, data):
    """Checks that the manifests hold exactly the ``expected`` entries
    (wav resolved with ``{data_root}`` = ``data``); returns all entries."""
    everything = {k: v for fold in folds.values() for k, v in fold.items()}
    assert sorted(everything) == sorted(expected)
    for utt_id, entry in everything.items():
        entry, want = dict(entry), dict(expected[utt_id])
        assert entry.pop("wav").format(data_root=data) == want.pop("wav")
        assert entry == want
    return everything


def check_speaker_folds(prepare, data, tmp_path, num_folds, expected_ids):
    """Runs every fold; checks each speaker is tested exactly once, never
    with train/valid, and that each fold covers ``expected_ids`` exactly."""
    tested_in = {}
    for fold in range(1, num_folds + 1):
        save = os.path.join(tmp_path, f"fold{fold}")
        prepare(data, save, test_fold=fold, num_folds=num_folds)
        folds = load_manifests(save)
        ids = [i for name in MANIFESTS for i in folds[name]]
        assert len(ids) == len(set(ids)), "an utterance is in two sets"
        assert set(ids) == set(expected_ids)
        assert folds["test"] and folds["train"] and folds["valid"]
        test_speakers = {e["speaker"] for e in folds["test"].values()}
        seen_speakers = {
            e["speaker"]
            for name in ("train", "valid")
            for e in folds[name].values()
        }
        assert not test_speakers & seen_speakers
        for speaker in test_speakers:
            assert speaker not in tested_in, (speaker, fold, tested_in)
            tested_in[speaker] = fold
    return tested_in


def check_idempotent(call, save, caplog):
    """A second identical call rewrites nothing and says it skipped."""
    with caplog.at_level(logging.INFO, logger=LOGGER):
        call()
    assert "skipping" not in caplog.text
    mtimes = {
        p: os.stat(os.path.join(save, p)).st_mtime_ns for p in os.listdir(save)
    }
    assert sorted(mtimes) == [
        "prepare_opts.json",
        "skipped.csv",
        "test.json",
        "train.json",
        "valid.json",
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        call()
    assert "skipping preparation" in caplog.text
    assert {
        p: os.stat(os.path.join(save, p)).st_mtime_ns for p in os.listdir(save)
    } == mtimes
