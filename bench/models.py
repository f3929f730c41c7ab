"""The benchmark's models: random-weight Hugging Face models saved from
their configurations, the GEmo-CLAP model and its export, and the two
inference sides (``GEmoCLAP.classify_batch`` and the bare forward).

Authors
 * speechbrain-gemo developers 2026
"""

import json
import os
import shutil

from bench.common import BENCH_VERSION, FROM_RECIPE, SAMPLE_RATE, autocast


def _matches(folder, signature):
    """Whether ``folder`` was built with ``signature`` (a cache hit)."""
    path = os.path.join(folder, "bench_signature.json")
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        return json.load(f) == signature


def _sign(folder, signature):
    """Records the signature a folder was built with."""
    with open(os.path.join(folder, "bench_signature.json"), "w") as f:
        json.dump(signature, f, indent=1, sort_keys=True)


def _read_signature(folder):
    """The signature a folder was built with."""
    with open(os.path.join(folder, "bench_signature.json")) as f:
        return json.load(f)


def _signature(kind, overrides):
    """What a cached model depends on: its kind, config overrides and the
    versions of transformers and of the benchmark."""
    import transformers

    return {
        "kind": kind,
        "overrides": json.loads(json.dumps(overrides)),
        "transformers": transformers.__version__,
        "bench_version": BENCH_VERSION,
    }


def save_ssl_model(folder, overrides, seed=0):
    """Saves a random WavLM built from ``WavLMConfig(**overrides)`` with a
    feature-extractor config, unless the folder already holds it.

    Arguments
    ---------
    folder : str
        Output folder.
    overrides : dict
        Config overrides (empty: WavLM-base).
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The folder.
    """
    import torch
    import transformers

    signature = _signature("wavlm", overrides)
    if _matches(folder, signature):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    torch.manual_seed(seed)
    model = transformers.WavLMModel(transformers.WavLMConfig(**overrides))
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(folder)
    _sign(folder, signature)
    return folder


def save_text_model(folder, overrides, seed=0):
    """Saves a random RoBERTa built from ``RobertaConfig(**overrides)`` with
    a working byte-level BPE tokenizer, unless the folder already holds it.

    The tokenizer is the small one of
    ``speechbrain_gemo.testing.save_tiny_text_model`` (it tokenises any
    English text); the model keeps its configured vocabulary size, so the
    embedding matrix, its gradient and its optimiser state have their real
    size.

    Arguments
    ---------
    folder : str
        Output folder.
    overrides : dict
        Config overrides (empty: RoBERTa-base).
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The folder.
    """
    import torch
    import transformers

    from speechbrain_gemo.testing import save_tiny_text_model

    signature = _signature("roberta", overrides)
    if _matches(folder, signature):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    save_tiny_text_model(folder, seed=seed)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    config = transformers.RobertaConfig(
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **overrides,
    )
    if config.vocab_size < len(tokenizer):
        raise ValueError(
            f"vocab_size {config.vocab_size} < tokenizer size {len(tokenizer)}"
        )
    for name in os.listdir(folder):
        if name.endswith((".safetensors", ".bin")):
            os.remove(os.path.join(folder, name))
    torch.manual_seed(seed)
    transformers.RobertaModel(config).save_pretrained(folder)
    _sign(folder, signature)
    return folder


def count_parameters(folder):
    """Number of parameters of a saved model, from its config.

    Arguments
    ---------
    folder : str
        A Hugging Face model folder.
    Returns
    -------
    int
        Parameter count.
    """
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = transformers.AutoModel.from_config(config)
    return sum(p.numel() for p in model.parameters())


def build_gemo_model(
    ssl_dir, text_dir, freeze_text, config, text_trainable_layers=FROM_RECIPE
):
    """The GEmo-CLAP model as the recipe builds it (``sl_wavlm.yaml``): SSL
    model fine-tuned with its CNN frozen, last-layer mean pooling, linear
    projections, the text model with the recipe's pooling, word
    embeddings and trainable-layers settings, the default emotion prompt.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    text_dir : str
        The text model folder.
    freeze_text : bool
        Whether the text model is frozen.
    config : BenchConfig
        The run's settings (``config.recipe``: the recipe's).
    text_trainable_layers : int or None or str
        Top layers of the fine-tuned text model that train (None: all);
        ``"recipe"``: ``config.text_trainable_layers``. Ignored when
        ``freeze_text``.

    Returns
    -------
    GEmoCLAPModel
        The model.
    """
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts

    ssl = Wav2Vec2(
        source=ssl_dir,
        save_path=ssl_dir,
        freeze=False,
        freeze_feature_extractor=True,
        output_all_hiddens=False,
    )
    text = TextEncoder(source=text_dir, save_path=text_dir, freeze=freeze_text)
    recipe = config.recipe
    extra = {}
    if config.freeze_text_word_embeddings:
        extra["freeze_word_embeddings"] = True
    if text_trainable_layers == FROM_RECIPE:
        text_trainable_layers = config.text_trainable_layers
    if text_trainable_layers is not None and not freeze_text:
        extra["text_trainable_layers"] = int(text_trainable_layers)
    return GEmoCLAPModel(
        SSLAudioEncoder(
            ssl,
            recipe["embedding_dim"],
            dropout=recipe["projection_dropout"],
            layerdrop=recipe["ssl_layerdrop"],
        ),
        TextPromptEncoder(
            text,
            recipe["embedding_dim"],
            pooling=recipe["text_pooling"],
            dropout=recipe["projection_dropout"],
            **extra,
        ),
        emotion_prompts(),
        None,
        init_temperature=recipe["init_temperature"],
        max_logit_scale=recipe["max_logit_scale"],
    )


