"""Tests of the audio and text towers on the tiny local models."""

import numpy as np
import pytest
import torch
import transformers
from speechbrain.integrations.huggingface import (
    HuBERT,
    TextEncoder,
    Wav2Vec2,
    WavLM,
)

from speechbrain_gemo.lobes import (
    ProjectionHead,
    SSLAudioEncoder,
    TextPromptEncoder,
    cnn_normalises_over_time,
    cnn_per_utterance,
    masked_mean,
    normalize_waveforms,
)
from speechbrain_gemo.testing import (
    SSL_KINDS,
    minilm_path,
    save_tiny_ssl_model,
)

WRAPPERS = {
    "wavlm": WavLM,
    "hubert": HuBERT,
    "wav2vec2": Wav2Vec2,
    "data2vec": Wav2Vec2,  # AutoModel loads data2vec-audio
}
PROMPTS = [
    "The speaker sounds neutral.",
    "The speaker sounds happy.",
    "The speaker sounds angry.",
    "The speaker sounds sad.",
]


def make_ssl(folder, kind="wavlm", **kwargs):
    return WRAPPERS[kind](folder, save_path=folder, **kwargs)


def make_text(folder, freeze=True):
    return TextEncoder(folder, save_path=folder, freeze=freeze)


class CallCounter:
    """Wraps a module's forward, recording the texts of each call."""

    def __init__(self, module):
        self.calls = []
        self._forward = module.forward
        module.forward = self

    def __call__(self, texts, *args, **kwargs):
        self.calls.append(list(texts))
        return self._forward(texts, *args, **kwargs)


def padded_pair(short=5000, long=12000, seed=0):
    """A short utterance alone, and padded in a batch with a longer one."""
    gen = torch.Generator().manual_seed(seed)
    # offset and gain so that waveform normalisation matters
    a = 0.3 * torch.randn(short, generator=gen) + 0.2
    b = torch.randn(long, generator=gen)
    batch = torch.zeros(2, long)
    batch[0, :short] = a
    batch[1] = b
    lens = torch.tensor([short / long, 1.0])
    return a[None], batch, lens


# ---------------------------------------------------------------- utilities


def test_masked_mean_ignores_padding_in_all_forms():
    x = torch.randn(3, 5, 4)
    x[0, 2:] = float("nan")
    x[1, 4:] = 1e6
    lengths = torch.tensor([2, 4, 5])
    expected = torch.stack([x[i, :n].mean(0) for i, n in enumerate(lengths)])
    mask = torch.arange(5)[None] < lengths[:, None]
    torch.testing.assert_close(masked_mean(x, lengths), expected)
    torch.testing.assert_close(masked_mean(x, mask), expected)
    torch.testing.assert_close(masked_mean(x, mask.long()), expected)
    torch.testing.assert_close(masked_mean(x, lengths / 5.0), expected)


def test_masked_mean_rejects_ambiguous_lengths():
    with pytest.raises(ValueError, match="relative"):
        masked_mean(torch.randn(2, 5, 3), torch.tensor([2.0, 5.0]))
    with pytest.raises(ValueError, match="mask shape"):
        masked_mean(torch.randn(2, 5, 3), torch.ones(2, 4, dtype=torch.bool))


def test_normalize_waveforms_matches_hf_feature_extractor():
    wavs = torch.randn(3, 400) * 2 + 1
    lengths = torch.tensor([400, 123, 7])
    expected = transformers.Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm(
        [w.numpy() for w in wavs],
        attention_mask=(
            (np.arange(400)[None] < lengths.numpy()[:, None]).astype(np.int32)
        ),
    )
    ours = normalize_waveforms(wavs, lengths)
    torch.testing.assert_close(
        ours, torch.from_numpy(np.stack(expected)), atol=1e-5, rtol=1e-5
    )


