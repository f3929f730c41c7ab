"""GEmoCLAP's outputs against an independent computation: the Hugging Face
models of the export folder called directly, and the stored weights and
embeddings combined with plain torch math (no GEmoCLAP / GEmoCLAPModel
encoder method in the expectations)."""

import math

import numpy as np
import pytest
import soundfile
import torch
import torch.nn.functional as F
import transformers

from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.inference import GEmoCLAP

SR = 16000
# Measured on this export (float32, CPU): the class and the plain
# computation differ by about 1e-7 in embeddings and probabilities
ATOL = 1e-6


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return save_tiny_export(str(tmp_path_factory.mktemp("math") / "export"))


@pytest.fixture(scope="module")
def model(export):
    return GEmoCLAP.from_hparams(source=export)


@pytest.fixture(scope="module")
def plain(export):
    """The export's parts, read without speechbrain_gemo."""
    heads = torch.load(f"{export}/model.ckpt", weights_only=True)
    prompts = torch.load(f"{export}/prompt_embeddings.ckpt", weights_only=True)
    ssl = transformers.AutoModel.from_pretrained(f"{export}/ssl_model").eval()
    text_dir = f"{export}/text_model"
    text = transformers.AutoModel.from_pretrained(text_dir).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(text_dir)

    def linear(prefix):
        """The Linear layer of a linear projection head (dropout aside)."""
        (name,) = [
            k for k in heads if k.startswith(prefix) and k.endswith(".weight")
        ]
        return heads[name], heads[name[: -len("weight")] + "bias"]

    return {
        "heads": heads,
        "prompts": prompts,
        "ssl": ssl,
        "text": text,
        "tokenizer": tokenizer,
        "audio_proj": linear("audio_encoder.projection."),
        "text_proj": linear("text_encoder.projection."),
        "scale": math.exp(min(float(heads["logit_scale"]), math.log(100.0))),
        "gender_scale": math.exp(
            min(float(heads["gender_logit_scale"]), math.log(100.0))
        ),
    }


def _frames_mean(plain, wav):
    """Mean of the last hidden states of one unpadded waveform (normalised
    to zero mean, unit variance, eps 1e-5), and the number of frames."""
    wav = (wav - wav.mean()) / torch.sqrt(wav.var(unbiased=False) + 1e-5)
    with torch.no_grad():
        hidden = plain["ssl"](wav[None]).last_hidden_state[0]
    return hidden.mean(0), hidden.shape[0]


def _project(plain, pooled, which="audio_proj"):
    weight, bias = plain[which]
    return F.normalize(pooled @ weight.T + bias, dim=-1)


