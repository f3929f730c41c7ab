"""The command line's batches at work: each batch the model is given holds
at most ``--max_batch_seconds`` of padded audio and ``--max_batch_size``
clips (files, or a timeline's segments), seen where the model is called
(``GEmoCLAP.predict_batch``), not only in ``make_batches``."""

import csv

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.infer import main
from speechbrain_gemo.inference import GEmoCLAP

RATE = 16000  # the tiny export's rate: the rate of what the model is given


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return save_tiny_export(str(tmp_path_factory.mktemp("caps") / "export"))


def _tone(seconds, rate, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t)
    return (wave + 0.02 * rng.standard_normal(len(t))).astype("float32")


def _record_batches(monkeypatch):
    """The (clips, padded seconds) of each batch given to the model, and
    the names of the clips."""
    batches, names = [], []
    predict_batch = GEmoCLAP.predict_batch

    def recording_predict_batch(self, wavs, *args, **kwargs):
        assert wavs.dim() == 2 and len(wavs) == len(kwargs["names"])
        batches.append((len(wavs), wavs.shape[1] / RATE))
        names.extend(kwargs["names"])
        return predict_batch(self, wavs, *args, **kwargs)

    monkeypatch.setattr(GEmoCLAP, "predict_batch", recording_predict_batch)
    return batches, names


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_batches_of_files_respect_both_caps(export, tmp_path, monkeypatch):
    """Six files of 1 s and six of 3 s (16 kHz, 8 kHz mu-law, 44.1 kHz
    stereo): with ``--max_batch_seconds 8 --max_batch_size 3`` every batch
    holds at most 3 files (the 1 s ones reach it) and 8 s of padded audio
    (the 3 s ones go by two at most), and each file is classified once."""
    paths = []
    for k in range(12):
        seconds = 1.0 if k < 6 else 3.0
        path = str(tmp_path / f"f{k:02d}.wav")
        if k % 3 == 0:
            soundfile.write(path, _tone(seconds, RATE, k), RATE)
        elif k % 3 == 1:
            wave = _tone(seconds, 8000, k)
            soundfile.write(path, wave, 8000, subtype="ULAW")
        else:
            wave = _tone(seconds, 44100, k)
            soundfile.write(path, np.stack([wave, wave], axis=1), 44100)
        paths.append(path)
    batches, names = _record_batches(monkeypatch)
    out = tmp_path / "p.csv"
    argv = ["--model", export, *paths, "--out", str(out), "--no-progress"]
    argv += ["--max_batch_seconds", "8", "--max_batch_size", "3"]
    assert main(argv) == 0
    assert sorted(names) == paths
    assert not any(r["error"] for r in _read(out))
    for clips, seconds in batches:
        assert clips <= 3
        # a resampled file may be a sample longer than its header says
        assert clips * seconds <= 8.0 + clips / RATE
    assert max(clips for clips, seconds in batches if seconds < 2) == 3
    assert max(clips for clips, seconds in batches if seconds > 2) == 2


def test_batches_of_segments_respect_the_cap(export, tmp_path, monkeypatch):
    """A 60 s timeline of short bursts: with ``--max_batch_seconds 6``
    every batch of segments holds at most 6 s of padded audio, every
    segment is classified once, and batches of several segments occur."""
    rng = np.random.default_rng(0)
    recording = 0.003 * rng.standard_normal(60 * RATE)
    for start in np.arange(1.0, 57.0, 3.0):
        first = int(start * RATE)
        recording[first : first + int(1.2 * RATE)] += _tone(1.2, RATE, 1)
    path = str(tmp_path / "call.wav")
    soundfile.write(path, recording.astype("float32"), RATE)
    batches, names = _record_batches(monkeypatch)
    out = tmp_path / "segments.csv"
    argv = ["--model", export, "--timeline", "--vad", "energy", path]
    argv += ["--out", str(out), "--no-progress", "--max_batch_seconds", "6"]
    assert main(argv) == 0
    rows = _read(out)
    assert len(rows) >= 15 and not any(r["error"] for r in rows)
    assert len(names) == len(set(names)) == len(rows)
    for clips, seconds in batches:
        assert clips == 1 or clips * seconds <= 6.0 + clips / RATE
    assert max(clips for clips, _ in batches) > 1
