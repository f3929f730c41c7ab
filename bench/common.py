"""Settings shared by the benchmark's phases: constants, the run profiles
(model sizes, batch sizes, repeats), the recipe's training settings, the
run configuration handed to every phase, and small helpers.

Authors
 * speechbrain-gemo developers 2026
"""

import dataclasses
import functools
import gc
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SAMPLE_RATE = 16000
EMBEDDING_DIM = 512
NUM_CLASSES = 4
BENCH_VERSION = 1
# text_side_speedup is reported at the recipe's batch size (sl_wavlm.yaml)
TEXT_SIDE_BATCH = 16

# BenchConfig's value for "as the recipe's setting"
FROM_RECIPE = "recipe"

# Model configurations: overrides of transformers' WavLMConfig() and
# RobertaConfig(), whose defaults are the base-size architectures.
_WAVLM_LARGE = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    feat_extract_norm="layer",
    do_stable_layer_norm=True,
    conv_bias=True,
)
_SMALL_SSL = dict(
    hidden_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=1024,
    conv_dim=(128,) * 7,
    num_conv_pos_embeddings=64,
)
# A smaller vocabulary keeps the text/speech parameter ratio of the
# base-size pair (RoBERTa-base has 1.3 times the parameters of WavLM-base).
_SMALL_TEXT = dict(
    hidden_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=1024,
    vocab_size=8000,
)

# Run settings of the three sizes. Lengths are in seconds.
PROFILES = {
    "quick": dict(
        ssl_name="wavlm-small (256 x 4 layers, 128-channel CNN)",
        ssl_config=_SMALL_SSL,
        text_name="roberta-small (256 x 4 layers, 8k vocabulary)",
        text_config=_SMALL_TEXT,
        batch_size=8,
        seconds=1.0,
        repeats=11,
        inference_repeats=15,
        warmup=1,
        scaling_repeats=3,
        step_batches=(1, 2, 4, 8),
        step_lengths=(0.5, 1.0, 2.0, 4.0),
        length_batch=4,
        rtf_batches=(1, 2, 4, 8),
        loss_batches=(8, 32, 128),
        loss_share_seconds=0.5,
        loss_share_repeats=3,
        text_batches=(8, 16, 32),
        text_layers=(None, 0, 1, 2, 4),
        feature_batch=8,
        feature_seconds=(1.0, 3.0),
        rss_repeats=1,
        prep_repeats=2,
    ),
    "base": dict(
        ssl_name="wavlm-base (WavLMConfig defaults)",
        ssl_config={},
        text_name="roberta-base (RobertaConfig defaults)",
        text_config={},
        batch_size=8,
        seconds=3.0,
        repeats=9,
        inference_repeats=7,
        warmup=1,
        scaling_repeats=3,
        step_batches=(2, 4, 8, 16),
        step_lengths=(1.0, 2.0, 4.0, 8.0),
        length_batch=4,
        rtf_batches=(1, 2, 4, 8, 16),
        loss_batches=(8, 32, 128),
        loss_share_seconds=1.0,
        loss_share_repeats=2,
        text_batches=(8, 16, 32),
        text_layers=(None, 0, 1, 2, 4),
        feature_batch=8,
        feature_seconds=(1.0, 3.0),
        rss_repeats=2,
        prep_repeats=3,
    ),
}
PROFILES["large"] = dict(
    PROFILES["base"],
    ssl_name="wavlm-large (24 x 1024, layer-norm CNN)",
    ssl_config=_WAVLM_LARGE,
    text_name="roberta-base (RobertaConfig defaults)",
    text_config={},
    batch_size=16,
    step_batches=(4, 8, 16, 32),
    rtf_batches=(1, 4, 16, 64),
)

