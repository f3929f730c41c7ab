"""Tests of the GEmo-CLAP model object on the tiny local models."""

import math

import pytest
import torch
import torch.nn.functional as F
from speechbrain.integrations.huggingface import TextEncoder, WavLM

from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
from speechbrain_gemo.losses import GEmoCLAPLoss
from speechbrain_gemo.model import GEmoCLAPModel, class_probabilities
from speechbrain_gemo.prompts import (
    EMOTIONS,
    GENDERS,
    emotion_prompts,
    gender_prompts,
)


class CallCounter:
    """Wraps a module's forward, recording the texts of each call."""

    def __init__(self, module):
        self.calls = []
        self._forward = module.forward
        module.forward = self

    def __call__(self, texts, *args, **kwargs):
        self.calls.append(list(texts))
        return self._forward(texts, *args, **kwargs)


def make_model(
    ssl_dir,
    text_dir,
    gender=True,
    freeze_text=True,
    freeze_audio=False,
    **kwargs,
):
    torch.manual_seed(0)
    audio = SSLAudioEncoder(
        WavLM(ssl_dir, save_path=ssl_dir, freeze=freeze_audio), 16
    )
    text = TextPromptEncoder(
        TextEncoder(text_dir, save_path=text_dir, freeze=freeze_text), 16
    )
    return GEmoCLAPModel(
        audio,
        text,
        emotion_prompts(),
        gender_prompts() if gender else None,
        **kwargs,
    )


@pytest.fixture
def model(tiny_wavlm_dir, tiny_roberta_dir):
    return make_model(tiny_wavlm_dir, tiny_roberta_dir)


def batch(n=6, seed=0, samples=8000):
    gen = torch.Generator().manual_seed(seed)
    wavs = torch.randn(n, samples, generator=gen)
    lens = torch.linspace(0.5, 1.0, n)
    padding = torch.arange(samples)[None] >= (lens[:, None] * samples).round()
    wavs[padding] = 0
    return wavs, lens


def assert_unit_rows(x):
    torch.testing.assert_close(x.norm(dim=-1), torch.ones(len(x)))


def test_logit_scales_init_and_clamp(model):
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-6)
    assert model.gender_scale().item() == pytest.approx(1 / 0.07, rel=1e-6)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
        model.gender_logit_scale.fill_(2.0)
    scale = model.scale()
    assert scale.item() == pytest.approx(100.0, rel=1e-6)
    scale.backward()
    assert model.logit_scale.grad.item() == 0.0
    model.clamp_logit_scales_()
    assert model.logit_scale.item() == pytest.approx(math.log(100.0))
    assert model.gender_logit_scale.item() == 2.0  # under the cap: kept
    # below the cap the gradient flows
    model.gender_scale().backward()
    assert model.gender_logit_scale.grad.item() == pytest.approx(math.exp(2))


def test_gender_scale_is_capped_like_the_emotion_one(model):
    """A gender logit scale above the cap: scored at the cap (100, as in
    CLIP) in training and prediction, no gradient past it, and clamped
    back in place; the emotion scale below the cap is left alone."""
    with torch.no_grad():
        model.logit_scale.fill_(1.0)
        model.gender_logit_scale.fill_(10.0)  # exp(10) = 22026 uncapped
    model.eval()
    gender_scale = model.gender_scale()
    assert gender_scale.item() == pytest.approx(100.0, rel=1e-6)
    gender_scale.backward()
    assert model.gender_logit_scale.grad.item() == 0.0
    wavs, lens = batch(n=3)
    with torch.no_grad():
        out = model(wavs, lens)
        assert out["gender_scale"].item() == pytest.approx(100.0, rel=1e-6)
        assert out["scale"].item() == pytest.approx(math.e, rel=1e-6)
        # the probabilities by hand, at the cap
        similarities = out["audio_emb"] @ out["gender_prompt_emb"].T
        torch.testing.assert_close(
            model.predict_gender(wavs, lens),
            F.softmax(100.0 * similarities, dim=-1),
        )
    model.clamp_logit_scales_()
    assert model.gender_logit_scale.item() == pytest.approx(math.log(100.0))
    assert model.logit_scale.item() == 1.0  # under the cap: kept


def test_custom_temperature_and_cap(tiny_wavlm_dir, tiny_roberta_dir):
    model = make_model(
        tiny_wavlm_dir,
        tiny_roberta_dir,
        gender=False,
        init_temperature=0.5,
        max_logit_scale=1.5,
    )
    assert model.logit_scale.item() == pytest.approx(math.log(2.0))
    assert model.scale().item() == pytest.approx(1.5)
    assert model.gender_logit_scale is None
    assert "gender_logit_scale" not in model.state_dict()
    model.clamp_logit_scales_()
    assert model.logit_scale.item() == pytest.approx(math.log(1.5))
    with pytest.raises(ValueError, match="init_temperature"):
        make_model(tiny_wavlm_dir, tiny_roberta_dir, init_temperature=0)


