"""Writing a self-contained inference folder after training.

The folder is a SpeechBrain model-hub repository as it stands: it loads with
``GEmoCLAP.from_hparams(source=folder)`` (``speechbrain_gemo.inference``),
offline for a local folder, and can be pushed to a hub as is:

- ``hyperparams.yaml``: the template ``templates/inference_hyperparams.yaml``
  with the trained model's settings (prompts, tower layouts) filled in;
- ``model.ckpt``: the parameters outside the two backbones (projection
  heads, layer weights, logit scales and, for models with it, the
  dimensional head), keyed as in ``GEmoCLAPModel.state_dict()``;
- ``prompt_embeddings.ckpt``: ``{"emotion": K x d, "gender": 2 x d}``
  (gender for ML-GEmo-CLAP only), unit-norm, rows in the prompts' order, so
  that classification needs no text model;
- ``label_encoder.ckpt``: the emotion classes (SpeechBrain's
  ``CategoricalEncoder`` text format);
- ``ssl_model/``: the (fine-tuned) SSL speech model in Hugging Face format,
  with its feature-extractor config;
- ``text_model/``: the (fine-tuned) text model and its tokenizer files;
- ``custom_interface.py``: for SpeechBrain's ``foreign_class``;
- ``README.md``: the model card (``templates/model_card.md``), with the
  test metrics of ``test_metrics.json`` when the run wrote them (with the
  dimensional head, its CCCs too).

The folder is built under a temporary name and renamed into place by
:func:`publish_folder`, so an interrupted export never leaves a folder that
looks complete.

Authors
 * speechbrain-gemo developers 2026
"""

import glob
import io
import json
import os
import shutil
import string

import ruamel.yaml
import torch

from speechbrain_gemo.dimensions import DIMENSIONS
from speechbrain_gemo.prompts import corpus_words, label_words

TEMPLATES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "templates"
)
HPARAMS_TEMPLATE = os.path.join(TEMPLATES, "inference_hyperparams.yaml")
MODEL_CARD_TEMPLATE = os.path.join(TEMPLATES, "model_card.md")
INTERFACE_TEMPLATE = os.path.join(TEMPLATES, "custom_interface.py")

BACKBONE_PREFIXES = (
    "audio_encoder.ssl_model.",
    "text_encoder.text_model.",
)

OBJECTIVES = {
    "emo": (
        "Emo-CLAP",
        "Trained with the symmetric contrastive loss on emotion labels "
        "(Emo-CLAP).",
    ),
    "ml": (
        "ML-GEmo-CLAP",
        "Trained with a second contrastive task on gender prompts "
        "(ML-GEmo-CLAP): it also predicts the speaker's gender from the "
        "same audio embedding.",
    ),
    "sl": (
        "SL-GEmo-CLAP",
        "Trained with soft contrastive targets that count utterances of the "
        "same emotion and gender as closer positives (SL-GEmo-CLAP).",
    ),
}


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


