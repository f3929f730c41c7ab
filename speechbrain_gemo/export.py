"""Writing a self-contained inference folder after training.

The folder loads with ``GEmoCLAP.from_hparams(source=folder)`` (see
``speechbrain_gemo.inference``) without any network access:

- ``hyperparams.yaml``: the inference hyperparameters;
- ``ssl_model/``: the (fine-tuned) SSL speech model in Hugging Face format,
  with its feature-extractor config;
- ``text_model/``: the (fine-tuned) text model and its tokenizer files;
- ``model.ckpt``: everything else (projection heads, layer weights,
  temperatures), keyed as in ``GEmoCLAPModel.state_dict()``;
- ``prompt_embeddings.ckpt``: the class prompts' embeddings
  (``{"emotion": K x d, "gender": 2 x d}``, gender for ML-GEmo-CLAP only),
  so that classification needs no text model;
- ``label_encoder.txt``: the emotion classes;
- ``custom_interface.py``: a one-line module naming the interface class,
  for SpeechBrain's ``foreign_class``.

The folder is built under a temporary name and renamed at the end, so an
interrupted export never leaves a folder that looks complete.

Authors
 * speechbrain-gemo developers 2026
"""

import glob
import json
import os
import shutil

import torch

BACKBONE_PREFIXES = (
    "audio_encoder.ssl_model.",
    "text_encoder.text_model.",
)

INFERENCE_HPARAMS = """\
# ############################################################################
# GEmo-CLAP inference folder, written by speechbrain_gemo.export.
# Objective: {objective}; trained with {recipe_file}.
# Load it with speechbrain_gemo.inference.GEmoCLAP.from_hparams(source=...).
# Loading a hyperparams.yaml runs the code it names (HyperPyYAML): load only
# model folders you trust.
# ############################################################################

# This folder's local path. GEmoCLAP.from_hparams fills it in; left null
# (e.g. with foreign_class), GEmoCLAP finds it from the fetched model.ckpt
export_folder: null
sample_rate: {sample_rate}

emotion_prompts: {emotion_prompts}
gender_prompts: {gender_prompts}
max_logit_scale: {max_logit_scale}

# Audio longer than window_seconds is embedded in windows of that length
# overlapping by overlap_seconds, which bounds the memory (null: never split)
window_seconds: 20.0
overlap_seconds: 2.0

# The towers are built by GEmoCLAP from ssl_model/ and text_model/. The text
# tower is built only when prompts other than the stored ones are asked
# for: classification uses prompt_embeddings.ckpt
audio_encoder: !name:speechbrain_gemo.export.build_audio_encoder
    output_size: {embedding_dim}
    layer_weighting: {layer_weighting}
    projection_hidden_size: {audio_hidden_size}
    dropout: {audio_dropout}
    normalize_wav: {normalize_wav}
    layernorm: {layernorm}

text_encoder: !name:speechbrain_gemo.export.build_text_encoder
    output_size: {embedding_dim}
    pooling: {text_pooling}
    projection_hidden_size: {text_hidden_size}
    dropout: {text_dropout}

model: !name:speechbrain_gemo.model.GEmoCLAPModel
    emotion_prompts: !ref <emotion_prompts>
    gender_prompts: !ref <gender_prompts>
    max_logit_scale: !ref <max_logit_scale>

# Any sample rate and channel count -> mono at sample_rate
audio_normalizer: !new:speechbrain.dataio.preprocess.AudioNormalizer
    sample_rate: !ref <sample_rate>
    mix: avg-to-mono

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder

# Filled in by GEmoCLAP from the builders above
modules: {{}}

# model.ckpt and prompt_embeddings.ckpt, fetched from the source folder and
# read with torch.load(weights_only=True)
head_weights: !new:speechbrain_gemo.inference.CheckpointFile
prompt_weights: !new:speechbrain_gemo.inference.CheckpointFile

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        model: !ref <head_weights>
        prompt_embeddings: !ref <prompt_weights>
"""

