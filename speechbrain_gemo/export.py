"""Writing a self-contained inference folder after training.

The folder loads with ``GEmoCLAP.from_hparams(source=folder)`` without any
network access:

- ``hyperparams.yaml``: the inference hyperparameters;
- ``ssl_model/``: the (fine-tuned) SSL speech model in Hugging Face format,
  with its feature-extractor config;
- ``text_model/``: the (fine-tuned) text model and its tokenizer files;
- ``model.ckpt``: everything else (projection heads, layer weights,
  temperatures);
- ``prompt_embeddings.ckpt``: the class prompts' embeddings, so that
  classification needs no text model;
- ``label_encoder.txt``: the emotion classes.

The folder is built under a temporary name and renamed at the end, so an
interrupted export never leaves a folder that looks complete.

Authors
 * speechbrain-gemo developers 2026
"""

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
# Loading a hyperparams.yaml runs the code it names (HyperPyYAML): load only
# model folders you trust.
# ############################################################################

# Filled in by GEmoCLAP.from_hparams with this folder's local path
export_folder: !PLACEHOLDER
sample_rate: {sample_rate}

emotion_prompts: {emotion_prompts}
gender_prompts: {gender_prompts}

ssl_model: !new:speechbrain.integrations.huggingface.Wav2Vec2
    source: !ref <export_folder>/ssl_model
    save_path: !ref <export_folder>/ssl_model
    freeze: True
    output_all_hiddens: {layer_weighting}

audio_encoder: !new:speechbrain_gemo.lobes.SSLAudioEncoder
    ssl_model: !ref <ssl_model>
    output_size: {embedding_dim}
    layer_weighting: {layer_weighting}
    projection_hidden_size: {projection_hidden_size}

# The text tower is built only when prompts other than the stored ones are
# asked for: classification uses prompt_embeddings.ckpt
text_encoder: !name:speechbrain_gemo.export.build_text_encoder
    source: !ref <export_folder>/text_model
    output_size: {embedding_dim}
    pooling: {text_pooling}
    projection_hidden_size: {projection_hidden_size}

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder

modules:
    audio_encoder: !ref <audio_encoder>

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    collect_in: !ref <export_folder>
    loadables:
        label_encoder: !ref <label_encoder>
    paths:
        label_encoder: !ref <export_folder>/label_encoder.txt
"""


def _yaml_value(value):
    import json

    # JSON is valid YAML (flow style) for dicts, lists, numbers and null
    return json.dumps(value)


def build_text_encoder(
    source, output_size, pooling="mean", projection_hidden_size=None
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
        The recipe hyperparameters (towers' settings and prompts).
    folder : str
        The export folder; replaced if it exists.

    Returns
    -------
    str
        The folder.
    """
    folder = os.path.abspath(folder)
    tmp = f"{folder}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    was_training = model.training
    model.eval()

    ssl = model.audio_encoder.ssl_model
    ssl.model.save_pretrained(os.path.join(tmp, "ssl_model"))
    ssl.feature_extractor.save_pretrained(os.path.join(tmp, "ssl_model"))
    text = model.text_encoder.text_model
    text.model.save_pretrained(os.path.join(tmp, "text_model"))
    text.tokenizer.save_pretrained(os.path.join(tmp, "text_model"))

    torch.save(head_state_dict(model), os.path.join(tmp, "model.ckpt"))
    prompt_embeddings = {"emotion": model.emotion_prompt_embeddings().cpu()}
    if model.gender_labels:
        prompt_embeddings["gender"] = model.gender_prompt_embeddings().cpu()
    torch.save(prompt_embeddings, os.path.join(tmp, "prompt_embeddings.ckpt"))
    label_encoder.save(os.path.join(tmp, "label_encoder.txt"))

    gender_prompts = hparams.get("gender_prompts")
    with open(os.path.join(tmp, "hyperparams.yaml"), "w") as f:
        f.write(
            INFERENCE_HPARAMS.format(
                objective=hparams["objective"],
                recipe_file=hparams.get("experiment", "train.py"),
                sample_rate=hparams["sample_rate"],
                emotion_prompts=_yaml_value(hparams["emotion_prompts"]),
                gender_prompts=_yaml_value(gender_prompts),
                layer_weighting=_yaml_value(hparams["layer_weighting"]),
                embedding_dim=hparams["embedding_dim"],
                projection_hidden_size=_yaml_value(
                    hparams["projection_hidden_size"]
                ),
                text_pooling=hparams["text_pooling"],
            )
        )
    model.train(was_training)

    if os.path.exists(folder):
        old = f"{folder}.old-{os.getpid()}"
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old)
    else:
        os.replace(tmp, folder)
    return folder