def model_settings(model, hparams):
    """The values of the template's first block for a trained model.

    The towers' settings are read from the model itself, so that the export
    rebuilds the trained layout whatever the recipe called them; the
    objective and sample rate come from the recipe hyperparameters.

    Arguments
    ---------
    model : GEmoCLAPModel
        The trained model.
    hparams : dict
        The recipe hyperparameters (``objective``, ``sample_rate``).

    Returns
    -------
    dict
        Template key to value.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from speechbrain_gemo.lobes import ProjectionHead
    >>> audio = SimpleNamespace(projection=ProjectionHead(8, 4),
    ...     layer_weighting=False, normalize_wav=True, layernorm=False)
    >>> text = SimpleNamespace(projection=ProjectionHead(6, 4, dropout=0.2),
    ...     pooling="first")
    >>> model = SimpleNamespace(audio_encoder=audio, text_encoder=text,
    ...     emotion_prompts={"calm": ["Calm."]}, has_gender=False,
    ...     max_logit_scale=100.0, has_avd=False)
    >>> settings = model_settings(model, {"objective": "emo"})
    >>> settings["embedding_dim"], settings["text_projection_dropout"]
    (4, 0.2)
    """
    audio, text = model.audio_encoder, model.text_encoder
    audio_head = projection_settings(audio.projection)
    text_head = projection_settings(text.projection)
    return {
        "objective": hparams.get("objective", "sl"),
        "sample_rate": int(hparams.get("sample_rate", 16000)),
        "emotion_prompts": dict(model.emotion_prompts),
        "emotion_words": label_words(
            model.emotion_prompts, recipe_words(hparams)
        ),
        "gender_prompts": (
            dict(model.gender_prompts) if model.has_gender else None
        ),
        "max_logit_scale": float(model.max_logit_scale),
        "embedding_dim": int(audio.projection.output_size),
        "layer_weighting": bool(audio.layer_weighting),
        "audio_projection_hidden_size": audio_head["projection_hidden_size"],
        "audio_projection_dropout": audio_head["dropout"],
        "normalize_wav": bool(audio.normalize_wav),
        "layernorm": bool(getattr(audio, "layernorm", False)),
        "text_pooling": text.pooling,
        "text_projection_hidden_size": text_head["projection_hidden_size"],
        "text_projection_dropout": text_head["dropout"],
        **dimension_settings(model),
    }


def recipe_words(hparams):
    """The words a recipe made its prompts from: its corpus' words
    (``corpus``; IEMOCAP's for the IEMOCAP recipe, which names none), then
    its ``emotion_words`` (the CSV recipe's).

    Arguments
    ---------
    hparams : dict
        The recipe hyperparameters.

    Returns
    -------
    dict
        Label to word (a label without one is given its word by
        ``speechbrain_gemo.prompts.label_words``).

    Example
    -------
    >>> recipe_words({"corpus": "RAVDESS"})["05"]
    'angry'
    >>> recipe_words({"csv_file": "l.csv", "emotion_words": {"ang": "angry"}})
    {'ang': 'angry'}
    >>> recipe_words({"test_session": 1})["neu"]
    'neutral'
    """
    words = {}
    corpus = hparams.get("corpus")
    if not corpus and "csv_file" not in hparams:
        corpus = "IEMOCAP"  # corpus_description's rule
    if corpus:
        try:
            words.update(corpus_words(corpus))
        except ValueError:  # a corpus name without a word table
            pass
    words.update(dict(hparams.get("emotion_words") or {}))
    return {str(label): str(word) for label, word in words.items()}


def dimension_settings(model):
    """The template values of the dimensional head, read back from the
    model (``avd_head: False`` and defaults for a model without it).

    Arguments
    ---------
    model : GEmoCLAPModel
        The trained model.

    Returns
    -------
    dict
        ``avd_head``, ``avd_scale``, ``avd_hidden_size``, ``avd_dropout``.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from speechbrain_gemo.lobes import DimensionalHead
    >>> model = SimpleNamespace(has_avd=True, avd_scale=(1.0, 7.0),
    ...     avd_head=DimensionalHead(8, hidden_size=4))
    >>> settings = dimension_settings(model)
    >>> settings["avd_scale"], settings["avd_hidden_size"]
    ([1.0, 7.0], 4)
    """
    if not getattr(model, "has_avd", False):
        return {
            "avd_head": False,
            "avd_scale": None,
            "avd_hidden_size": None,
            "avd_dropout": 0.0,
        }
    head = projection_settings(model.avd_head.projection)
    return {
        "avd_head": True,
        "avd_scale": list(model.avd_scale),
        "avd_hidden_size": head["projection_hidden_size"],
        "avd_dropout": head["dropout"],
    }


