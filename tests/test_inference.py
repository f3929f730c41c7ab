"""GEmoCLAP inference on an export written by a real (tiny) recipe run."""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from speechbrain.dataio.dataio import read_audio
from speechbrain.inference.interfaces import foreign_class

from speechbrain_gemo.data.iemocap import _write_tiny_corpus
from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.inference import (
    AudioInputError,
    ExportLoadError,
    GEmoCLAP,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "IEMOCAP", "gemo_clap")
SR = 16000

pytestmark = pytest.mark.xdist_group("recipe")

# Run in a fresh interpreter with every socket connection refused, before
# anything is imported: loading and classifying must not need the network.
# It then classifies a 20 s and a 3 min file and reports the growth of the
# peak memory between the two.
FRESH_PROCESS = r"""
import json, resource, socket, sys, time

def _refuse(*args, **kwargs):
    raise OSError("network disabled in this test")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
import torch
from speechbrain_gemo.inference import GEmoCLAP

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

export, savedir, paths, short, long = sys.argv[1:]
start = time.time()
model = GEmoCLAP.from_hparams(source=export, savedir=savedir)
load_seconds = time.time() - start
signals = [model.load_audio(p) for p in json.loads(paths)]
lengths = torch.tensor([len(s) for s in signals], dtype=torch.float)
wavs = torch.nn.utils.rnn.pad_sequence(signals, batch_first=True)
out = model.predict_batch(wavs, lengths / lengths.max())
prob, score, index, text_lab = model.classify_batch(
    wavs, lengths / lengths.max()
)
result = {
    "probs": out["probs"].tolist(),
    "classify_probs": prob.tolist(),
    "text_lab": text_lab,
    "labels": list(out["labels"]),
    "label_codes": list(model.label_codes),
    "gender_probs": out["gender_probs"].tolist(),
    "gender_labels": list(out["gender_labels"]),
    "text_model_loaded": model.text_model_loaded,
    "text_model_imported": any("roberta" in name for name in sys.modules),
    "load_seconds": load_seconds,
}
torch.set_num_threads(1)
model.classify_file(short)
after_short = peak_mb()
result["long_probs"] = model.classify_file(long)[0].tolist()
result["growth_mb"] = peak_mb() - after_short
print(json.dumps(result))
"""


def _env():
    return dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")


def _overrides(corpus, output, ssl_dir, text_dir):
    return {
        "data_folder": corpus,
        "output_folder": output,
        "audio_source": ssl_dir,
        "text_source": text_dir,
        "number_of_epochs": 1,
        "batch_size": 4,
        "expected_utterances": None,
        "embedding_dim": 16,
        "num_workers": 0,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_wavlm_dir, tiny_roberta_dir):
    """One tiny ML-GEmo-CLAP training run of the recipe, with its export."""
    root = tmp_path_factory.mktemp("inference")
    corpus, output = str(root / "corpus"), str(root / "out")
    _write_tiny_corpus(corpus)
    overrides = _overrides(corpus, output, tiny_wavlm_dir, tiny_roberta_dir)
    args = [f"--{k}={'null' if v is None else v}" for k, v in overrides.items()]
    command = [sys.executable, "train.py", "hparams/ml_wavlm.yaml", *args]
    result = subprocess.run(
        command + ["--device=cpu"],
        cwd=RECIPE,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(output, "save", "test.json")) as f:
        test = json.load(f)
    wavs = {
        utt: entry["wav"].replace("{data_root}", corpus)
        for utt, entry in test.items()
    }
    return {
        "root": root,
        "export": os.path.join(output, "export"),
        "output": output,
        "overrides": overrides,
        "test_wavs": wavs,
    }


@pytest.fixture(scope="module")
def model(run):
    return GEmoCLAP.from_hparams(source=run["export"])


def _write(path, signal, sample_rate=SR, subtype="FLOAT"):
    signal = np.asarray(signal, dtype="float32")
    soundfile.write(path, signal, sample_rate, subtype=subtype)
    return path