def test_projection_head_variants():
    linear = ProjectionHead(6, 3)
    assert [type(m) for m in linear.layers] == [torch.nn.Linear]
    mlp = ProjectionHead(6, 3, hidden_size=10, dropout=0.1)
    assert [type(m).__name__ for m in mlp.layers] == [
        "Linear",
        "GELU",
        "Dropout",
        "Linear",
    ]
    assert mlp(torch.randn(2, 6)).shape == (2, 3)


# --------------------------------------------------------------- audio tower

# every family with each CNN it has (data2vec-audio: layer norm only)
FAMILY_NORMS = [
    (kind, norm)
    for kind in SSL_KINDS
    for norm in ("group", "layer")
    if not (kind == "data2vec" and norm == "group")
]


@pytest.fixture(scope="module")
def group_norm_dirs(tmp_path_factory):
    """Small random group-norm (base-style) WavLM, HuBERT and wav2vec2."""
    root = tmp_path_factory.mktemp("tiny_ssl_group")
    return {
        kind: save_tiny_ssl_model(
            kind, str(root / kind), feat_extract_norm="group"
        )
        for kind in ("wavlm", "hubert", "wav2vec2")
    }


def ssl_dir(kind, norm, tiny_ssl_dirs, group_norm_dirs):
    """The tiny model folder of a family with a layer- or group-norm CNN."""
    return (group_norm_dirs if norm == "group" else tiny_ssl_dirs)[kind]


def without_dropout(module):
    """Dropout probabilities set to 0, so train mode is deterministic
    (WavLM's attention keeps its probability as a float)."""
    for layer in module.modules():
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.0
        elif isinstance(getattr(layer, "dropout", None), float):
            layer.dropout = 0.0
    return module


@pytest.mark.parametrize("kind,norm", FAMILY_NORMS)
def test_embedding_is_batch_independent_for_every_cnn(
    tiny_ssl_dirs, group_norm_dirs, kind, norm
):
    folder = ssl_dir(kind, norm, tiny_ssl_dirs, group_norm_dirs)
    encoder = SSLAudioEncoder(make_ssl(folder, kind), 8).eval()
    assert cnn_normalises_over_time(encoder.ssl_model.model) == (
        norm == "group"
    )
    assert encoder.per_utterance_cnn == (norm == "group")
    # 1.2 s alone and padded to 2 s beside a longer utterance
    alone, batch, lens = padded_pair(19200, 32000)
    with torch.no_grad():
        single = encoder.pool(alone)
        padded = encoder.pool(batch, lens)
    torch.testing.assert_close(padded[0], single[0], atol=1e-5, rtol=0)

    # the plain batched forward: exact for a layer-norm CNN only
    batched = SSLAudioEncoder(
        make_ssl(folder, kind), 8, per_utterance_cnn=False
    ).eval()
    with torch.no_grad():
        difference = (batched.pool(batch, lens)[0] - single[0]).abs().max()
    if norm == "group":
        assert difference > 1e-2
    else:
        assert difference < 1e-5


def test_group_norm_cnn_is_batch_independent_in_training(group_norm_dirs):
    ssl = make_ssl(group_norm_dirs["wavlm"], output_all_hiddens=True)
    encoder = SSLAudioEncoder(ssl, 8, layer_weighting=True, layernorm=True)
    without_dropout(encoder).train()
    assert encoder.ssl_model.model.training
    with torch.no_grad():
        encoder.layer_weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
    alone, batch, lens = padded_pair(5000, 12000)
    single = encoder(alone)
    padded = encoder(batch, lens)
    torch.testing.assert_close(padded[0], single[0], atol=1e-5, rtol=0)

    # the gradients of the short utterance's embedding are its own too
    params = [
        encoder.ssl_model.model.feature_extractor.conv_layers[0].conv.weight,
        encoder.ssl_model.model.encoder.layers[0].attention.k_proj.weight,
        encoder.layer_weights,
    ]
    alone_grads = torch.autograd.grad(single[0].sum(), params)
    batch_grads = torch.autograd.grad(padded[0].sum(), params)
    for alone_grad, batch_grad in zip(alone_grads, batch_grads):
        assert alone_grad.abs().sum() > 0
        # measured: at most 1.2e-7 apart (largest gradient 0.35)
        torch.testing.assert_close(batch_grad, alone_grad, atol=1e-6, rtol=0)