def render_hparams(values, template=HPARAMS_TEMPLATE):
    """The template HyperPyYAML file with some top-level values replaced.

    The file is read and written with ruamel.yaml's round-trip mode, so the
    comments, tags (``!new:``, ``!ref``) and the keys' order stay as they
    are; only the given keys change, and each must exist in the template
    (as HyperPyYAML overrides must).

    Arguments
    ---------
    values : dict
        Top-level key to new value (plain YAML data).
    template : str
        The template file.

    Returns
    -------
    str
        The HyperPyYAML text.

    Example
    -------
    >>> text = render_hparams({"embedding_dim": 8, "gender_prompts": None})
    >>> from hyperpyyaml import load_hyperpyyaml
    >>> hparams = load_hyperpyyaml(text)
    >>> hparams["embedding_dim"], hparams["gender_prompts"]
    (8, None)
    >>> render_hparams({"no_such_key": 1})
    Traceback (most recent call last):
    ...
    KeyError: "not keys of .../inference_hyperparams.yaml: ['no_such_key']"
    """
    yaml = ruamel.yaml.YAML()
    yaml.width = 80
    yaml.indent(mapping=4, sequence=4, offset=2)  # SpeechBrain's layout
    yaml.representer.add_representer(
        type(None),
        lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"),
    )
    with open(template, encoding="utf-8") as f:
        document = yaml.load(f)
    unknown = sorted(set(values) - set(document))
    if unknown:
        raise KeyError(f"not keys of {template}: {unknown}")
    for key, value in values.items():
        document[key] = json.loads(json.dumps(value))
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _prompt_rows(prompts):
    return [
        (f"`{label}`", "<br>".join(f'"{t}"' for t in texts))
        for label, texts in prompts.items()
    ]


def _class_rows(prompts, words):
    """The class table's rows: the word a person reads, the label in the
    training corpus (what its manifests hold), the prompts."""
    return [
        (
            f"`{words.get(label, label)}`",
            f"`{label}`",
            "<br>".join(f'"{t}"' for t in texts),
        )
        for label, texts in prompts.items()
    ]


def corpus_description(hparams):
    """What a model card says about the training corpus and its test set.

    Arguments
    ---------
    hparams : dict
        The recipe hyperparameters: ``corpus`` (absent for IEMOCAP's
        recipe) with ``test_fold`` and ``num_folds`` or ``test_set``;
        ``csv_file`` for a user's own data; IEMOCAP's ``split``,
        ``test_session``, ``test_speaker`` and ``expected_utterances``
        (not the full IEMOCAP size: a derived corpus).

    Returns
    -------
    corpus : str
        The corpus and its held-out test set, in words.
    dataset_tag : str
        The model card's ``datasets`` tag.
    recipe : str
        The recipe that trained the model.

    Example
    -------
    >>> corpus_description({"corpus": "CREMA-D", "test_fold": 2,
    ...                     "num_folds": 5})[0]
    'CREMA-D (fold 2 of 5 held out for testing)'
    >>> corpus_description({"test_session": 3})[0]
    'IEMOCAP (audio only, session 3 held out for testing)'
    """
    if "test_fold" in hparams:
        held_out = (
            f"fold {hparams['test_fold']} of {hparams.get('num_folds')} "
            "held out for testing"
        )
    elif "test_set" in hparams:
        held_out = f"tested on the {hparams['test_set']} partition"
    elif hparams.get("split", "session") == "speaker" and hparams.get(
        "test_speaker"
    ):
        held_out = f"speaker {hparams['test_speaker']} held out for testing"
    elif "test_session" in hparams:
        held_out = f"session {hparams['test_session']} held out for testing"
    else:
        held_out = "a held-out test set"
    if "csv_file" in hparams:
        return (
            f"the user's own data listed in a CSV ({held_out})",
            "custom",
            "recipes/CSV/gemo_clap/train.py",
        )
    if hparams.get("corpus"):
        name = str(hparams["corpus"])
        return (
            f"{name} ({held_out})",
            name.lower(),
            f"recipes/{name}/gemo_clap/train.py",
        )
    recipe = "recipes/IEMOCAP/gemo_clap/train.py"
    if hparams.get("expected_utterances", 5531) == 5531:
        return f"IEMOCAP (audio only, {held_out})", "iemocap", recipe
    # the size check was off: a derived or demo corpus
    return (
        f"a corpus in the IEMOCAP release layout ({held_out})",
        "iemocap",
        recipe,
    )