def test_labels_follow_prompt_order(model, tiny_wavlm_dir, tiny_roberta_dir):
    assert model.emotion_labels == EMOTIONS
    assert model.gender_labels == GENDERS
    plain = make_model(tiny_wavlm_dir, tiny_roberta_dir, gender=False)
    assert plain.gender_labels == () and not plain.has_gender


def test_encodings_are_unit_norm(model):
    wavs, lens = batch()
    assert_unit_rows(model.encode_audio(wavs, lens))
    assert_unit_rows(model.encode_text(["The speaker sounds sad.", "sad"]))
    emo = model.emotion_prompt_embeddings()
    assert emo.shape == (4, 16)
    assert_unit_rows(emo)
    assert_unit_rows(model.gender_prompt_embeddings())


def test_prompt_ensembling_is_one_call_and_averages_normalised(
    tiny_wavlm_dir, tiny_roberta_dir
):
    model = make_model(tiny_wavlm_dir, tiny_roberta_dir, freeze_text=False)
    model.eval()
    prompts = {
        "a": ["A happy voice.", "The speaker sounds happy."],
        "b": ["The speaker sounds happy.", "sad"],
        "c": ["sad"],
    }
    counter = CallCounter(model.text_encoder.text_model)
    with torch.no_grad():
        classes = model.encode_prompts(prompts)
    assert counter.calls == [
        ["A happy voice.", "The speaker sounds happy.", "sad"]
    ]
    with torch.no_grad():
        x, y, z = (
            F.normalize(model.text_encoder([t]), dim=-1)[0]
            for t in ("A happy voice.", "The speaker sounds happy.", "sad")
        )
    expected = torch.stack(
        [
            F.normalize((x + y) / 2, dim=0),
            F.normalize((y + z) / 2, dim=0),
            z,
        ]
    )
    torch.testing.assert_close(classes, expected, atol=1e-5, rtol=1e-5)
    assert_unit_rows(classes)
    # ensembling is not a no-op
    assert not torch.allclose(classes[0], y, atol=1e-3)


def test_training_step_encodes_k_prompts_not_n(
    tiny_wavlm_dir, tiny_roberta_dir
):
    model = make_model(tiny_wavlm_dir, tiny_roberta_dir, freeze_text=False)
    counter = CallCounter(model.text_encoder.text_model)
    wavs, lens = batch(n=6)
    out = model(wavs, lens)
    assert [len(c) for c in counter.calls] == [4, 2]
    assert out["audio_emb"].shape == (6, 16)
    assert out["emotion_prompt_emb"].shape == (4, 16)
    assert out["gender_prompt_emb"].shape == (2, 16)
    loss = GEmoCLAPLoss("ml")(
        out["audio_emb"],
        out["emotion_prompt_emb"],
        torch.tensor([0, 1, 2, 3, 0, 0]),
        out["scale"],
        torch.tensor([0, 1, 1, 0, 1, 0]),
        out["gender_prompt_emb"],
        out["gender_scale"],
    )
    loss.backward()
    for param in (
        model.logit_scale,
        model.gender_logit_scale,
        model.audio_encoder.projection.layers[0].weight,
        model.text_encoder.projection.layers[0].weight,
        model.text_encoder.text_model.model.embeddings.word_embeddings.weight,
    ):
        assert param.grad is not None and torch.isfinite(param.grad).all()


def test_frozen_text_tower_runs_once_over_steps(
    tiny_wavlm_dir, tiny_roberta_dir
):
    model = make_model(
        tiny_wavlm_dir, tiny_roberta_dir, freeze_text=True, freeze_audio=True
    )
    model.train()
    assert model.audio_encoder.projection.training
    assert not model.audio_encoder.ssl_model.model.training
    assert not model.text_encoder.text_model.model.training
    counter = CallCounter(model.text_encoder.text_model)
    wavs, lens = batch(n=3)
    model(wavs, lens)
    model(wavs, lens)
    model.predict_emotion(wavs, lens)
    assert [len(c) for c in counter.calls] == [4, 2]


def _plain_probabilities(model, ssl_dir, text_dir, wavs, lens, prompts):
    """Class probabilities computed without the model's methods: the
    Hugging Face models called directly on each unpadded waveform and
    prompt, the model's projection weights and logit scale, plain math."""
    import transformers

    state = model.state_dict()

    def project(pooled, prefix):
        """The linear projection head (dropout aside), then unit norm."""
        (name,) = [
            k for k in state if k.startswith(prefix) and k.endswith(".weight")
        ]
        bias = state[name[: -len("weight")] + "bias"]
        return F.normalize(pooled @ state[name].T + bias, dim=-1)

    ssl = transformers.AutoModel.from_pretrained(ssl_dir).eval()
    text = transformers.AutoModel.from_pretrained(text_dir).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(text_dir)
    with torch.no_grad():
        pooled = []
        for wav, rel in zip(wavs, lens):
            wav = wav[: int(round(float(rel) * wavs.shape[1]))]
            wav = (wav - wav.mean()) / torch.sqrt(wav.var(False) + 1e-5)
            pooled.append(ssl(wav[None]).last_hidden_state[0].mean(0))
        audio = project(torch.stack(pooled), "audio_encoder.projection.")
        classes = []
        for texts in prompts.values():
            tokens = tokenizer(texts, return_tensors="pt", padding=True)
            hidden = text(**tokens).last_hidden_state
            mask = tokens["attention_mask"][..., None].float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            emb = project(pooled, "text_encoder.projection.")
            classes.append(F.normalize(emb.mean(0), dim=0))
    scale = math.exp(min(float(state["logit_scale"]), math.log(100.0)))
    logits = scale * audio.double() @ torch.stack(classes).double().T
    return torch.softmax(logits, dim=-1).float()