def test_group_norm_cnn_frozen_runs_per_utterance(group_norm_dirs):
    ssl = make_ssl(
        group_norm_dirs["hubert"], "hubert", freeze_feature_extractor=True
    )
    # LayerDrop (0.1 in the config) would drop different layers per call
    encoder = without_dropout(SSLAudioEncoder(ssl, 8, layerdrop=0.0)).train()
    cnn = ssl.model.feature_extractor
    assert not cnn.training
    alone, batch, lens = padded_pair(7000, 9000)
    single, padded = encoder(alone), encoder(batch, lens)
    torch.testing.assert_close(padded[0], single[0], atol=1e-5, rtol=0)
    padded.sum().backward()
    assert all(p.grad is None for p in cnn.parameters())
    assert ssl.model.encoder.layers[0].attention.q_proj.weight.grad is not None
    # the CNN's own forward is back in place after the call
    assert "forward" not in cnn.__dict__


def test_cnn_per_utterance_orders_groups_and_skips_short_utterances():
    cnn = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, -1)),
        torch.nn.Conv1d(1, 3, 4, 2),
        torch.nn.GroupNorm(3, 3),
    )
    wavs = torch.randn(4, 12)
    samples = torch.tensor([8, 12, 3, 8])
    frames = torch.tensor([3, 5, 0, 3])
    out = cnn_per_utterance(cnn, wavs, samples, frames, total_frames=5)
    assert out.shape == (4, 3, 5)
    for row in (0, 1, 3):
        n, f = samples[row], frames[row]
        expected = cnn(wavs[row : row + 1, :n])[0]
        torch.testing.assert_close(out[row, :, :f], expected)
        assert out[row, :, f:].abs().sum() == 0
    assert out[2].abs().sum() == 0
    # unlike the batched CNN, whose group norm sees the padding
    assert not torch.allclose(cnn(wavs)[0, :, :3], out[0, :, :3])


