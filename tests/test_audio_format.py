"""Telephone audio, read and compared (issue 23, item 2): every reader of
the project (the recipes' training reader, ``GEmoCLAP.load_audio``,
``EmotionClassifierONNX``, timeline segments and detector blocks) reads
8 kHz mu-law, A-law and GSM 06.10 WAV, FLAC and stereo files through the
one resampler (``speechbrain_gemo.audio_format``), so both backends give
the same probabilities within 1e-4 at any rate.

The signals are eSpeak NG speech of the demo corpus, rendered at each
file's own rate.
"""

import numpy as np
import pytest
import soundfile
import torch

pytest.importorskip("onnxruntime")
soxr = pytest.importorskip("soxr")

from speechbrain_gemo import blocks  # noqa: E402
from speechbrain_gemo.audio_format import read_audio  # noqa: E402
from speechbrain_gemo.data.audio import read_utterance  # noqa: E402
from speechbrain_gemo.export import save_tiny_export  # noqa: E402
from speechbrain_gemo.inference import GEmoCLAP  # noqa: E402
from speechbrain_gemo.onnx import export_onnx  # noqa: E402
from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX  # noqa: E402

RATE = 16000

# name: (sample rate, channels, subtype, format)
FILES = {
    "mulaw8k.wav": (8000, 1, "ULAW", "WAV"),
    "alaw8k.wav": (8000, 1, "ALAW", "WAV"),
    "gsm8k.wav": (8000, 1, "GSM610", "WAV"),
    "call_mulaw8k_stereo.wav": (8000, 2, "ULAW", "WAV"),
    "wide16k.flac": (16000, 1, "PCM_16", "FLAC"),
    "stereo44k.flac": (44100, 2, "PCM_24", "FLAC"),
    "stereo44k.wav": (44100, 2, "PCM_16", "WAV"),
    "odd22k.wav": (22050, 1, "FLOAT", "WAV"),
    "studio48k.wav": (48000, 2, "PCM_16", "WAV"),
}


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory):
    """One file per entry of FILES, of eSpeak NG speech rendered at the
    file's rate (stereo: a different utterance on each channel, as a
    call recorder writes them)."""
    from speechbrain_gemo.data.synthetic import (
        ESpeakNG,
        plan_corpus,
        render_utterance,
    )

    folder = tmp_path_factory.mktemp("formats")
    plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=0)
    paths = {}
    with ESpeakNG() as tts:
        for k, (name, (rate, channels, subtype, fmt)) in enumerate(
            FILES.items()
        ):
            voices = [
                render_utterance(plan[(k + c) % len(plan)], tts, rate)
                for c in range(channels)
            ]
            length = min(len(v) for v in voices)
            samples = np.stack([v[:length] for v in voices], axis=1)
            path = str(folder / name)
            soundfile.write(path, samples, rate, subtype=subtype, format=fmt)
            assert soundfile.info(path).subtype == subtype
            paths[name] = path
    return paths


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    export = save_tiny_export(str(folder / "export"))
    onnx_dir = export_onnx(export, str(folder / "onnx"))
    return (
        GEmoCLAP.from_hparams(source=export),
        EmotionClassifierONNX(onnx_dir, precision="fp32"),
    )


def independent(path):
    """soundfile's float32 samples, their channels' mean, soxr HQ to
    16 kHz, each called directly."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    return mono if rate == RATE else soxr.resample(mono, rate, RATE, "HQ")


@pytest.mark.parametrize("name", list(FILES))
def test_every_reader_gives_the_same_samples(name, audio_files, models):
    torch_model, onnx_model = models
    path = audio_files[name]
    expected = independent(path)
    one = read_audio(path, RATE)
    np.testing.assert_allclose(one, expected, atol=1e-6, rtol=0)
    duration = soundfile.info(path).duration
    readers = {
        "recipes' training reader": read_utterance(path, "u", RATE),
        "GEmoCLAP.load_audio": torch_model.load_audio(path),
        "EmotionClassifierONNX.load_audio": onnx_model.load_audio(path),
        "timeline segment (blocks.read_span)": blocks.read_span(
            path, 0.0, duration, RATE
        ),
        "detector blocks (blocks.iter_blocks)": torch.cat(
            list(blocks.iter_blocks(path, RATE))
        ),
    }
    for reader, samples in readers.items():
        if torch.is_tensor(samples):
            samples = samples.cpu().numpy()
        assert samples.dtype == np.float32, reader
        np.testing.assert_array_equal(samples, one, err_msg=reader)


@pytest.mark.parametrize("name", list(FILES))
def test_both_backends_agree_within_1e_4_at_any_rate(name, audio_files, models):
    torch_model, onnx_model = models
    path = audio_files[name]
    torch_probs = torch_model.classify_file(path)[0].numpy()
    onnx_probs = onnx_model.classify_file(path)[0]
    assert np.abs(torch_probs - onnx_probs).max() <= 1e-4
    # in windows too (a window of 0.6 s, overlapping by 0.2 s)
    windows = dict(window_seconds=0.6, overlap_seconds=0.2)
    torch_probs = torch_model.classify_file(path, **windows)[0].numpy()
    onnx_probs = onnx_model.classify_file(path, **windows)[0]
    assert np.abs(torch_probs - onnx_probs).max() <= 1e-4


def test_remote_files_are_fetched_then_read_alike(
    audio_files, models, monkeypatch, tmp_path
):
    """A URL given to GEmoCLAP.load_audio is fetched (SpeechBrain's
    ``fetch``, replaced here by a local copy: the suite is offline) and
    read by the same reader as a local file."""
    import shutil

    from speechbrain_gemo import inference

    torch_model, _ = models
    fetched = []

    def fetch(filename, source, savedir=None):
        fetched.append((source, filename, savedir))
        target = tmp_path / filename
        shutil.copy(audio_files["call_mulaw8k_stereo.wav"], target)
        return target

    monkeypatch.setattr(inference, "fetch", fetch)
    url = "https://example.org/calls/call.wav"
    signal = torch_model.load_audio(url, savedir=str(tmp_path)).numpy()
    assert fetched == [("https://example.org/calls", "call.wav", str(tmp_path))]
    expected = read_audio(audio_files["call_mulaw8k_stereo.wav"], RATE)
    np.testing.assert_array_equal(signal, expected)