def _text_embeddings(plain, texts):
    tokens = plain["tokenizer"](texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        hidden = plain["text"](**tokens).last_hidden_state
    mask = tokens["attention_mask"][..., None].float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return _project(plain, pooled, "text_proj")


def _signal(seconds, seed):
    """A chirp-like test signal whose content changes along time."""
    t = torch.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    f0, f1 = rng.uniform(100, 400), rng.uniform(1000, 3000)
    phase = 2 * math.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    noise = torch.from_numpy(rng.normal(size=len(t)).astype("float32"))
    return 0.3 * torch.sin(phase) * (1 + t) + 0.05 * noise * t


def test_stored_classes_and_gender_against_plain_math(model, plain, tmp_path):
    wavs = [_signal(1.0, 1), _signal(0.7, 2)]
    pooled = torch.stack([_frames_mean(plain, w)[0] for w in wavs])
    audio = _project(plain, pooled)
    emotion = torch.softmax(
        plain["scale"] * audio @ plain["prompts"]["emotion"].T, -1
    )
    gender = torch.softmax(
        plain["gender_scale"] * audio @ plain["prompts"]["gender"].T, -1
    )
    batch = torch.zeros(2, len(wavs[0]))
    batch[0], batch[1, : len(wavs[1])] = wavs[0], wavs[1]
    lens = torch.tensor([1.0, len(wavs[1]) / len(wavs[0])])
    out = model.predict_batch(batch, lens)
    torch.testing.assert_close(out["embeddings"], audio, atol=ATOL, rtol=0)
    torch.testing.assert_close(out["probs"], emotion, atol=ATOL, rtol=0)
    torch.testing.assert_close(out["gender_probs"], gender, atol=ATOL, rtol=0)

    path = str(tmp_path / "one.wav")
    soundfile.write(path, wavs[1].numpy(), SR, subtype="FLOAT")
    from_file = model.predict_file(path)
    assert from_file["gender_lab"] == [("F", "M")[int(gender[1].argmax())]]
    assert from_file["text_lab"] == [model.labels[int(emotion[1].argmax())]]
    torch.testing.assert_close(
        from_file["gender_probs"][0], gender[1], atol=ATOL, rtol=0
    )


def test_stored_prompt_embeddings_are_the_text_towers(plain):
    from speechbrain_gemo.prompts import emotion_prompts

    texts = [ts[0] for ts in emotion_prompts().values()]
    torch.testing.assert_close(
        plain["prompts"]["emotion"],
        _text_embeddings(plain, texts),
        atol=ATOL,
        rtol=0,
    )


def test_zero_shot_ensembles_against_plain_math(model, plain):
    prompts = {
        "calm": "A calm voice.",
        "tense": ["A tense voice.", "A nervous, anxious voice."],
    }
    wav = _signal(1.2, 3)
    texts = _text_embeddings(plain, ["A calm voice.", *prompts["tense"]])
    classes = F.normalize(torch.stack([texts[0], texts[1:].mean(0)]), dim=-1)
    audio = _project(plain, _frames_mean(plain, wav)[0])
    expected = torch.softmax(plain["scale"] * audio @ classes.T, -1)
    probs, score, index, label = model.classify_batch(wav, prompts=prompts)
    torch.testing.assert_close(probs[0], expected, atol=ATOL, rtol=0)
    assert label == [("calm", "tense")[int(expected.argmax())]]


def test_one_pass_of_the_audio_tower(model, tmp_path):
    calls = []
    hf_model = model.mods.model.audio_encoder.ssl_model.model
    handle = hf_model.register_forward_hook(lambda *args: calls.append(1))
    path = str(tmp_path / "a.wav")
    soundfile.write(path, _signal(1.0, 4).numpy(), SR, subtype="FLOAT")
    try:
        out = model.predict_file(path)  # emotion and gender
        assert "gender_lab" in out and len(calls) == 1
        model.classify_file(path, prompts=["calm", "tense"])
        assert len(calls) == 2
        model.classify_batch(torch.randn(3, 8000))
        assert len(calls) == 3
    finally:
        handle.remove()


def test_windows_that_differ_combine_by_frame_weighted_pooling(model, plain):
    # 5 s in 2 s windows overlapping by 0.5 s: starts every 1.5 s, the
    # last window moved back to end at the end (by hand)
    wav = _signal(5.0, 5)
    bounds = [(0, 32000), (24000, 56000), (48000, 80000)]
    means, counts = zip(*(_frames_mean(plain, wav[a:b]) for a, b in bounds))
    pooled = sum(n * m for n, m in zip(counts, means)) / sum(counts)
    expected = _project(plain, pooled)
    got = model.encode_batch(wav, window_seconds=2.0, overlap_seconds=0.5)
    torch.testing.assert_close(got[0], expected, atol=ATOL, rtol=0)

    # the windows differ, so other combinations give other embeddings
    per_window = _project(plain, torch.stack(means))
    assert (per_window[0] - per_window[1]).abs().max() > 100 * ATOL
    averaged = F.normalize(per_window.mean(0), dim=-1)
    assert (averaged - expected).abs().max() > 10 * ATOL
    unwindowed = model.encode_batch(wav, window_seconds=0)[0]
    assert (unwindowed - expected).abs().max() > 10 * ATOL


def _tone(seconds, sample_rate=SR, seed=0):
    """A band-limited test signal (below 2 kHz), defined at any rate."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    freqs = np.random.default_rng(seed).uniform(100, 1900, 12)
    wave = sum(np.sin(2 * np.pi * f * t + f) for f in freqs) / len(freqs)
    return (0.4 * wave).astype("float32")


def test_resampling_and_stereo(model, tmp_path):
    # Measured: 44.1 kHz stereo vs 16 kHz mono of the same tone differ by
    # 1.5e-4 (embeddings) and 1.0e-4 (probabilities); other tones or noise
    # by more than 0.05 and 0.01
    tol = 5e-4
    mono = str(tmp_path / "mono16.wav")
    stereo = str(tmp_path / "stereo44.wav")
    soundfile.write(mono, _tone(1.0), SR, subtype="FLOAT")
    soundfile.write(
        stereo, np.stack([_tone(1.0, 44100)] * 2, 1), 44100, subtype="FLOAT"
    )
    assert model.load_audio(stereo).shape == (SR,)
    reference, resampled = model.predict_file(mono), model.predict_file(stereo)
    for key in ("embeddings", "probs"):
        torch.testing.assert_close(
            resampled[key], reference[key], atol=tol, rtol=0
        )
    other = model.predict_batch(torch.from_numpy(_tone(1.0, seed=1)))
    assert (other["embeddings"] - reference["embeddings"]).abs().max() > tol
    assert (other["probs"] - reference["probs"]).abs().max() > 10 * tol

    # channels are averaged (24-bit FLAC: measured difference 3e-7)
    left, right = _tone(0.5, seed=1), _tone(0.5, seed=2)
    flac = str(tmp_path / "lr.flac")
    soundfile.write(flac, np.stack([left, right], 1), SR, subtype="PCM_24")
    mix = torch.from_numpy((left + right) / 2)
    torch.testing.assert_close(
        model.predict_file(flac)["embeddings"],
        model.encode_batch(mix),
        atol=2e-6,
        rtol=0,
    )
    channels = torch.stack([torch.from_numpy(left), torch.from_numpy(right)], 1)
    torch.testing.assert_close(
        model.encode_batch(channels[None]), model.encode_batch(mix)
    )