def model_card(settings, hparams, metrics=None):
    """The ``README.md`` of an export, from ``templates/model_card.md``.

    Arguments
    ---------
    settings : dict
        The template values (see :func:`model_settings`).
    hparams : dict
        The recipe hyperparameters: optional ``audio_source``,
        ``text_source``, ``hub_id`` (the repository, ``owner/name``, for
        the usage examples: ``source="hf://owner/name"``) and the corpus
        keys of :func:`corpus_description`.
    metrics : dict, optional
        The test metrics (``WAR``, ``UAR``, ``per_class_recall`` and, with
        the dimensional head, ``CCC_arousal``, ``CCC_valence``,
        ``CCC_dominance``), as in ``test_metrics.json``.

    Returns
    -------
    str
        The Markdown text with its front matter.

    Example
    -------
    >>> settings = {"objective": "ml", "sample_rate": 16000,
    ...     "emotion_prompts": {"calm": ["Calm."]},
    ...     "gender_prompts": {"F": ["A woman."], "M": ["A man."]}}
    >>> card = model_card(settings, {"audio_source": "microsoft/wavlm-large"},
    ...     {"WAR": 0.5, "UAR": 0.25, "per_class_recall": {"calm": 0.25}})
    >>> print(card.splitlines()[0])
    ---
    >>> "| UAR | 25.00 |" in card, "ML-GEmo-CLAP" in card
    (True, True)
    >>> 'source="hf://<owner>/<name>"' in card
    True
    >>> card = model_card(dict(settings, avd_head=True, avd_scale=[1, 5]),
    ...     {}, {"WAR": 0.5, "UAR": 0.25, "CCC_arousal": 0.6123,
    ...          "CCC_valence": 0.2, "CCC_dominance": None})
    >>> "| CCC arousal | 0.612 |" in card, "| CCC dominance | n/a |" in card
    (True, True)
    """
    name, objective_text = OBJECTIVES.get(
        settings["objective"], (settings["objective"], "")
    )
    audio_source = hparams.get("audio_source", "unknown")
    text_source = hparams.get("text_source", "unknown")
    gender = settings.get("gender_prompts")
    gender_section = ""
    if gender:
        gender_section = (
            '\nGender classes (`predict_file(path)["gender_lab"]`):\n\n'
            + _markdown_table(["gender", "prompts"], _prompt_rows(gender))
            + "\n"
        )
    dimensions_section = ""
    if settings.get("avd_head"):
        low, high = settings["avd_scale"]
        dimensions_section = (
            "\nThe model also predicts arousal, valence and dominance "
            '(`predict_file(path)["arousal"]`, `["valence"]`, '
            '`["dominance"]`) on the training corpus\' rating scale, '
            f"{low:g} to {high:g}.\n"
        )
    corpus, dataset_tag, recipe = corpus_description(hparams)
    # classes and recalls named by their words (an older settings dict
    # without them: found from the prompts)
    words = settings.get("emotion_words") or label_words(
        settings["emotion_prompts"]
    )
    from speechbrain_gemo.inference import HUB_PREFIX

    hub_id = hparams.get("hub_id") or "<owner>/<name>"
    if not hub_id.startswith(HUB_PREFIX):
        hub_id = HUB_PREFIX + hub_id
    if metrics:
        rows = [(name, f"{100 * metrics[name]:.2f}") for name in ("WAR", "UAR")]
        for label, recall in metrics.get("per_class_recall", {}).items():
            value = "n/a" if recall != recall else f"{100 * recall:.2f}"
            rows.append((f"recall `{words.get(label, label)}`", value))
        unit = "%"
        if any(f"CCC_{d}" in metrics for d in DIMENSIONS):
            unit = "WAR, UAR and recalls in %; CCC from -1 to 1"
            for dimension in DIMENSIONS:
                ccc = metrics.get(f"CCC_{dimension}")
                value = "n/a" if ccc is None else f"{ccc:.3f}"
                rows.append((f"CCC {dimension}", value))
        metrics_section = (
            f"Test results ({unit}), from `test_metrics.json` of the "
            "training run:\n\n" + _markdown_table(["metric", "value"], rows)
        )
    else:
        metrics_section = "No test metrics were recorded for this export."
    audio_tag = audio_source.rsplit("/", 1)[-1].split("-")[0].lower()
    values = {
        "objective_name": name,
        "objective_text": objective_text,
        "audio_source": audio_source,
        "audio_tag": audio_tag or "ssl",
        "text_source": text_source,
        "dataset_tag": dataset_tag,
        "class_table": _markdown_table(
            ["class", "label in the training data", "prompts"],
            _class_rows(settings["emotion_prompts"], words),
        ),
        "gender_section": gender_section,
        "dimensions_section": dimensions_section,
        "recipe": recipe,
        "corpus": corpus,
        "metrics_section": metrics_section,
        "usage_source": hub_id,
        "sample_rate": settings["sample_rate"],
        "window_seconds": settings.get("window_seconds", 20.0),
    }
    with open(MODEL_CARD_TEMPLATE, encoding="utf-8") as f:
        return string.Template(f.read()).substitute(values)