def make_export(ssl_dir, text_dir, folder, config):
    """Exports a GEmo-CLAP model built on the benchmark's backbones with
    ``speechbrain_gemo.export.export_for_inference``, unless cached.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    text_dir : str
        The text model folder.
    folder : str
        The export folder.
    config : BenchConfig
        The run's settings.

    Returns
    -------
    str
        The export folder.
    """
    import torch
    from speechbrain.dataio.encoder import CategoricalEncoder

    from speechbrain_gemo.export import export_for_inference

    signature = {
        "ssl": _read_signature(ssl_dir),
        "text": _read_signature(text_dir),
        "recipe": json.loads(json.dumps(config.recipe)),
    }
    if _matches(folder, signature):
        return folder
    torch.manual_seed(0)
    model = build_gemo_model(ssl_dir, text_dir, True, config)
    labels = CategoricalEncoder()
    labels.update_from_iterable(model.emotion_labels)
    hparams = {"objective": "sl", "sample_rate": SAMPLE_RATE}
    export_for_inference(model, labels, hparams, folder)
    _sign(folder, signature)
    return folder


def load_classifier(export_dir, savedir, device):
    """Loads the export with ``GEmoCLAP.from_hparams``.

    Arguments
    ---------
    export_dir : str
        The export folder.
    savedir : str
        SpeechBrain's savedir (small files are linked there).
    device : str
        The device.

    Returns
    -------
    GEmoCLAP
        The inference interface.
    """
    from speechbrain_gemo.inference import GEmoCLAP

    return GEmoCLAP.from_hparams(
        source=export_dir, savedir=savedir, run_opts={"device": device}
    )


def load_bare_ssl(export_dir, device):
    """The export's SSL model as a bare Hugging Face model.

    Arguments
    ---------
    export_dir : str
        The export folder.
    device : str
        The device.

    Returns
    -------
    transformers.PreTrainedModel
        The model, in eval mode.
    """
    import transformers

    model = transformers.AutoModel.from_pretrained(
        os.path.join(export_dir, "ssl_model")
    )
    return model.to(device).eval()


def bare_forward(model, wavs, precision):
    """A bare Hugging Face forward plus mean pooling over time.

    The attention mask is all ones: this is what the model's feature
    extractor (``return_attention_mask=True``) gives for a batch of equal
    lengths, and what ``classify_batch`` receives as relative lengths.

    Arguments
    ---------
    model : transformers.PreTrainedModel
        The SSL model.
    wavs : torch.Tensor
        ``N x T`` waveforms.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    torch.Tensor
        ``N x hidden`` pooled features.
    """
    import torch

    mask = torch.ones(wavs.shape, dtype=torch.long, device=wavs.device)
    with torch.no_grad(), autocast(wavs.device, precision):
        hidden = model(wavs, attention_mask=mask).last_hidden_state
        return hidden.mean(dim=1)


def classify(classifier, wavs, wav_lens, precision):
    """``classify_batch`` under the benchmark's precision.

    Arguments
    ---------
    classifier : GEmoCLAP
        The interface.
    wavs : torch.Tensor
        ``N x T`` waveforms.
    wav_lens : torch.Tensor
        Relative lengths.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    tuple
        The output of ``classify_batch``.
    """
    with autocast(wavs.device, precision):
        return classifier.classify_batch(wavs, wav_lens)


def make_wavs(batch_size, seconds, device, seed=0):
    """Random waveforms and full relative lengths, for inference.

    Arguments
    ---------
    batch_size : int
        Number of utterances.
    seconds : float
        Length of each.
    device : str
        Where to put them.
    seed : int
        Seed.

    Returns
    -------
    tuple
        ``(wavs, wav_lens)``.

    Example
    -------
    >>> wavs, lens = make_wavs(2, 0.25, "cpu")
    >>> wavs.shape, lens.tolist()
    (torch.Size([2, 4000]), [1.0, 1.0])
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    samples = int(round(seconds * SAMPLE_RATE))
    wavs = 0.1 * torch.randn(batch_size, samples, generator=generator)
    return wavs.to(device), torch.ones(batch_size, device=device)