def _tone(seconds, sample_rate=SR, seed=0):
    """A band-limited test signal (below 2 kHz), defined at any rate."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    freqs = np.random.default_rng(seed).uniform(100, 1900, 12)
    wave = sum(np.sin(2 * np.pi * f * t + f) for f in freqs) / len(freqs)
    return (0.4 * wave * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))).astype(
        "float32"
    )


@pytest.fixture(scope="module")
def fresh(run):
    """What the fresh, offline process printed (see FRESH_PROCESS)."""
    root = run["root"]
    short = _write(root / "20s.wav", _tone(20.0, seed=6), subtype="PCM_16")
    long = root / "180s.wav"
    soundfile.write(long, np.tile(_tone(20.0, seed=6), 9), SR, "PCM_16")
    utts = sorted(run["test_wavs"])
    paths = [run["test_wavs"][u] for u in utts]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            run["export"],
            str(root / "savedir"),
            json.dumps(paths),
            str(short),
            str(long),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        cwd=str(root),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["utts"], out["paths"] = utts, paths
    return out


@pytest.mark.slow
def test_fresh_offline_process_matches_brain_model(run, fresh):
    from hyperpyyaml import load_hyperpyyaml

    utts, paths = fresh["utts"], fresh["paths"]
    # classification used the cached prompt embeddings only
    assert fresh["text_model_loaded"] is False
    assert fresh["text_model_imported"] is False  # not even imported
    assert fresh["labels"] == ["neutral", "happy", "angry", "sad"]
    assert fresh["probs"] == fresh["classify_probs"]

    # The training-time model: recipe hparams + the best checkpoint
    with open(os.path.join(RECIPE, "hparams", "ml_wavlm.yaml")) as fin:
        hparams = load_hyperpyyaml(fin, run["overrides"])
    assert hparams["checkpointer"].recover_if_possible(max_key="UAR")
    reference = hparams["model"].eval()
    signals = [read_audio(p) for p in paths]
    lengths = torch.tensor([len(s) for s in signals], dtype=torch.float)
    wavs = torch.nn.utils.rnn.pad_sequence(signals, batch_first=True)
    with torch.no_grad():
        expected = reference.predict_emotion(wavs, lengths / lengths.max())
        gender = reference.predict_gender(wavs, lengths / lengths.max())
    torch.testing.assert_close(
        torch.tensor(fresh["probs"]), expected, atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        torch.tensor(fresh["gender_probs"]), gender, atol=1e-5, rtol=0
    )
    labels = fresh["labels"]
    assert fresh["text_lab"] == [labels[i] for i in expected.argmax(-1)]

    # ... and the Brain's own test predictions (printed to 6 decimals)
    with open(os.path.join(run["output"], "test_predictions.csv")) as f:
        brain_rows = {r["ID"]: r for r in csv.DictReader(f)}
    # (whose columns are the manifests' codes, in the same order)
    assert fresh["label_codes"] == ["neu", "hap", "ang", "sad"]
    for utt, probs in zip(utts, fresh["probs"]):
        brain = [float(brain_rows[utt][c]) for c in fresh["label_codes"]]
        assert probs == pytest.approx(brain, abs=2e-6)


def test_foreign_class_and_savedir(run, model, tmp_path):
    wav = run["test_wavs"][sorted(run["test_wavs"])[0]]
    expected = model.classify_file(wav)[0]
    savedir = str(tmp_path / "savedir")
    loaded = foreign_class(
        source=run["export"],
        pymodule_file="custom_interface.py",
        classname="GEmoCLAP",
        savedir=savedir,
    )
    assert type(loaded).__name__ == "GEmoCLAP"
    assert loaded.export_folder == os.path.abspath(run["export"])
    torch.testing.assert_close(loaded.classify_file(wav)[0], expected)

    # A savedir reused for another folder serves that folder, not the old
    # links
    first = GEmoCLAP.from_hparams(source=run["export"], savedir=savedir)
    other = save_tiny_export(str(tmp_path / "other"), gender=False, seed=3)
    second = GEmoCLAP.from_hparams(source=other, savedir=savedir)
    assert first.has_gender and not second.has_gender
    assert second.export_folder == other


def test_stored_prompts_need_no_text_model(run):
    model = GEmoCLAP.from_hparams(source=run["export"])
    wav = run["test_wavs"][sorted(run["test_wavs"])[0]]
    out = model.predict_file(wav)
    assert out["labels"] == ("neutral", "happy", "angry", "sad")
    assert out["gender_labels"] == ("F", "M")
    assert out["probs"].sum().item() == pytest.approx(1.0)
    assert out["gender_probs"].sum().item() == pytest.approx(1.0)
    # the stored prompts, even passed explicitly, hit the cache
    model.classify_file(wav, prompts=model.stored_prompts["emotion"])
    assert not model.text_model_loaded
    emb = model.encode_batch(read_audio(wav))
    assert emb.shape == (1, 16)
    assert emb.norm(dim=-1).item() == pytest.approx(1.0)


def test_zero_shot_prompts(run, model):
    wav = run["test_wavs"][sorted(run["test_wavs"])[0]]
    prompts = {
        "calm": "A calm voice.",
        "tense": ["A tense voice.", "A nervous, anxious voice."],
    }
    probs, score, index, text_lab = model.classify_file(wav, prompts=prompts)
    assert probs.shape == (1, 2) and text_lab[0] in prompts
    assert model.text_model_loaded

    # the scores themselves: tests/test_inference_math.py

    # the lazily built text tower reproduces the exported prompt embeddings
    stored = torch.load(
        os.path.join(run["export"], "prompt_embeddings.ckpt"),
        weights_only=True,
    )
    fresh = model.mods.model.encode_prompts(model.stored_prompts["emotion"])
    torch.testing.assert_close(fresh, stored["emotion"], atol=1e-5, rtol=0)

    # new default classes, then back
    model.set_prompts({"low": "A sad, quiet voice.", "high": "A loud voice."})
    assert model.labels == ("low", "high")
    assert model.classify_file(wav)[3][0] in ("low", "high")
    model.reset_prompts()
    assert model.labels == ("neutral", "happy", "angry", "sad")
    with pytest.raises(ValueError, match="non-empty"):
        model.classify_file(wav, prompts={"x": []})


def test_bad_audio_errors_name_the_file(model, tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x01garbage" * 10)
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.write_bytes(b"")
    empty = _write(tmp_path / "empty.wav", np.zeros(0))
    short = _write(tmp_path / "short.wav", _tone(0.02))  # 320 samples
    nan = _write(tmp_path / "nan.wav", np.full(800, np.nan))
    cases = {
        corrupt: "cannot read audio",
        zero_bytes: "cannot read audio",
        empty: "no audio samples",
        short: "shorter than the model's receptive field of 400 samples",
        nan: "NaN",
        tmp_path / "missing.wav": "no such file",
    }
    for path, reason in cases.items():
        with pytest.raises(AudioInputError, match=reason) as info:
            model.classify_file(str(path))
        assert info.value.path == str(path)
        assert str(path) in str(info.value)
    # exactly the receptive field is enough
    exact = _write(tmp_path / "exact.wav", _tone(400 / SR))
    assert model.classify_file(str(exact))[0].shape == (1, 4)
    wavs = torch.randn(2, 8000)
    with pytest.raises(AudioInputError, match="batch item 1"):
        model.classify_batch(wavs, torch.tensor([1.0, 0.04]))


def test_windows_of_a_repeated_segment_match_the_segment(model):
    segment = torch.from_numpy(_tone(2.0, seed=4))
    single = model.encode_batch(segment)
    long = segment.repeat(3)
    windowed = model.encode_batch(long, window_seconds=2.0, overlap_seconds=0)
    torch.testing.assert_close(windowed, single, atol=1e-5, rtol=0)
    # not split when the window covers the audio
    whole = model.encode_batch(long, window_seconds=0)
    torch.testing.assert_close(
        model.encode_batch(long, window_seconds=6.0), whole
    )
    # a batch mixing long (windowed) and short items: the short ones are
    # embedded as on their own
    short = torch.from_numpy(_tone(0.7, seed=5))
    batch = torch.zeros(2, len(long))
    batch[0], batch[1, : len(short)] = long, short
    lens = torch.tensor([1.0, len(short) / len(long)])
    mixed = model.encode_batch(
        batch, lens, window_seconds=2.0, overlap_seconds=0
    )
    torch.testing.assert_close(mixed[0], single[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(
        mixed[1], model.encode_batch(short)[0], atol=1e-5, rtol=0
    )


@pytest.mark.slow
def test_long_file_memory_is_bounded_by_the_window(fresh):
    # 9x the audio of the 20 s file: only the waveform buffers grow (about
    # 12 MB of float32 per copy), not the SSL activations (>400 MB for 60 s
    # unwindowed)
    assert fresh["growth_mb"] < 80, fresh["growth_mb"]
    assert sum(fresh["long_probs"][0]) == pytest.approx(1.0, abs=1e-5)


def _damaged_copy(export, tmp_path):
    copy = str(tmp_path / "damaged")
    shutil.copytree(export, copy)
    return copy


@pytest.mark.parametrize("name", ["model.ckpt", "prompt_embeddings.ckpt"])
def test_damaged_checkpoint_is_named(run, tmp_path, name):
    copy = _damaged_copy(run["export"], tmp_path)
    path = os.path.join(copy, name)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(ExportLoadError, match=name) as info:
        GEmoCLAP.from_hparams(source=copy)
    assert info.value.path == path
    assert "damaged" in str(info.value)


class _NotATensor:
    pass


def test_checkpoints_load_weights_only(run, tmp_path):
    copy = _damaged_copy(run["export"], tmp_path)
    path = os.path.join(copy, "model.ckpt")
    state = torch.load(path, weights_only=True)
    torch.save(dict(state, extra=_NotATensor()), path)
    with pytest.raises(ExportLoadError, match="model.ckpt.*damaged or not"):
        GEmoCLAP.from_hparams(source=copy)

    # tensors of the wrong shape are a mismatch, named too
    path = os.path.join(copy, "prompt_embeddings.ckpt")
    torch.save(state, os.path.join(copy, "model.ckpt"))
    torch.save({"emotion": torch.zeros(3, 16)}, path)
    with pytest.raises(ExportLoadError, match="prompt_embeddings.ckpt"):
        GEmoCLAP.from_hparams(source=copy)


def test_damaged_ssl_model_is_named(run, tmp_path):
    copy = _damaged_copy(run["export"], tmp_path)
    weights = os.path.join(copy, "ssl_model", "model.safetensors")
    with open(weights, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ExportLoadError, match="ssl_model"):
        GEmoCLAP.from_hparams(source=copy)
    os.remove(weights)
    with pytest.raises(ExportLoadError, match="weights .* are missing"):
        GEmoCLAP.from_hparams(source=copy)


def test_sources_that_are_not_there():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GEmoCLAP.from_hparams(source="/no/such/export")
    # a hub model, offline: a clear error, no traceback from deep inside
    with pytest.raises(OSError, match="downloading hf://nobody-here/no-such"):
        GEmoCLAP.from_hparams(source="hf://nobody-here/no-such-gemo-model")


def test_export_round_trip_of_other_settings(
    tiny_ssl_dirs, tiny_roberta_dir, tmp_path
):
    """Layer weighting, MLP heads, first-token pooling, data2vec, no gender:
    the export rebuilds the trained layout."""
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from speechbrain_gemo.export import export_for_inference
    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel

    ssl_dir = tiny_ssl_dirs["data2vec"]
    torch.manual_seed(0)
    trained = GEmoCLAPModel(
        SSLAudioEncoder(
            Wav2Vec2(ssl_dir, save_path=ssl_dir, output_all_hiddens=True),
            12,
            layer_weighting=True,
            projection_hidden_size=24,
            layernorm=True,
        ),
        TextPromptEncoder(
            TextEncoder(tiny_roberta_dir, save_path=tiny_roberta_dir),
            12,
            pooling="first",
            projection_hidden_size=20,
            dropout=0.2,
        ),
        {"calm": ["A calm voice.", "Calm."], "tense": ["A tense voice."]},
    )
    with torch.no_grad():
        trained.audio_encoder.layer_weights.normal_()
    trained.eval()
    encoder = CategoricalEncoder()
    encoder.update_from_iterable(["calm", "tense"])
    folder = export_for_inference(
        trained,
        encoder,
        {"objective": "emo", "sample_rate": SR},
        tmp_path / "m",
    )
    loaded = GEmoCLAP.from_hparams(source=folder)
    assert loaded.labels == ("calm", "tense") and not loaded.has_gender
    wavs, lens = torch.randn(3, 9000), torch.tensor([1.0, 0.5, 0.8])
    with torch.no_grad():
        expected = trained.predict_emotion(wavs, lens)
        texts = trained.encode_text(["A sad voice."])
    torch.testing.assert_close(
        loaded.classify_batch(wavs, lens)[0], expected, atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        loaded.encode_text(["A sad voice."]), texts, atol=1e-5, rtol=0
    )


def test_inference_builds_no_graph(model):
    # SSL weights keep requires_grad (a faster CPU matmul path, see
    # bench/README.md), but no call may build an autograd graph
    ssl = model.mods.model.audio_encoder.ssl_model
    assert all(p.requires_grad for p in ssl.parameters())
    wavs = torch.from_numpy(_tone(1.0)).unsqueeze(0)
    probs, score, index, label = model.classify_batch(wavs)
    assert not probs.requires_grad and probs.grad_fn is None
    assert model.encode_batch(wavs).grad_fn is None