def test_predictions(model, tiny_wavlm_dir, tiny_roberta_dir):
    model.eval()
    wavs, lens = batch(n=4)
    with torch.no_grad():
        probs = model.predict_emotion(wavs, lens)
        both = model.predict(wavs, lens)
        gender = model.predict_gender(wavs, lens)
    expected = _plain_probabilities(
        model, tiny_wavlm_dir, tiny_roberta_dir, wavs, lens, emotion_prompts()
    )
    assert probs.shape == (4, 4) and gender.shape == (4, 2)
    torch.testing.assert_close(probs.sum(-1), torch.ones(4))
    # measured: 1.5e-7 apart
    torch.testing.assert_close(probs, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(both["emotion"], probs)
    torch.testing.assert_close(both["gender"], gender)
    with torch.no_grad():
        zero_shot = model.predict_emotion(
            wavs, lens, prompts={"calm": ["calm"], "loud": ["loud", "LOUD"]}
        )
    assert zero_shot.shape == (4, 2)


def test_predictions_are_padding_invariant(model):
    model.eval()
    wavs, lens = batch(n=3)
    with torch.no_grad():
        padded = model.predict(wavs, lens)
        n = int(round(lens[0].item() * wavs.shape[1]))
        alone = model.predict(wavs[:1, :n])
    for key in ("emotion", "gender"):
        torch.testing.assert_close(
            padded[key][0], alone[key][0], atol=1e-5, rtol=1e-5
        )


def test_gender_needs_gender_prompts(tiny_wavlm_dir, tiny_roberta_dir):
    model = make_model(tiny_wavlm_dir, tiny_roberta_dir, gender=False)
    wavs, lens = batch(n=2)
    for call in (
        lambda: model.predict_gender(wavs, lens),
        model.gender_prompt_embeddings,
        model.gender_scale,
    ):
        with pytest.raises(RuntimeError, match="no gender prompts"):
            call()
    assert set(model(wavs, lens)) == {
        "audio_emb",
        "emotion_prompt_emb",
        "scale",
    }
    assert set(model.predict(wavs, lens)) == {"emotion"}


def test_class_probabilities_hand_values():
    audio = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    classes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    probs = class_probabilities(audio, classes, 10.0)
    # row 2: softmax(6, 8) = (1, e^2) / (1 + e^2)
    e2 = math.exp(2.0)
    expected = [
        [1 / (1 + math.exp(-10)), math.exp(-10) / (1 + math.exp(-10))],
        [1 / (1 + e2), e2 / (1 + e2)],
    ]
    torch.testing.assert_close(probs, torch.tensor(expected))


def test_prompt_validation(tiny_wavlm_dir, tiny_roberta_dir, model):
    with pytest.raises(ValueError, match="non-empty dict"):
        GEmoCLAPModel(model.audio_encoder, model.text_encoder, {})
    with pytest.raises(ValueError, match="non-empty list"):
        GEmoCLAPModel(model.audio_encoder, model.text_encoder, {"neu": []})
    single = GEmoCLAPModel(
        model.audio_encoder, model.text_encoder, {"neu": "neutral"}
    )
    assert single.emotion_prompts == {"neu": ["neutral"]}


def test_state_dict_round_trip(tiny_wavlm_dir, tiny_roberta_dir):
    trained = make_model(tiny_wavlm_dir, tiny_roberta_dir)
    with torch.no_grad():
        trained.logit_scale.fill_(3.0)
        trained.audio_encoder.projection.layers[0].weight.mul_(2.0)
    fresh = make_model(tiny_wavlm_dir, tiny_roberta_dir)
    fresh.load_state_dict(trained.state_dict())
    trained.eval(), fresh.eval()
    wavs, lens = batch(n=2)
    with torch.no_grad():
        torch.testing.assert_close(
            fresh.predict_emotion(wavs, lens),
            trained.predict_emotion(wavs, lens),
        )


def test_few_steps_reduce_the_loss(tiny_wavlm_dir, tiny_roberta_dir):
    model = make_model(
        tiny_wavlm_dir, tiny_roberta_dir, gender=False, freeze_audio=True
    )
    loss_fn = GEmoCLAPLoss("emo")
    emo = torch.tensor([0, 1, 2, 3, 0, 1])
    wavs, lens = batch(n=6, samples=3200)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=0.01)
    losses = []
    for _ in range(12):
        out = model(wavs, lens)
        loss = loss_fn(
            out["audio_emb"],
            out["emotion_prompt_emb"],
            emo,
            out["scale"],
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.clamp_logit_scales_()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