# The recipe's training settings that the GEmo-CLAP side follows (read from
# hparams/sl_wavlm.yaml; the values here are used where a key is missing)
RECIPE_HPARAMS = os.path.join(
    ROOT, "recipes", "IEMOCAP", "gemo_clap", "hparams", "sl_wavlm.yaml"
)
RECIPE_DEFAULTS = {
    "lr": 1e-4,
    "lr_ssl": 1e-5,
    "weight_decay": 0.01,
    "text_lr_scale": 0.1,
    "max_grad_norm": 5.0,
    "fused_adamw": False,
    "freeze_text_word_embeddings": False,
    # None: every layer of the fine-tuned text model trains
    "text_trainable_layers": None,
    "ssl_layerdrop": None,
    "embedding_dim": EMBEDDING_DIM,
    "projection_dropout": 0.1,
    "text_pooling": "mean",
    "init_temperature": 0.07,
    "max_logit_scale": 100.0,
    "alpha_e": 0.8,
    "alpha_g": 0.2,
    "target_norm": "l1",
    "avd_weight": 0.0,
    "selection_key": "UAR",
}


def recipe_settings(path=RECIPE_HPARAMS):
    """The recipe's training settings, read from ``hparams/sl_wavlm.yaml``
    without building anything (HyperPyYAML tags are read as plain values).

    Arguments
    ---------
    path : str
        The hyperparameter file.

    Returns
    -------
    dict
        The keys of ``RECIPE_DEFAULTS``, from the file where present.

    Example
    -------
    >>> settings = recipe_settings()
    >>> settings["embedding_dim"], settings["text_pooling"]
    (512, 'mean')
    """
    import yaml

    class Loader(yaml.SafeLoader):
        """Reads HyperPyYAML tags (``!ref``, ``!new:`` and the others) as
        plain values."""

    def tagged(loader, suffix, node):
        """The plain value of a tagged node."""
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", tagged)
    try:
        with open(path) as f:
            raw = yaml.load(f, Loader=Loader) or {}
    except OSError as e:
        log(f"recipe settings: cannot read {path} ({e}); using defaults")
        raw = {}
    missing = [key for key in RECIPE_DEFAULTS if key not in raw]
    if raw and missing:
        log(
            f"recipe settings: {path} has no {', '.join(missing)}; using "
            + ", ".join(f"{key}={RECIPE_DEFAULTS[key]!r}" for key in missing)
        )
    settings = {}
    for key, default in RECIPE_DEFAULTS.items():
        value = raw.get(key, default)
        if isinstance(default, float) and isinstance(value, str):
            value = float(value)
        settings[key] = value
    return settings


def log(message):
    """Prints a progress line to stderr, with the time.

    Arguments
    ---------
    message : str
        The line.
    """
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr)
    sys.stderr.flush()


def release(*objects):
    """Drops references and frees memory between benchmark phases.

    Arguments
    ---------
    *objects : object
        Ignored; pass the objects whose last references the caller drops.
    """
    del objects
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:
        pass


def autocast(device, precision):
    """The autocast context of a precision (disabled for fp32).

    Arguments
    ---------
    device : str
        A torch device string.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.

    Returns
    -------
    torch.autocast
        The context manager.
    """
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(
        device_type=str(device).split(":")[0],
        dtype=dtype or torch.float32,
        enabled=dtype is not None,
    )