@pytest.mark.parametrize("kind", SSL_KINDS)
def test_audio_embedding_is_padding_invariant(tiny_ssl_dirs, kind):
    torch.manual_seed(0)
    encoder = SSLAudioEncoder(make_ssl(tiny_ssl_dirs[kind], kind), 8).eval()
    alone, batch, lens = padded_pair()
    with torch.no_grad():
        single = encoder(alone, torch.ones(1))
        padded = encoder(batch, lens)
        no_lens = encoder(alone)
    torch.testing.assert_close(padded[0], single[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(no_lens, single, atol=1e-6, rtol=1e-6)
    # the test can fail: the longer utterance is really different
    assert (padded[1] - single[0]).abs().max() > 1e-2


def test_raw_wrapper_pooling_is_not_padding_invariant(tiny_wavlm_dir):
    """What the tower fixes: the wrapper's batch-wide normalisation."""
    ssl = make_ssl(tiny_wavlm_dir).eval()
    assert ssl.normalize_wav
    alone, batch, lens = padded_pair()
    with torch.no_grad():
        single = ssl(alone).mean(1)
        frames = ssl.model._get_feat_extract_output_lengths(5000)
        padded = ssl(batch, lens)[0, :frames].mean(0)
    assert (padded - single[0]).abs().max() > 1e-3


def test_wrapper_normalisation_replaced_per_utterance(tiny_wavlm_dir):
    ssl = make_ssl(tiny_wavlm_dir)
    encoder = SSLAudioEncoder(ssl, 8).eval()
    assert ssl.normalize_wav is False
    assert encoder.wrapper_normalize_wav and encoder.normalize_wav
    wav = torch.randn(1, 6000)
    with torch.no_grad():
        torch.testing.assert_close(
            encoder(3.0 * wav + 0.5), encoder(wav), atol=1e-5, rtol=1e-5
        )

    raw = SSLAudioEncoder(make_ssl(tiny_wavlm_dir), 8, normalize_wav=False)
    raw.load_state_dict(encoder.state_dict())
    raw.eval()
    assert not raw.normalize_wav
    with torch.no_grad():
        assert (raw(3.0 * wav + 0.5) - raw(wav)).abs().max() > 1e-3


def test_weighted_sum_of_hidden_states(tiny_ssl_dirs):
    for kind in ("wavlm", "wav2vec2"):
        ssl = make_ssl(tiny_ssl_dirs[kind], kind, output_all_hiddens=True)
        encoder = SSLAudioEncoder(ssl, 8, layer_weighting=True).eval()
        wavs = torch.randn(2, 7000)
        with torch.no_grad():
            hiddens = ssl(normalize_waveforms(wavs))
        assert encoder.num_hidden_states == hiddens.shape[0] >= 2
        assert torch.equal(encoder.layer_weights, torch.zeros(len(hiddens)))
        with torch.no_grad():
            pooled = encoder.pool(wavs)
        # zero weights are a plain average of the layers
        torch.testing.assert_close(
            pooled, hiddens.mean(0).mean(1), atol=1e-5, rtol=1e-5
        )

    encoder.train()
    encoder(torch.randn(2, 7000)).sum().backward()
    assert encoder.layer_weights.grad.abs().sum() > 0


def test_weighted_sum_is_padding_invariant_with_layernorm(tiny_wavlm_dir):
    ssl = make_ssl(tiny_wavlm_dir, output_all_hiddens=True)
    encoder = SSLAudioEncoder(ssl, 8, layer_weighting=True, layernorm=True)
    encoder.eval()
    with torch.no_grad():
        encoder.layer_weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
        alone, batch, lens = padded_pair(4000, 9000)
        single, padded = encoder(alone), encoder(batch, lens)
    torch.testing.assert_close(padded[0], single[0], atol=1e-5, rtol=1e-5)


def test_inconsistent_wrapper_options_are_rejected(tiny_wavlm_dir):
    with pytest.raises(ValueError, match="output_all_hiddens=True"):
        SSLAudioEncoder(make_ssl(tiny_wavlm_dir), 8, layer_weighting=True)
    hiddens = make_ssl(tiny_wavlm_dir, output_all_hiddens=True)
    with pytest.raises(ValueError, match="output_all_hiddens=False"):
        SSLAudioEncoder(hiddens, 8)
    with pytest.raises(ValueError, match="output_norm"):
        SSLAudioEncoder(make_ssl(tiny_wavlm_dir, output_norm=True), 8)
    with pytest.raises(TypeError, match="wav2vec 2.0 family"):
        SSLAudioEncoder(torch.nn.Linear(2, 2), 8)


def test_freeze_options(tiny_wavlm_dir):
    frozen = SSLAudioEncoder(make_ssl(tiny_wavlm_dir, freeze=True), 8)
    assert frozen.freeze and frozen.freeze_feature_extractor
    assert not any(p.requires_grad for p in frozen.ssl_model.parameters())
    assert all(p.requires_grad for p in frozen.projection.parameters())
    frozen.train()
    assert frozen.projection.training and not frozen.ssl_model.model.training
    frozen(torch.randn(2, 4000)).sum().backward()
    assert frozen.projection.layers[0].weight.grad is not None

    ssl = make_ssl(tiny_wavlm_dir, freeze_feature_extractor=True)
    cnn_frozen = SSLAudioEncoder(ssl, 8).train()
    assert not cnn_frozen.freeze and cnn_frozen.freeze_feature_extractor
    cnn = ssl.model.feature_extractor
    assert not any(p.requires_grad for p in cnn.parameters())
    assert all(p.requires_grad for p in ssl.model.encoder.parameters())
    assert ssl.model.encoder.training and not cnn.training
    cnn_frozen(torch.randn(2, 4000)).sum().backward()
    assert all(p.grad is None for p in cnn.parameters())
    assert any(p.grad is not None for p in ssl.model.encoder.parameters())

    trainable = SSLAudioEncoder(make_ssl(tiny_wavlm_dir), 8).train()
    assert not trainable.freeze_feature_extractor
    trainable(torch.randn(2, 4000)).sum().backward()
    conv = trainable.ssl_model.model.feature_extractor.conv_layers[0]
    assert conv.conv.weight.grad is not None


# ---------------------------------------------------------------- text tower


def test_text_pooling_matches_direct_hf_computation(tiny_roberta_dir):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_roberta_dir)
    hf = transformers.AutoModel.from_pretrained(tiny_roberta_dir).eval()
    batch = tok(PROMPTS[:2] + ["sad"], return_tensors="pt", padding=True)
    with torch.no_grad():
        states = hf(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    expected_mean = (states * mask).sum(1) / mask.sum(1)
    for pooling, expected in (("mean", expected_mean), ("first", states[:, 0])):
        encoder = TextPromptEncoder(
            make_text(tiny_roberta_dir), 8, pooling=pooling
        )
        with torch.no_grad():
            pooled = encoder.pool(PROMPTS[:2] + ["sad"])
        torch.testing.assert_close(pooled, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(expected_mean, states[:, 0])
    with pytest.raises(ValueError, match="pooling"):
        TextPromptEncoder(make_text(tiny_roberta_dir), 8, pooling="max")


@pytest.mark.parametrize("freeze", [True, False])
def test_text_tower_encodes_each_distinct_text_once(tiny_roberta_dir, freeze):
    encoder = TextPromptEncoder(make_text(tiny_roberta_dir, freeze), 8)
    counter = CallCounter(encoder.text_model)
    labels = [0, 2, 2, 1, 0, 0, 3, 2]
    out = encoder([PROMPTS[i] for i in labels])
    assert out.shape == (8, 8)
    assert counter.calls == [
        PROMPTS[:1] + PROMPTS[2:3] + PROMPTS[1:2] + [PROMPTS[3]]
    ]
    # rows of repeated texts are identical
    torch.testing.assert_close(out[4], out[0])
    assert not torch.allclose(out[0], out[1])


def test_frozen_text_tower_caches_backbone_features(tiny_roberta_dir):
    encoder = TextPromptEncoder(make_text(tiny_roberta_dir, freeze=True), 8)
    encoder.train()
    assert not encoder.text_model.model.training
    counter = CallCounter(encoder.text_model)
    first = encoder(PROMPTS)
    second = encoder(PROMPTS[::-1])
    assert len(counter.calls) == 1
    torch.testing.assert_close(second, first.flip(0))
    encoder(PROMPTS[:2] + ["The speaker is male."])
    assert counter.calls[1] == ["The speaker is male."]
    # the projection head still trains
    encoder(PROMPTS).sum().backward()
    assert encoder.projection.layers[0].weight.grad is not None
    # the cache is no state: not saved, and dropped when weights load
    assert not any("cache" in key for key in encoder.state_dict())
    encoder.load_state_dict(encoder.state_dict())
    assert encoder.prompt_cache == {}
    encoder.text_model.load_state_dict(encoder.text_model.state_dict())
    encoder(PROMPTS)
    assert len(counter.calls) == 3


def test_trainable_text_tower_does_not_cache(tiny_roberta_dir):
    encoder = TextPromptEncoder(make_text(tiny_roberta_dir, freeze=False), 8)
    counter = CallCounter(encoder.text_model)
    encoder(PROMPTS)
    out = encoder(PROMPTS)
    assert len(counter.calls) == 2 and encoder.prompt_cache == {}
    out.sum().backward()
    embeddings = encoder.text_model.model.embeddings.word_embeddings
    assert embeddings.weight.grad is not None


@pytest.mark.skipif(minilm_path() is None, reason="MiniLM not installed")
def test_real_minilm_text_tower(tmp_path):
    text = TextEncoder(minilm_path(), save_path=str(tmp_path), freeze=True)
    encoder = TextPromptEncoder(text, 16)
    assert encoder.hidden_size == 384
    with torch.no_grad():
        pooled = encoder.pool(["The speaker sounds happy.", "A joyful voice."])
        out = encoder(["The speaker sounds happy."])
    assert pooled.shape == (2, 384) and out.shape == (1, 16)
    assert torch.isfinite(pooled).all()
    # a trained sentence encoder: related sentences are close
    cos = torch.nn.functional.cosine_similarity(pooled[0], pooled[1], dim=0)
    assert cos > 0.3  # measured: 0.62


def test_text_word_embeddings_can_stay_fixed(tiny_roberta_dir, tmp_path):
    from speechbrain.integrations.huggingface import TextEncoder

    from speechbrain_gemo.lobes import TextPromptEncoder

    text = TextEncoder(tiny_roberta_dir, save_path=str(tmp_path), freeze=False)
    tower = TextPromptEncoder(text, output_size=8, freeze_word_embeddings=True)
    embeddings = text.model.get_input_embeddings().weight
    assert not embeddings.requires_grad
    tower(
        ["The speaker sounds sad.", "The speaker sounds happy."]
    ).sum().backward()
    assert embeddings.grad is None
    # the rest of the backbone is still fine-tuned
    layer = text.model.encoder.layer[0].attention.self.query.weight
    assert layer.requires_grad and layer.grad is not None


def backbone_params_with_grad(text):
    """Names of the text model's parameters that got a nonzero gradient."""
    return {
        name
        for name, param in text.model.named_parameters()
        if param.grad is not None and param.grad.abs().sum() > 0
    }


def expected_trainable(text, top_layers):
    """Names of the top layers' parameters, from the parameter names."""
    num_layers = text.model.config.num_hidden_layers
    prefixes = tuple(
        f"encoder.layer.{i}."
        for i in range(max(num_layers - top_layers, 0), num_layers)
    )
    return {
        name
        for name, _ in text.model.named_parameters()
        if name.startswith(prefixes)
    }


@pytest.mark.parametrize("top_layers", [None, 0, 1, 2])
def test_text_trainable_layers_roberta(tiny_roberta_dir, top_layers):
    text = make_text(tiny_roberta_dir, freeze=False)
    encoder = TextPromptEncoder(
        text, 8, dropout=0.1, text_trainable_layers=top_layers
    ).train()
    encoder(PROMPTS).sum().backward()
    got = backbone_params_with_grad(text)
    requires_grad = {
        name for name, p in text.model.named_parameters() if p.requires_grad
    }
    if top_layers is None:
        # every parameter but the unused pooler
        expected = {
            name
            for name, _ in text.model.named_parameters()
            if not name.startswith("pooler.")
        }
        assert "embeddings.word_embeddings.weight" in expected
    else:
        expected = expected_trainable(text, top_layers)
    assert got == expected == requires_grad
    assert encoder.projection.layers[1].weight.grad is not None
    layers = text.model.encoder.layer
    if top_layers == 1:
        # the fixed layers and embeddings run without dropout
        assert not layers[0].training and not text.model.embeddings.training
        assert layers[1].training
    assert encoder.freeze == (top_layers == 0)


def test_fixed_text_layers_output_is_cached(tiny_roberta_dir):
    text = make_text(tiny_roberta_dir, freeze=False)
    encoder = TextPromptEncoder(text, 8, text_trainable_layers=1)
    without_dropout(encoder).train()
    layers = text.model.encoder.layer
    calls = {0: 0, 1: 0}
    for index in calls:

        def count(module, args, output, index=index):
            """Counts the layer's forward calls."""
            calls[index] += 1

        layers[index].register_forward_hook(count)
    short = ["sad"]
    full = encoder.pool(PROMPTS + short)  # runs every layer, fills the cache
    assert calls == {0: 1, 1: 1}
    assert sorted(encoder.fixed_layers_cache) == sorted(PROMPTS + short)
    # other batch compositions and paddings: only the top layer runs
    cached = encoder.pool(short + PROMPTS[::-1])
    assert calls == {0: 1, 1: 2}
    torch.testing.assert_close(cached[1:], full[:4].flip(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(cached[0], full[4], atol=1e-5, rtol=0)
    # the same gradients as through the whole model
    top = layers[1].attention.self.query.weight
    (full_grad,) = torch.autograd.grad(encoder.pool(PROMPTS).sum(), top)
    encoder.clear_cache()
    assert encoder.fixed_layers_cache == {}
    (grad,) = torch.autograd.grad(encoder.pool(PROMPTS).sum(), top)
    assert calls[0] == 2 and grad.abs().sum() > 0
    torch.testing.assert_close(full_grad, grad, atol=1e-5, rtol=0)
    # loading weights empties it
    encoder.pool(PROMPTS)
    encoder.load_state_dict(encoder.state_dict())
    assert encoder.fixed_layers_cache == {}


def test_text_trainable_layers_zero_caches_like_frozen(tiny_roberta_dir):
    text = make_text(tiny_roberta_dir, freeze=False)
    encoder = TextPromptEncoder(text, 8, text_trainable_layers=0).train()
    assert not text.model.training
    counter = CallCounter(text)
    encoder(PROMPTS)
    encoder(PROMPTS[::-1])
    assert len(counter.calls) == 1 and len(encoder.prompt_cache) == 4


def test_text_trainable_layers_rejects_bad_values(tiny_roberta_dir):
    with pytest.raises(ValueError, match=">= 0"):
        TextPromptEncoder(
            make_text(tiny_roberta_dir, False), 8, text_trainable_layers=-1
        )
    with pytest.raises(TypeError, match="None or an int"):
        TextPromptEncoder(
            make_text(tiny_roberta_dir, False), 8, text_trainable_layers=1.5
        )
    # a frozen text model trains no layer whatever the setting
    frozen = TextPromptEncoder(
        make_text(tiny_roberta_dir, True), 8, text_trainable_layers=1
    )
    assert frozen.text_trainable_layers is None
    assert not any(p.requires_grad for p in frozen.text_model.parameters())


@pytest.mark.skipif(minilm_path() is None, reason="MiniLM not installed")
def test_text_trainable_layers_bert_minilm(tmp_path):
    text = TextEncoder(minilm_path(), save_path=str(tmp_path), freeze=False)
    assert text.model.config.num_hidden_layers == 6
    encoder = TextPromptEncoder(text, 8, text_trainable_layers=2).train()
    encoder(PROMPTS).sum().backward()
    expected = expected_trainable(text, 2)
    assert {n.split(".")[2] for n in expected} == {"4", "5"}
    assert backbone_params_with_grad(text) == expected
    assert not text.model.encoder.layer[3].training
    assert text.model.encoder.layer[4].training
    # the cached output of the four fixed layers gives the same features
    encoder.eval()
    with torch.no_grad():
        cached = encoder.pool(PROMPTS[::-1])
        encoder.clear_cache()
        full = encoder.pool(PROMPTS)
    torch.testing.assert_close(cached, full.flip(0), atol=1e-5, rtol=0)


def test_one_encoder_shared_by_threads(group_norm_dirs):
    # Servers call one loaded model from several threads: each call's
    # lengths (the per-utterance CNN, the frame mask) must stay its own
    import threading

    encoder = SSLAudioEncoder(make_ssl(group_norm_dirs["wavlm"]), 8).eval()
    batches = [padded_pair(4000 + 1000 * k, 9000) for k in range(4)]
    with torch.no_grad():
        expected = [encoder.pool(batch, lens) for _, batch, lens in batches]
    results, errors = {}, []

    def work(k):
        try:
            _, batch, lens = batches[k % 4]
            with torch.no_grad():
                results[k] = encoder.pool(batch, lens)
        except Exception as error:  # reported below, with its thread
            errors.append((k, error))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for k, pooled in results.items():
        torch.testing.assert_close(pooled, expected[k % 4], atol=1e-6, rtol=0)
    assert "forward" not in encoder.ssl_model.model.feature_extractor.__dict__


@pytest.mark.parametrize("kind", ["wavlm", "data2vec"])
def test_threads_run_the_tower_at_once_each_with_its_lengths(
    group_norm_dirs, tiny_ssl_dirs, kind
):
    # Safe by construction, not by a lock: the calls of four threads are
    # inside the SSL model at the same moment (a barrier there would time
    # out if they ran one at a time), each sees its own lengths, and the
    # CNN's forward is never reassigned. WavLM's group-norm CNN runs per
    # utterance; data2vec's stacked positional convolutions need the
    # frame mask of the call.
    import threading

    from speechbrain_gemo.lobes import current_ssl_call

    folder = (group_norm_dirs if kind == "wavlm" else tiny_ssl_dirs)[kind]
    encoder = SSLAudioEncoder(make_ssl(folder, kind), 8).eval()
    hf_model = encoder.ssl_model.model
    cnn = hf_model.feature_extractor
    cnn_class = type(cnn)
    # lengths differ in valid and in padded samples between the threads
    batches = [padded_pair(4000 + 1100 * k, 9000 + 700 * k) for k in range(4)]
    with torch.no_grad():
        expected = [encoder.pool(batch, lens) for _, batch, lens in batches]

    if kind == "wavlm":
        assert encoder.per_utterance_cnn
        meeting_point = cnn.conv_layers[0]  # inside the per-utterance CNN
    else:
        meeting_point = hf_model.encoder.pos_conv_embed.layers[1]
    barrier = threading.Barrier(len(batches), timeout=60)
    seen, errors = {}, []

    def meet(module, args):
        call = current_ssl_call()
        thread = threading.current_thread().name
        seen.setdefault(thread, []).append(
            (
                call.frame_mask.sum(dim=1).tolist(),
                None if call.cnn is None else call.cnn[0].tolist(),
                "forward" in cnn.__dict__,
                type(cnn) is cnn_class,
            )
        )
        barrier.wait()

    def work(k):
        try:
            _, batch, lens = batches[k]
            with torch.no_grad():
                results[k] = encoder.pool(batch, lens)
        except Exception as error:  # reported below, with its thread
            errors.append((k, error))

    handle = meeting_point.register_forward_pre_hook(meet)
    results = {}
    threads = [
        threading.Thread(target=work, args=(k,), name=str(k))
        for k in range(len(batches))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        handle.remove()
    assert not errors
    assert not barrier.broken
    for k, pooled in results.items():
        torch.testing.assert_close(pooled, expected[k], atol=1e-6, rtol=0)
        _, batch, lens = batches[k]
        samples = torch.round(lens * batch.shape[1]).long()
        frames = encoder.frame_lengths(samples).tolist()
        for frame_counts, cnn_samples, reassigned, same_class in seen[str(k)]:
            assert frame_counts == frames
            if kind == "wavlm":
                assert cnn_samples == samples.tolist()
            assert not reassigned and same_class
    assert len(results) == len(batches)


def test_prepared_cnn_deep_copies(group_norm_dirs):
    # The per-utterance CNN is prepared once, at construction; a copy of
    # the tower keeps it, and the parameters keep their names. (Pickling
    # is not an option: the models' weight-normed positional convolution
    # refuses it.)
    import copy

    encoder = SSLAudioEncoder(make_ssl(group_norm_dirs["hubert"], "hubert"), 8)
    encoder.eval()
    _, batch, lens = padded_pair(5000, 9000)
    with torch.no_grad():
        expected = encoder.pool(batch, lens)
    names = list(encoder.state_dict())
    for other in (copy.deepcopy(encoder),):
        cnn = other.ssl_model.model.feature_extractor
        assert type(cnn) is type(encoder.ssl_model.model.feature_extractor)
        assert cnn is not encoder.ssl_model.model.feature_extractor
        assert list(other.state_dict()) == names
        with torch.no_grad():
            torch.testing.assert_close(
                other.pool(batch, lens), expected, atol=1e-6, rtol=0
            )