CUSTOM_INTERFACE = '''\
"""The interface class of this GEmo-CLAP folder, for SpeechBrain's
foreign_class(source=<folder>, pymodule_file="custom_interface.py",
classname="GEmoCLAP"); needs the speechbrain-gemo package."""

from speechbrain_gemo.inference import GEmoCLAP  # noqa: F401
'''


def _yaml_value(value):
    # JSON is valid YAML (flow style) for dicts, lists, numbers and null
    return json.dumps(value)


def projection_settings(head):
    """The constructor settings of a ``ProjectionHead`` read back from its
    layers, so that an export rebuilds exactly the trained layout.

    Arguments
    ---------
    head : speechbrain_gemo.lobes.ProjectionHead
        A projection head.

    Returns
    -------
    dict
        ``projection_hidden_size`` (None for a linear head) and ``dropout``.

    Example
    -------
    >>> from speechbrain_gemo.lobes import ProjectionHead
    >>> projection_settings(ProjectionHead(8, 4, dropout=0.1))
    {'projection_hidden_size': None, 'dropout': 0.1}
    >>> projection_settings(ProjectionHead(8, 4, hidden_size=6))
    {'projection_hidden_size': 6, 'dropout': 0.0}
    """
    linears = [m for m in head.layers if isinstance(m, torch.nn.Linear)]
    dropouts = [m for m in head.layers if isinstance(m, torch.nn.Dropout)]
    hidden = linears[0].out_features if len(linears) > 1 else None
    return {
        "projection_hidden_size": hidden,
        "dropout": float(dropouts[0].p) if dropouts else 0.0,
    }


def build_audio_encoder(
    source,
    output_size,
    layer_weighting=False,
    projection_hidden_size=None,
    dropout=0.0,
    normalize_wav=True,
    layernorm=False,
):
    """Builds the frozen audio tower of an exported model.

    Arguments
    ---------
    source : str
        The ``ssl_model`` folder of the export.
    output_size : int
        The shared embedding dimension.
    layer_weighting : bool
        As in training (a weighted sum of all hidden states).
    projection_hidden_size : int, optional
        As in training.
    dropout : float
        As in training (inactive in eval mode; it only fixes the layout of
        the projection head, hence its parameter names).
    normalize_wav : bool
        As in training.
    layernorm : bool
        As in training.

    Returns
    -------
    SSLAudioEncoder
        The audio tower (its projection weights still to be loaded).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.testing import save_tiny_ssl_model
    >>> folder = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> encoder = build_audio_encoder(folder, output_size=8)
    >>> encoder(torch.randn(1, 4000)).shape
    torch.Size([1, 8])
    """
    from speechbrain.integrations.huggingface import Wav2Vec2

    from speechbrain_gemo.lobes import SSLAudioEncoder

    # Wav2Vec2 loads any SSL model of the family through AutoModel
    ssl_model = Wav2Vec2(
        source,
        save_path=source,
        freeze=True,
        output_all_hiddens=layer_weighting,
    )
    return SSLAudioEncoder(
        ssl_model,
        output_size=output_size,
        layer_weighting=layer_weighting,
        projection_hidden_size=projection_hidden_size,
        dropout=dropout,
        normalize_wav=normalize_wav,
        layernorm=layernorm,
    )


def build_text_encoder(
    source,
    output_size,
    pooling="mean",
    projection_hidden_size=None,
    dropout=0.0,
):
    """Builds the frozen text tower of an exported model.

    Arguments
    ---------
    source : str
        The ``text_model`` folder of the export.
    output_size : int
        The shared embedding dimension.
    pooling : str
        ``mean`` or ``first``.
    projection_hidden_size : int, optional
        As in training.
    dropout : float
        As in training (inactive in eval mode; it only fixes the layout of
        the projection head).

    Returns
    -------
    TextPromptEncoder
        The text tower (its projection weights still to be loaded).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_gemo.testing import save_tiny_text_model
    >>> folder = save_tiny_text_model(tempfile.mkdtemp())
    >>> encoder = build_text_encoder(folder, output_size=8)
    >>> encoder(["The speaker sounds sad."]).shape
    torch.Size([1, 8])
    """
    from speechbrain.integrations.huggingface import TextEncoder

    from speechbrain_gemo.lobes import TextPromptEncoder

    text_model = TextEncoder(source, save_path=source, freeze=True)
    return TextPromptEncoder(
        text_model,
        output_size=output_size,
        pooling=pooling,
        projection_hidden_size=projection_hidden_size,
        dropout=dropout,
    )