def publish_folder(tmp, folder):
    """Renames a completely written folder into place, replacing an older
    one; a crash at any point leaves the old folder, or none, or the new
    one under ``folder``, never a partial one.

    Arguments
    ---------
    tmp : str
        The written folder.
    folder : str
        Its final name.

    Example
    -------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(f"{root}/new")
    >>> publish_folder(f"{root}/new", f"{root}/export")
    >>> os.listdir(root)
    ['export']
    """
    if os.path.exists(folder):
        old = f"{folder}.old-{os.getpid()}"
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old)
    else:
        os.replace(tmp, folder)


def _read_metrics(hparams):
    path = hparams.get("test_metrics_file")
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


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
        The recipe hyperparameters (see :func:`model_settings` and
        :func:`model_card`); ``test_metrics_file``, when it exists, gives
        the model card's results.
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
    ['README.md', 'custom_interface.py', 'hyperparams.yaml',
     'label_encoder.ckpt', 'model.ckpt', 'prompt_embeddings.ckpt',
     'ssl_model', 'text_model']
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
        label_encoder.save(os.path.join(tmp, "label_encoder.ckpt"))
        settings = model_settings(model, hparams)
        with open(os.path.join(tmp, "hyperparams.yaml"), "w") as f:
            f.write(render_hparams(settings))
        with open(os.path.join(tmp, "README.md"), "w") as f:
            f.write(model_card(settings, hparams, _read_metrics(hparams)))
        shutil.copyfile(
            INTERFACE_TEMPLATE, os.path.join(tmp, "custom_interface.py")
        )
    finally:
        model.train(was_training)
    publish_folder(tmp, folder)
    return folder


def save_tiny_export(
    folder, gender=True, embedding_dim=16, seed=0, avd=False, corpus=None
):
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
    avd : bool
        With the dimensional head (arousal, valence, dominance on a 1-5
        scale).
    corpus : str, optional
        The corpus whose classes (codes) and words the model has, as its
        recipe would train it (default: IEMOCAP's four classes).

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
    >>> folder = save_tiny_export(
    ...     os.path.join(tempfile.mkdtemp(), "m"), avd=True)
    >>> "avd_head: true" in open(f"{folder}/hyperparams.yaml").read()
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
        emotion_prompts(classes=corpus, words=corpus),
        gender_prompts() if gender else None,
        avd_head=avd,
        avd_scale=[1, 5] if avd else None,
        avd_dropout=0.1,
    )
    labels = CategoricalEncoder()
    labels.update_from_iterable(model.emotion_labels)
    hparams = {"objective": "ml" if gender else "sl", "sample_rate": 16000}
    if corpus:
        hparams["corpus"] = corpus
    return export_for_inference(model, labels, hparams, folder)