@dataclasses.dataclass
class BenchConfig:
    """The settings of a benchmark run, handed to every phase's ``run``.

    The models (random-weight WavLM and RoBERTa of the profile's size) and
    the GEmo-CLAP export are built on first use and cached in the work
    folder, so a phase that needs none of them (``prep``) builds none.

    Arguments
    ---------
    quick : bool
        Small models, short utterances, few repeats (profile ``quick``).
    large : bool
        WavLM-large (profile ``large``); otherwise the base sizes.
    device : str
        Torch device, e.g. ``cpu`` or ``cuda``.
    precision : str
        ``fp32``, ``bf16`` or ``fp16``.
    threads : int
        Torch threads (the command line sets them before the phases run).
    clock : str
        ``wall`` or ``cpu``: the clock of :mod:`bench.timing`.
    repeats : int, optional
        Overrides the profile's timed repeats.
    no_scaling : bool
        Skip the scaling rows.
    work : str
        Cache folder; the profile's files go to ``work/<profile>``
        (``work_dir``).
    fused_adamw : bool, optional
        AdamW implementation of both training sides; None: as the recipe.
    freeze_text_word_embeddings : bool, optional
        Whether the fine-tuned text model's word embeddings stay fixed;
        None: as the recipe.
    text_trainable_layers : int or None or str
        Top layers of the fine-tuned text model that train (None: all);
        ``"recipe"`` (default): as the recipe's ``text_trainable_layers``.
    recipe : dict, optional
        The recipe's settings (default: :func:`recipe_settings`).

    Example
    -------
    >>> config = BenchConfig(quick=True, repeats=3, work="/tmp/w")
    >>> config.profile_name, config.profile["repeats"], config.work_dir
    ('quick', 3, '/tmp/w/quick')
    >>> config.models_built
    False
    >>> BenchConfig(text_trainable_layers=2).text_trainable_layers
    2
    """

    quick: bool = False
    large: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    threads: int = 1
    clock: str = "wall"
    repeats: int = None
    no_scaling: bool = False
    work: str = os.path.join(HERE, "work")
    fused_adamw: bool = None
    freeze_text_word_embeddings: bool = None
    text_trainable_layers: object = FROM_RECIPE
    recipe: dict = None

    def __post_init__(self):
        if self.quick and self.large:
            raise ValueError("quick and large are exclusive")
        self.profile_name = (
            "quick" if self.quick else "large" if self.large else "base"
        )
        self.profile = dict(PROFILES[self.profile_name])
        if self.repeats:
            self.profile["repeats"] = self.repeats
            self.profile["inference_repeats"] = self.repeats
        self.work_dir = os.path.abspath(
            os.path.join(self.work, self.profile_name)
        )
        if self.recipe is None:
            self.recipe = recipe_settings()
        if self.fused_adamw is None:
            self.fused_adamw = bool(self.recipe["fused_adamw"])
        if self.freeze_text_word_embeddings is None:
            self.freeze_text_word_embeddings = bool(
                self.recipe["freeze_text_word_embeddings"]
            )
        if self.text_trainable_layers == FROM_RECIPE:
            self.text_trainable_layers = self.recipe["text_trainable_layers"]

    @functools.cached_property
    def model_dirs(self):
        """The SSL model, text model and export folders, built (or found
        in the cache) on first use: ``{"ssl", "text", "export"}``."""
        from bench import models

        log(f"profile {self.profile_name}: building models in {self.work_dir}")
        os.makedirs(self.work_dir, exist_ok=True)
        ssl_dir = models.save_ssl_model(
            os.path.join(self.work_dir, "ssl"), self.profile["ssl_config"]
        )
        text_dir = models.save_text_model(
            os.path.join(self.work_dir, "text"), self.profile["text_config"]
        )
        export_dir = models.make_export(
            ssl_dir, text_dir, os.path.join(self.work_dir, "export"), self
        )
        return {"ssl": ssl_dir, "text": text_dir, "export": export_dir}

    @property
    def ssl_dir(self):
        """The SSL (WavLM) model folder."""
        return self.model_dirs["ssl"]

    @property
    def text_dir(self):
        """The text (RoBERTa) model folder."""
        return self.model_dirs["text"]

    @property
    def export_dir(self):
        """The GEmo-CLAP export folder."""
        return self.model_dirs["export"]

    @property
    def models_built(self):
        """Whether a phase has used the models in this run."""
        return "model_dirs" in self.__dict__

    def models_meta(self):
        """The ``models`` entry of the results (names, config overrides,
        parameter counts); None when no phase used the models.

        Returns
        -------
        dict or None
            The entry.
        """
        if not self.models_built:
            return None
        from bench.models import count_parameters

        return {
            "ssl": {
                "name": self.profile["ssl_name"],
                "config_overrides": self.profile["ssl_config"],
                "parameters": count_parameters(self.ssl_dir),
            },
            "text": {
                "name": self.profile["text_name"],
                "config_overrides": self.profile["text_config"],
                "parameters": count_parameters(self.text_dir),
            },
            "random_weights": True,
        }