def head_state_dict(model):
    """The model's parameters and buffers outside the two backbones.

    Arguments
    ---------
    model : GEmoCLAPModel
        A trained model.

    Returns
    -------
    dict
        Name to tensor (on the CPU).

    Example
    -------
    >>> class Toy(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.logit_scale = torch.nn.Parameter(torch.zeros(()))
    >>> list(head_state_dict(Toy()))
    ['logit_scale']
    """
    return {
        name: tensor.detach().cpu()
        for name, tensor in model.state_dict().items()
        if not name.startswith(BACKBONE_PREFIXES)
    }


def inference_hparams(model, hparams):
    """The text of the export's ``hyperparams.yaml``.

    The towers' settings are read from the model itself (so the export
    matches the trained layout whatever the recipe called them); the
    prompts, sample rate and names from the recipe hyperparameters.

    Arguments
    ---------
    model : GEmoCLAPModel
        The trained model.
    hparams : dict
        The recipe hyperparameters: ``objective``, ``sample_rate``,
        ``emotion_prompts``, optionally ``gender_prompts`` and
        ``experiment``.

    Returns
    -------
    str
        The HyperPyYAML text.

    Example
    -------
    >>> from speechbrain_gemo.testing import save_tiny_ssl_model
    >>> from speechbrain_gemo.testing import save_tiny_text_model
    >>> from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2
    >>> from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    >>> from speechbrain_gemo.model import GEmoCLAPModel
    >>> import tempfile
    >>> ssl = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> text = save_tiny_text_model(tempfile.mkdtemp())
    >>> model = GEmoCLAPModel(
    ...     SSLAudioEncoder(Wav2Vec2(ssl, save_path=ssl), 8, dropout=0.1),
    ...     TextPromptEncoder(TextEncoder(text, save_path=text), 8),
    ...     {"calm": ["A calm voice."], "tense": ["A tense voice."]})
    >>> yaml_text = inference_hparams(model, {"objective": "emo"})
    >>> "    dropout: 0.1" in yaml_text, "export_folder: null" in yaml_text
    (True, True)
    """
    audio = model.audio_encoder
    text = model.text_encoder
    audio_head = projection_settings(audio.projection)
    text_head = projection_settings(text.projection)
    gender_prompts = model.gender_prompts if model.has_gender else None
    return INFERENCE_HPARAMS.format(
        objective=hparams.get("objective", "unknown"),
        recipe_file=hparams.get("experiment", "train.py"),
        sample_rate=hparams.get("sample_rate", 16000),
        emotion_prompts=_yaml_value(model.emotion_prompts),
        gender_prompts=_yaml_value(gender_prompts),
        max_logit_scale=_yaml_value(model.max_logit_scale),
        embedding_dim=audio.projection.output_size,
        layer_weighting=_yaml_value(bool(audio.layer_weighting)),
        audio_hidden_size=_yaml_value(audio_head["projection_hidden_size"]),
        audio_dropout=_yaml_value(audio_head["dropout"]),
        normalize_wav=_yaml_value(bool(audio.normalize_wav)),
        layernorm=_yaml_value(bool(getattr(audio, "layernorm", False))),
        text_pooling=text.pooling,
        text_hidden_size=_yaml_value(text_head["projection_hidden_size"]),
        text_dropout=_yaml_value(text_head["dropout"]),
    )


