"""The local model folders load offline, directly and through SpeechBrain."""

import os
import socket

import pytest
import torch
import transformers
from speechbrain.integrations.huggingface import (
    HuBERT,
    TextEncoder,
    Wav2Vec2,
    WavLM,
)

from speechbrain_gemo.testing import SSL_KINDS, minilm_path

SB_WRAPPERS = {
    "wavlm": WavLM,
    "hubert": HuBERT,
    "wav2vec2": Wav2Vec2,
    "data2vec": Wav2Vec2,  # AutoModel picks Data2VecAudioModel
}
HF_CLASSES = {
    "wavlm": "WavLMModel",
    "hubert": "HubertModel",
    "wav2vec2": "Wav2Vec2Model",
    "data2vec": "Data2VecAudioModel",
}


def test_hub_is_offline():
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(OSError, match="Network access blocked"):
        socket.create_connection(("8.8.8.8", 53), timeout=1)


@pytest.mark.parametrize("kind", SSL_KINDS)
def test_tiny_ssl_model_loads_and_runs(kind, tiny_ssl_dirs, tmp_path):
    folder = tiny_ssl_dirs[kind]
    model = transformers.AutoModel.from_pretrained(folder)
    assert type(model).__name__ == HF_CLASSES[kind]
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folder)
    assert extractor.sampling_rate == 16000

    wrapper = SB_WRAPPERS[kind](folder, save_path=str(tmp_path), freeze=True)
    wrapper.eval()
    wavs = torch.randn(2, 16000)
    feats = wrapper(wavs, torch.tensor([1.0, 0.5]))
    # 16000 samples through the 320x CNN give 49 frames of the hidden size
    assert feats.shape == (2, 49, model.config.hidden_size)
    assert torch.isfinite(feats).all()


def test_tiny_roberta_loads_and_runs(tiny_roberta_dir, tmp_path):
    model = transformers.AutoModel.from_pretrained(tiny_roberta_dir)
    assert type(model).__name__ == "RobertaModel"
    encoder = TextEncoder(tiny_roberta_dir, save_path=str(tmp_path))
    texts = ["The speaker sounds angry.", "Unseen words: zyxw, qqq, vvv."]
    tokens, hidden = encoder(texts, return_tokens=True)
    assert hidden.shape[:2] == tokens["input_ids"].shape
    assert hidden.shape[-1] == model.config.hidden_size
    # padding is marked in the attention mask of the shorter text
    assert tokens["attention_mask"].sum(1).tolist()[0] < hidden.shape[1]


@pytest.mark.skipif(minilm_path() is None, reason="demo extra not installed")
def test_real_minilm_loads_offline(tmp_path):
    encoder = TextEncoder(minilm_path(), save_path=str(tmp_path))
    hidden = encoder(["The speaker sounds happy.", "The speaker sounds sad."])
    assert hidden.shape[0] == 2 and hidden.shape[-1] == 384
    # real weights: different sentences give clearly different mean vectors
    mean = hidden.mean(1)
    cosine = torch.nn.functional.cosine_similarity(mean[0], mean[1], dim=0)
    # measured: 0.68
    assert 0.3 < cosine.item() < 0.9