@torch.no_grad()
def export_for_inference(model, label_encoder, hparams, folder):
    """Writes the inference folder described in the module docstring.

    Arguments
    ---------
    model : GEmoCLAPModel
        The trained model (best checkpoint loaded).
    label_encoder : CategoricalEncoder
        The emotion label encoder used in training.
    hparams : dict
        The recipe hyperparameters (see ``inference_hparams``).
    folder : str
        The export folder; replaced if it exists.

    Returns
    -------
    str
        The folder.

    Example
    -------
    A complete export of a small random model (see ``save_tiny_export``):

    >>> import tempfile
    >>> folder = save_tiny_export(os.path.join(tempfile.mkdtemp(), "m"))
    >>> sorted(os.listdir(folder))  # doctest: +NORMALIZE_WHITESPACE
    ['custom_interface.py', 'hyperparams.yaml', 'label_encoder.txt',
     'model.ckpt', 'prompt_embeddings.ckpt', 'ssl_model', 'text_model']
    """
    folder = os.path.abspath(folder)
    # Leftovers of an export that was interrupted (by any process)
    for stale in glob.glob(f"{glob.escape(folder)}.tmp-*") + glob.glob(
        f"{glob.escape(folder)}.old-*"
    ):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = f"{folder}.tmp-{os.getpid()}"
    os.makedirs(tmp)
    was_training = model.training
    model.eval()
    try:
        ssl = model.audio_encoder.ssl_model
        ssl.model.save_pretrained(os.path.join(tmp, "ssl_model"))
        ssl.feature_extractor.save_pretrained(os.path.join(tmp, "ssl_model"))
        text = model.text_encoder.text_model
        text.model.save_pretrained(os.path.join(tmp, "text_model"))
        text.tokenizer.save_pretrained(os.path.join(tmp, "text_model"))

        torch.save(head_state_dict(model), os.path.join(tmp, "model.ckpt"))
        prompts = {"emotion": model.emotion_prompt_embeddings().cpu()}
        if model.has_gender:
            prompts["gender"] = model.gender_prompt_embeddings().cpu()
        torch.save(prompts, os.path.join(tmp, "prompt_embeddings.ckpt"))
        label_encoder.save(os.path.join(tmp, "label_encoder.txt"))
        with open(os.path.join(tmp, "hyperparams.yaml"), "w") as f:
            f.write(inference_hparams(model, hparams))
        with open(os.path.join(tmp, "custom_interface.py"), "w") as f:
            f.write(CUSTOM_INTERFACE)
    finally:
        model.train(was_training)

    if os.path.exists(folder):
        old = f"{folder}.old-{os.getpid()}"
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old)
    else:
        os.replace(tmp, folder)
    return folder


def save_tiny_export(folder, gender=True, embedding_dim=16, seed=0):
    """Exports a small randomly initialised model, for tests and examples.

    Arguments
    ---------
    folder : str
        The export folder to write; the tiny backbones are built in
        ``<folder>.src``.
    gender : bool
        With gender prompts (an ML-GEmo-CLAP model).
    embedding_dim : int
        The shared embedding dimension.
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The export folder.

    Example
    -------
    >>> import tempfile
    >>> folder = save_tiny_export(
    ...     os.path.join(tempfile.mkdtemp(), "m"), gender=False)
    >>> "gender_prompts: null" in open(f"{folder}/hyperparams.yaml").read()
    True
    """
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts, gender_prompts
    from speechbrain_gemo.testing import (
        save_tiny_ssl_model,
        save_tiny_text_model,
    )

    src = f"{os.path.abspath(folder)}.src"
    ssl_dir = save_tiny_ssl_model("wavlm", os.path.join(src, "ssl"), seed=seed)
    text_dir = save_tiny_text_model(os.path.join(src, "text"), seed=seed)
    torch.manual_seed(seed)
    model = GEmoCLAPModel(
        SSLAudioEncoder(
            Wav2Vec2(ssl_dir, save_path=ssl_dir), embedding_dim, dropout=0.1
        ),
        TextPromptEncoder(
            TextEncoder(text_dir, save_path=text_dir, freeze=True),
            embedding_dim,
        ),
        emotion_prompts(),
        gender_prompts() if gender else None,
    )
    labels = CategoricalEncoder()
    labels.update_from_iterable(model.emotion_labels)
    hparams = {"objective": "ml" if gender else "sl", "sample_rate": 16000}
    return export_for_inference(model, labels, hparams, folder)
