"""Ready-to-use GEmo-CLAP inference: ``GEmoCLAP``, a SpeechBrain
``Pretrained`` interface over the folder ``speechbrain_gemo.export`` writes.

Loading (no network needed for a local folder)::

    from speechbrain_gemo.inference import GEmoCLAP
    model = GEmoCLAP.from_hparams(source="results/.../export")
    out_prob, score, index, text_lab = model.classify_file("x.wav")

or through SpeechBrain's ``foreign_class(source=folder,
pymodule_file="custom_interface.py", classname="GEmoCLAP")``.

What is loaded when:

- at load time: the SSL model (``ssl_model/``), the audio projection head
  and the temperatures (``model.ckpt``), and the stored class prompts'
  embeddings (``prompt_embeddings.ckpt``). Classifying with the stored
  prompts is one pass of the audio tower;
- on the first call that needs text (``encode_text``, prompts other than
  the stored ones): the text model (``text_model/``) with its projection
  head. Each prompt set's embeddings are then cached, so they are computed
  again only when the prompts change. ``unload_text_model()`` frees it.

Long audio (longer than ``window_seconds``, 20 s by default) is cut into
windows of ``window_seconds`` overlapping by ``overlap_seconds`` (2 s),
the last one ending at the end of the file; the windows go through the
SSL model one at a time, so the peak memory is that of one window. Each
window's SSL features are mean-pooled as usual and the windows' pooled
features are averaged, weighted by their numbers of frames, before the
projection head: this is the utterance-level mean pooling of the
unwindowed model, except that each frame only sees the context of its
window and overlapping frames count twice. (Averaging the normalised
per-window embeddings instead would not match the unwindowed model even
for a linear head.)

Authors
 * speechbrain-gemo developers 2026
"""

import os
from collections import OrderedDict

import torch
import torch.nn.functional as F
from speechbrain.dataio import audio_io
from speechbrain.inference.interfaces import (
    Pretrained,
    pretrained_from_hparams,
)
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    mark_as_transfer,
    register_checkpoint_hooks,
)
from speechbrain.utils.fetching import FetchConfig
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.model import class_probabilities

logger = get_logger(__name__)

# Receptive field of the wav2vec 2.0-family CNN, when a config lacks it
_DEFAULT_RECEPTIVE_FIELD = 400
# Prompt sets whose embeddings are kept (the stored ones are always kept)
_PROMPT_CACHE_SIZE = 32


class AudioInputError(ValueError):
    """Audio that cannot be classified: unreadable, empty, not finite or
    shorter than the model's receptive field.

    Arguments
    ---------
    message : str
        What is wrong.
    path : str, optional
        The file (or a description of the batch item) it is about.

    Example
    -------
    >>> str(AudioInputError("the file is empty", "a.wav"))
    'a.wav: the file is empty'
    """

    def __init__(self, message, path=None):
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(message if path is None else f"{path}: {message}")


class ExportLoadError(RuntimeError):
    """A file of an exported model folder that is missing, damaged or does
    not match the rest of the folder.

    Arguments
    ---------
    message : str
        What is wrong.
    path : str
        The file or folder.

    Example
    -------
    >>> str(ExportLoadError("damaged", "/m/model.ckpt"))
    'cannot load /m/model.ckpt: damaged'
    """

    def __init__(self, message, path):
        self.path = str(path)
        super().__init__(f"cannot load {path}: {message}")


def load_checkpoint(path):
    """Loads a tensor checkpoint safely (``weights_only=True``) on the CPU,
    with an error naming the file when it is missing or damaged.

    Arguments
    ---------
    path : str
        A file written by ``torch.save``.

    Returns
    -------
    object
        The loaded tensors (a dict).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.ckpt")
    >>> torch.save({"a": torch.ones(2)}, path)
    >>> load_checkpoint(path)
    {'a': tensor([1., 1.])}
    >>> with open(path, "r+b") as f:
    ...     _ = f.truncate(40)
    >>> load_checkpoint(path)
    Traceback (most recent call last):
    ...
    speechbrain_gemo.inference.ExportLoadError: cannot load .../x.ckpt: ...
    """
    if not os.path.isfile(path):
        raise ExportLoadError("the file does not exist", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ExportLoadError(
            "the file is damaged or not a tensor checkpoint "
            f"({type(err).__name__}: {_first_sentence(err)})",
            path,
        ) from err


def _first_sentence(err):
    # Library messages can run to pages; the first sentence says enough
    text = " ".join(str(err).split())
    if len(text) <= 200:
        return text
    end = text.find(". ")
    return text[: end + 1] if 0 < end < 300 else text[:300]


@register_checkpoint_hooks
class CheckpointFile:
    """A file of tensors loaded by SpeechBrain's ``Pretrainer`` with
    :func:`load_checkpoint` (``weights_only=True``, clear errors); the
    interface reads ``path`` and ``data`` afterwards.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.ckpt")
    >>> torch.save({"a": torch.zeros(1)}, path)
    >>> holder = CheckpointFile()
    >>> holder.load(path)
    >>> holder.data
    {'a': tensor([0.])}
    """

    def __init__(self):
        self.path = None
        self.data = None

    @mark_as_transfer
    def load(self, path):
        """Loads the file.

        Arguments
        ---------
        path : str
            The file.
        """
        self.data = load_checkpoint(str(path))
        self.path = str(path)

    @mark_as_loader
    def _recover(self, path, end_of_epoch):
        del end_of_epoch
        self.load(path)

    @mark_as_saver
    def _save(self, path):
        torch.save(self.data, path)


def receptive_field(config):
    """Number of input samples that make one frame of a wav2vec 2.0-family
    CNN: shorter audio produces no frame at all.

    Arguments
    ---------
    config : transformers.PretrainedConfig or None
        The SSL model's config (``conv_kernel``, ``conv_stride``).

    Returns
    -------
    int
        The receptive field in samples (400, i.e. 25 ms at 16 kHz, for the
        standard CNN).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> receptive_field(SimpleNamespace(
    ...     conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    ...     conv_stride=(5, 2, 2, 2, 2, 2, 2),
    ... ))
    400
    """
    kernels = getattr(config, "conv_kernel", None)
    strides = getattr(config, "conv_stride", None)
    if not kernels or not strides or len(kernels) != len(strides):
        return _DEFAULT_RECEPTIVE_FIELD
    field, jump = 1, 1
    for kernel, stride in zip(kernels, strides):
        field += (kernel - 1) * jump
        jump *= stride
    return field


def window_bounds(num_samples, window, overlap):
    """Start and end samples of the analysis windows of a long signal.

    Windows of ``window`` samples start every ``window - overlap`` samples;
    the last one is moved back to end at the end of the signal, so every
    window is full length. A signal no longer than ``window`` is one window.

    Arguments
    ---------
    num_samples : int
        Length of the signal.
    window : int
        Window length in samples.
    overlap : int
        Overlap of consecutive windows in samples (``< window``).

    Returns
    -------
    list of tuple
        ``(start, end)`` pairs covering the signal.

    Example
    -------
    >>> window_bounds(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    >>> window_bounds(11, 4, 1)
    [(0, 4), (3, 7), (6, 10), (7, 11)]
    >>> window_bounds(3, 4, 1)
    [(0, 3)]
    """
    if window <= 0 or not 0 <= overlap < window:
        raise ValueError(
            f"need 0 <= overlap < window, got window={window}, "
            f"overlap={overlap}"
        )
    if num_samples <= window:
        return [(0, num_samples)]
    hop = window - overlap
    starts = list(range(0, num_samples - window, hop))
    starts.append(num_samples - window)
    return [(start, start + window) for start in starts]


def prompt_dict(prompts):
    """Normalises prompts given at call time to label -> list of strings.

    Arguments
    ---------
    prompts : dict or list
        Label to prompt (a string) or prompt ensemble (a list of strings);
        or a list of strings, each its own label and prompt.

    Returns
    -------
    dict
        Label to list of strings, in the given order.

    Example
    -------
    >>> prompt_dict({"calm": "A calm voice.", "joy": ["Joy.", "Happy."]})
    {'calm': ['A calm voice.'], 'joy': ['Joy.', 'Happy.']}
    >>> prompt_dict(["calm", "tense"])
    {'calm': ['calm'], 'tense': ['tense']}
    """
    if isinstance(prompts, (list, tuple)):
        prompts = {text: [text] for text in prompts}
    if not isinstance(prompts, dict) or not prompts:
        raise ValueError(
            "prompts must be a non-empty dict label -> prompt or list of "
            f"prompts (or a list of prompts), got {prompts!r}"
        )
    out = {}
    for label, texts in prompts.items():
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or not all(isinstance(t, str) and t for t in texts):
            raise ValueError(
                f"prompts[{label!r}] must be a non-empty string or list of "
                f"non-empty strings, got {texts!r}"
            )
        out[label] = texts
    return out


def _prompt_key(prompts):
    return tuple((label, tuple(texts)) for label, texts in prompts.items())


def _check_hf_folder(folder, what):
    """Clear errors for a missing or incomplete Hugging Face folder (the
    SpeechBrain wrappers would otherwise fail obscurely or go online)."""
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise ExportLoadError(f"no {what} here (config.json missing)", folder)
    if not any(
        name.endswith((".safetensors", ".bin")) for name in os.listdir(folder)
    ):
        raise ExportLoadError(
            f"the {what}'s weights (*.safetensors or *.bin) are missing",
            folder,
        )


def _looks_like_path(source):
    source = str(source)
    return (
        os.path.isabs(source)
        or source.startswith((".", "~"))
        or source.count("/") != 1
        or os.sep != "/"
        and os.sep in source
    )


class GEmoCLAP(Pretrained):
    """A GEmo-CLAP speech emotion recogniser, loaded from an exported
    folder (see ``speechbrain_gemo.export``), with the calls of
    SpeechBrain's ``EncoderClassifier`` and the CLAP ones.

    - ``classify_file(path)`` / ``classify_batch(wavs, wav_lens)``: the
      ``(out_prob, score, index, text_lab)`` of ``EncoderClassifier``,
      ``out_prob`` being *probabilities* (not log-probabilities) over the
      classes in label order (``labels``);
    - ``predict_file`` / ``predict_batch``: a dict with the emotion and,
      for ML-GEmo-CLAP models, gender probabilities, from one audio pass;
    - ``encode_batch``: L2-normalised audio embeddings;
    - ``encode_text`` / ``encode_prompts``: L2-normalised text embeddings;
    - every classifying call takes ``prompts=`` (zero-shot classes: label
      to prompt or list of prompts, ensembled); ``set_prompts`` changes the
      default classes.

    Inputs to the ``*_batch`` calls are ``N x T`` waveforms at
    ``sample_rate`` (16 kHz), mono (``N x T x C`` is averaged over
    channels), with SpeechBrain relative lengths; files are read with
    SpeechBrain's audio normaliser (any sample rate and channel count).
    Audio that cannot be used raises :class:`AudioInputError` naming the
    file; a damaged export raises :class:`ExportLoadError` naming the file.

    Arguments
    ---------
    modules : dict, optional
        Prebuilt modules (normally empty: the towers are built here from
        the hyperparameters).
    hparams : dict
        The export's hyperparameters, as loaded by ``from_hparams``.
    run_opts : dict, optional
        SpeechBrain run options, e.g. ``{"device": "cuda:0"}``.
    freeze_params : bool
        Freeze the parameters and use eval mode (inference).

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> folder = save_tiny_export(str(tmp / "export"))
    >>> model = GEmoCLAP.from_hparams(source=folder)
    >>> out_prob, score, index, text_lab = model.classify_batch(
    ...     torch.randn(2, 8000), torch.tensor([1.0, 0.6]))
    >>> out_prob.shape, model.labels, model.text_model_loaded
    (torch.Size([2, 4]), ('neu', 'hap', 'ang', 'sad'), False)
    >>> probs = model.classify_batch(
    ...     torch.randn(1, 8000), prompts={"calm": "A calm voice.",
    ...     "tense": ["A tense voice.", "A nervous voice."]})[0]
    >>> probs.shape, model.text_model_loaded
    (torch.Size([1, 2]), True)
    """

    HPARAMS_NEEDED = [
        "sample_rate",
        "emotion_prompts",
        "audio_encoder",
        "text_encoder",
        "model",
        "head_weights",
        "prompt_weights",
    ]

    def __init__(
        self, modules=None, hparams=None, run_opts=None, freeze_params=True
    ):
        hparams = dict(hparams or {})
        missing = [key for key in self.HPARAMS_NEEDED if key not in hparams]
        if missing:
            raise ValueError(
                f"not a GEmo-CLAP export: hyperparams lack {missing} (export "
                "folders are written by speechbrain_gemo.export)"
            )
        folder = _find_export_folder(hparams)
        hparams["export_folder"] = folder
        modules = dict(modules or {})
        if "model" not in modules:
            modules["model"] = self._build_model(hparams, folder)
        super().__init__(modules, hparams, run_opts, freeze_params)
        # On the CPU, PyTorch multiplies the transposed activations of HF
        # attention by a weight that does not require grad through a slower
        # batched path (pytorch/pytorch#166891): about 20 % of a WavLM-base
        # forward (bench/README.md). Nothing here builds a graph (the SSL
        # wrapper is frozen, so its forward runs under no_grad, as does
        # every method of this class), so the flag costs nothing.
        ssl_model = self.mods.model.audio_encoder.ssl_model
        for param in ssl_model.parameters():
            param.requires_grad = True
        self.export_folder = folder
        self.sample_rate = int(hparams["sample_rate"])
        config = self.mods.model.audio_encoder.ssl_model.model.config
        self.min_samples = receptive_field(config)
        self.window_seconds = hparams.get("window_seconds", 20.0)
        self.overlap_seconds = hparams.get("overlap_seconds", 2.0)
        self._load_prompt_embeddings(hparams)
        self._load_label_encoder(hparams)

    # ------------------------------------------------------------------
    # Loading
    # ------------------------------------------------------------------
    @classmethod
    def from_hparams(
        cls,
        source,
        hparams_file="hyperparams.yaml",
        savedir=None,
        overrides=None,
        **kwargs,
    ):
        """Loads an exported folder, local or on the Hugging Face Hub.

        A local folder is used in place (with ``savedir``, SpeechBrain
        links its small files there, refreshed at each load); nothing
        touches the network. A hub id (``owner/name``) is first downloaded
        whole with ``huggingface_hub.snapshot_download`` into ``savedir``
        (or the Hugging Face cache), then loaded as a local folder.

        Arguments
        ---------
        source : str
            The export folder, or a Hugging Face Hub model id.
        hparams_file : str
            The hyperparameters file in the folder.
        savedir : str, optional
            Where to link the small files (local source) or download the
            folder (hub id).
        overrides : dict or str, optional
            Hyperparameter overrides, e.g. ``{"window_seconds": 30.0}``
            (or the same as YAML text).
        **kwargs : dict
            Passed to SpeechBrain's ``pretrained_from_hparams`` (e.g.
            ``run_opts={"device": "cuda:0"}``, ``fetch_config``).

        Returns
        -------
        GEmoCLAP
            The loaded interface.
        """
        folder = resolve_source(source, savedir, kwargs.get("fetch_config"))
        if isinstance(overrides, str):  # YAML text, as SpeechBrain allows
            import ruamel.yaml

            overrides = ruamel.yaml.YAML(typ="safe").load(overrides)
        overrides = dict(overrides or {})
        overrides.setdefault("export_folder", folder)
        if savedir is not None and "fetch_config" not in kwargs:
            # Re-link the files at every load: a savedir reused for another
            # folder would otherwise keep serving the old files
            kwargs["fetch_config"] = FetchConfig(overwrite=True)
        return pretrained_from_hparams(
            cls=cls,
            source=folder,
            hparams_file=hparams_file,
            savedir=savedir,
            overrides=overrides,
            **kwargs,
        )

    @staticmethod
    def _build_model(hparams, folder):
        ssl_dir = os.path.join(folder, "ssl_model")
        _check_hf_folder(ssl_dir, "SSL speech model")
        try:
            audio_encoder = hparams["audio_encoder"](source=ssl_dir)
        except Exception as err:
            raise ExportLoadError(
                f"the SSL speech model does not load ({err})", ssl_dir
            ) from err
        model = hparams["model"](audio_encoder=audio_encoder, text_encoder=None)
        holder = hparams["head_weights"]
        state = holder.data
        if not isinstance(state, dict):
            raise ExportLoadError("not a state dict", holder.path)
        head = {
            k: v for k, v in state.items() if not k.startswith("text_encoder.")
        }
        result = model.load_state_dict(head, strict=False)
        missing = [
            k
            for k in result.missing_keys
            if not k.startswith("audio_encoder.ssl_model.")
        ]
        if missing or result.unexpected_keys:
            raise ExportLoadError(
                "the weights do not match hyperparams.yaml (missing: "
                f"{missing}, unexpected: {result.unexpected_keys})",
                holder.path,
            )
        return model

    def _load_prompt_embeddings(self, hparams):
        holder = hparams["prompt_weights"]
        stored = holder.data
        model = self.mods.model
        dim = model.audio_encoder.projection.output_size
        expected = {"emotion": len(model.emotion_labels)}
        if model.has_gender:
            expected["gender"] = len(model.gender_labels)
        if not isinstance(stored, dict) or set(stored) != set(expected):
            got = sorted(stored) if isinstance(stored, dict) else stored
            raise ExportLoadError(
                f"expected the embeddings {sorted(expected)}, got {got}",
                holder.path,
            )
        for name, count in expected.items():
            emb = stored[name]
            if not torch.is_tensor(emb) or tuple(emb.shape) != (count, dim):
                raise ExportLoadError(
                    f"'{name}' should be a {count} x {dim} tensor, got "
                    f"{getattr(emb, 'shape', type(emb).__name__)}",
                    holder.path,
                )
        self._prompt_cache = OrderedDict()
        self.stored_prompts = {"emotion": dict(model.emotion_prompts)}
        self._prompt_cache[_prompt_key(model.emotion_prompts)] = stored[
            "emotion"
        ].to(self.device)
        if model.has_gender:
            self.stored_prompts["gender"] = dict(model.gender_prompts)
            self._prompt_cache[_prompt_key(model.gender_prompts)] = stored[
                "gender"
            ].to(self.device)
        self._pinned = set(self._prompt_cache)
        self._prompts = {
            name: dict(prompts) for name, prompts in self.stored_prompts.items()
        }
        self._text_head = {
            k[len("text_encoder.") :]: v
            for k, v in hparams["head_weights"].data.items()
            if k.startswith("text_encoder.")
        }
        # Everything else is now in the modules: no second copy
        hparams["head_weights"].data = None
        holder.data = None

    def _load_label_encoder(self, hparams):
        path = os.path.join(self.export_folder, "label_encoder.txt")
        encoder = hparams.get("label_encoder")
        if encoder is None or not os.path.isfile(path):
            return
        try:
            encoder.load(path)
            labels = tuple(
                encoder.ind2lab[i] for i in range(len(encoder.ind2lab))
            )
        except Exception as err:
            raise ExportLoadError(
                f"damaged label encoder ({err})", path
            ) from err
        if labels != self.mods.model.emotion_labels:
            raise ExportLoadError(
                f"its classes {list(labels)} differ from the emotion prompts "
                f"{list(self.mods.model.emotion_labels)} of hyperparams.yaml",
                path,
            )

    # ------------------------------------------------------------------
    # Text tower and prompts
    # ------------------------------------------------------------------
    @property
    def labels(self):
        """tuple: the emotion classes of ``classify_*`` in probability
        order (the stored ones unless changed with ``set_prompts``)."""
        return tuple(self._prompts["emotion"])

    @property
    def gender_labels(self):
        """tuple: the gender classes (empty without gender prompts)."""
        return tuple(self._prompts.get("gender", ()))

    @property
    def has_gender(self):
        """bool: whether the model predicts gender (ML-GEmo-CLAP)."""
        return "gender" in self._prompts

    @property
    def text_model_loaded(self):
        """bool: whether the text tower is in memory."""
        return self.mods.model.text_encoder is not None

    def _text_tower(self):
        model = self.mods.model
        if model.text_encoder is not None:
            return model.text_encoder
        folder = os.path.join(self.export_folder, "text_model")
        _check_hf_folder(folder, "text model")
        try:
            tower = self.hparams.text_encoder(source=folder)
        except Exception as err:
            raise ExportLoadError(
                f"the text model does not load ({err})", folder
            ) from err
        result = tower.load_state_dict(self._text_head, strict=False)
        missing = [
            k for k in result.missing_keys if not k.startswith("text_model.")
        ]
        if missing or result.unexpected_keys:
            raise ExportLoadError(
                "the text projection weights do not match hyperparams.yaml "
                f"(missing: {missing}, unexpected: {result.unexpected_keys})",
                os.path.join(self.export_folder, "model.ckpt"),
            )
        tower.to(self.device).eval()
        for param in tower.parameters():
            param.requires_grad = False
        model.text_encoder = tower
        logger.info(f"Loaded the text model from {folder}")
        return tower

    def unload_text_model(self):
        """Frees the text tower (it is built again when needed); the
        prompt embeddings computed so far stay cached."""
        self.mods.model.text_encoder = None

    @torch.no_grad()
    def encode_text(self, texts):
        """L2-normalised text embeddings (loads the text model if needed).

        Arguments
        ---------
        texts : list of str
            Texts to embed.

        Returns
        -------
        torch.Tensor
            ``len(texts) x d`` unit-norm embeddings.
        """
        if isinstance(texts, str):
            texts = [texts]
        self._text_tower()
        return self.mods.model.encode_text(list(texts))

    @torch.no_grad()
    def encode_prompts(self, prompts):
        """One embedding per class, with prompt ensembling, cached per
        prompt set (the stored prompts come from the export).

        Arguments
        ---------
        prompts : dict or list
            Label to prompt or list of prompts (see :func:`prompt_dict`).

        Returns
        -------
        torch.Tensor
            ``K x d`` unit-norm class embeddings, in label order.
        """
        prompts = prompt_dict(prompts)
        key = _prompt_key(prompts)
        if key in self._prompt_cache:
            self._prompt_cache.move_to_end(key)
            return self._prompt_cache[key]
        self._text_tower()
        emb = self.mods.model.encode_prompts(prompts)
        self._prompt_cache[key] = emb
        unpinned = [k for k in self._prompt_cache if k not in self._pinned]
        while len(unpinned) > _PROMPT_CACHE_SIZE:
            del self._prompt_cache[unpinned.pop(0)]
        return emb

    def set_prompts(self, emotion_prompts=None, gender_prompts=None):
        """Changes the default classes of the classifying calls; their
        embeddings are computed now, once.

        Arguments
        ---------
        emotion_prompts : dict or list, optional
            New emotion classes (label to prompt(s)); None keeps them.
        gender_prompts : dict or list, optional
            New gender classes (ML-GEmo-CLAP models only); None keeps them.
        """
        if gender_prompts is not None and not self.has_gender:
            raise RuntimeError(
                "this model has no gender branch (not ML-GEmo-CLAP)"
            )
        for name, prompts in (
            ("emotion", emotion_prompts),
            ("gender", gender_prompts),
        ):
            if prompts is not None:
                prompts = prompt_dict(prompts)
                key = _prompt_key(prompts)
                self.encode_prompts(prompts)
                self._pinned.add(key)
                self._prompts[name] = prompts

    def reset_prompts(self):
        """Goes back to the classes stored in the export."""
        self._prompts = {
            name: dict(prompts) for name, prompts in self.stored_prompts.items()
        }

    # ------------------------------------------------------------------
    # Audio
    # ------------------------------------------------------------------
    def load_audio(self, path, savedir=None):
        """Reads an audio file as a mono waveform at ``sample_rate``, with
        errors naming the file.

        Arguments
        ---------
        path : str
            A local audio file (a URL or hub path is fetched as by
            SpeechBrain's ``Pretrained.load_audio``).
        savedir : str, optional
            Where to fetch remote files.

        Returns
        -------
        torch.Tensor
            The waveform, shape ``T``, on the model's device.
        """
        path = str(path)
        try:
            if os.path.exists(path) or "://" not in path:
                if not os.path.isfile(path):
                    raise AudioInputError("no such file", path)
                signal, sr = audio_io.load(path, channels_first=False)
                signal = signal.to(self.device)
                if signal.numel() == 0:
                    raise AudioInputError("the file has no audio samples", path)
                signal = self.audio_normalizer(signal, sr)
            else:
                signal = super().load_audio(path, savedir=savedir)
        except AudioInputError:
            raise
        except Exception as err:
            raise AudioInputError(
                f"cannot read audio ({type(err).__name__}: "
                f"{_first_sentence(err)})",
                path,
            ) from err
        self._check_signal(signal, path)
        return signal

    def _check_signal(self, signal, name, check_values=True):
        samples = signal.shape[0]
        if samples == 0:
            raise AudioInputError("the audio is empty", name)
        if samples < self.min_samples:
            raise AudioInputError(
                f"the audio is {samples / self.sample_rate * 1000:.1f} ms "
                f"long ({samples} samples at {self.sample_rate} Hz), shorter "
                f"than the model's receptive field of {self.min_samples} "
                f"samples ({self.min_samples / self.sample_rate * 1000:.0f} "
                "ms)",
                name,
            )
        if check_values and not torch.isfinite(signal).all():
            raise AudioInputError("the audio has NaN or infinite samples", name)

    def _prepare_batch(self, wavs, wav_lens, names=None):
        """Moves a batch to the device and checks every item; returns the
        waveforms, relative lengths and absolute lengths."""
        if not torch.is_tensor(wavs):
            wavs = torch.as_tensor(wavs)
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        elif wavs.dim() == 3:
            wavs = wavs.mean(dim=-1)  # N x T x C: average the channels
        elif wavs.dim() != 2:
            raise ValueError(
                f"wavs must be N x T (or T, or N x T x C), got shape "
                f"{tuple(wavs.shape)}"
            )
        wavs = wavs.to(self.device).float()
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0], device=self.device)
        wav_lens = torch.as_tensor(wav_lens, device=self.device).float()
        samples = torch.round(wav_lens * wavs.shape[1]).long()
        counts = samples.tolist()
        for i, count in enumerate(counts):
            name = names[i] if names else f"batch item {i}"
            self._check_signal(wavs[i, :count], name, check_values=False)
        # One check for the whole batch; per item only to name the culprit
        if not torch.isfinite(wavs).all():
            for i, count in enumerate(counts):
                name = names[i] if names else f"batch item {i}"
                self._check_signal(wavs[i, :count], name)
        return wavs, wav_lens, samples

    def _window_sizes(self, window_seconds, overlap_seconds):
        window = (
            self.window_seconds if window_seconds is None else window_seconds
        )
        overlap = (
            self.overlap_seconds if overlap_seconds is None else overlap_seconds
        )
        if window is None or window <= 0:
            return None, None
        window = int(round(window * self.sample_rate))
        overlap = int(round((overlap or 0.0) * self.sample_rate))
        if window < self.min_samples or not 0 <= overlap < window:
            raise ValueError(
                f"need window_seconds >= {self.min_samples} samples and "
                "0 <= overlap_seconds < window_seconds, got "
                f"{window_seconds}, {overlap_seconds}"
            )
        return window, overlap

    def _embed(self, wavs, wav_lens, samples, window_seconds, overlap_seconds):
        """Unit-norm audio embeddings; items longer than the window are
        embedded window by window (see the module docstring)."""
        model = self.mods.model
        window, overlap = self._window_sizes(window_seconds, overlap_seconds)
        if window is None or int(samples.max()) <= window:
            return model.encode_audio(wavs, wav_lens)
        long_items = (samples > window).nonzero().flatten().tolist()
        short_items = (samples <= window).nonzero().flatten().tolist()
        out = [None] * wavs.shape[0]
        if short_items:
            # Trim the padding the long items added: padding invariance
            # makes this the same as embedding them on their own
            length = int(samples[short_items].max())
            short = wavs[short_items, :length]
            lens = samples[short_items].float() / length
            for i, emb in zip(short_items, model.encode_audio(short, lens)):
                out[i] = emb
        encoder = model.audio_encoder
        for i in long_items:
            total, frames = None, 0
            for start, end in window_bounds(int(samples[i]), window, overlap):
                pooled = encoder.pool(wavs[i : i + 1, start:end])[0]
                count = int(
                    encoder.frame_lengths(torch.tensor([end - start]))[0]
                )
                pooled = pooled * count
                total = pooled if total is None else total + pooled
                frames += count
            out[i] = F.normalize(encoder.projection(total / frames), dim=-1)
        return torch.stack(out)

    # ------------------------------------------------------------------
    # Public calls
    # ------------------------------------------------------------------
    @torch.no_grad()
    def encode_batch(
        self, wavs, wav_lens=None, window_seconds=None, overlap_seconds=None
    ):
        """L2-normalised audio embeddings.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` waveforms at ``sample_rate`` (or ``T``).
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths (None: all full length).
        window_seconds : float, optional
            Items longer than this are embedded in windows (default: the
            export's ``window_seconds``; ``0`` never splits).
        overlap_seconds : float, optional
            Overlap of the windows (default: the export's).

        Returns
        -------
        torch.Tensor
            ``N x d`` unit-norm embeddings.
        """
        wavs, wav_lens, samples = self._prepare_batch(wavs, wav_lens)
        return self._embed(
            wavs, wav_lens, samples, window_seconds, overlap_seconds
        )

    @torch.no_grad()
    def predict_batch(
        self,
        wavs,
        wav_lens=None,
        prompts=None,
        window_seconds=None,
        overlap_seconds=None,
        names=None,
    ):
        """Emotion and (ML-GEmo-CLAP) gender predictions from one pass of
        the audio tower.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` waveforms at ``sample_rate`` (or ``T``).
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.
        prompts : dict or list, optional
            Zero-shot classes to score instead of the default ones: label
            to prompt or list of prompts (ensembled).
        window_seconds : float, optional
            See ``encode_batch``.
        overlap_seconds : float, optional
            See ``encode_batch``.
        names : list of str, optional
            Names of the items (e.g. files) for error messages.

        Returns
        -------
        dict
            ``probs`` (``N x K``), ``labels`` (the K classes), ``score``
            and ``index`` (``N``, best class), ``text_lab`` (``N`` labels),
            ``embeddings`` (``N x d``) and, for models with a gender
            branch, ``gender_probs``, ``gender_labels``, ``gender_score``,
            ``gender_index`` and ``gender_lab``.
        """
        wavs, wav_lens, samples = self._prepare_batch(wavs, wav_lens, names)
        if prompts is None:
            prompts = self._prompts["emotion"]
        prompts = prompt_dict(prompts)
        class_emb = self.encode_prompts(prompts)
        audio = self._embed(
            wavs, wav_lens, samples, window_seconds, overlap_seconds
        )
        model = self.mods.model
        probs = class_probabilities(audio, class_emb, model.scale())
        score, index = probs.max(dim=-1)
        labels = tuple(prompts)
        out = {
            "probs": probs,
            "labels": labels,
            "score": score,
            "index": index,
            "text_lab": [labels[i] for i in index.tolist()],
            "embeddings": audio,
        }
        if self.has_gender:
            gender_emb = self.encode_prompts(self._prompts["gender"])
            gender = class_probabilities(
                audio, gender_emb, model.gender_scale()
            )
            gender_score, gender_index = gender.max(dim=-1)
            out["gender_probs"] = gender
            out["gender_labels"] = self.gender_labels
            out["gender_score"] = gender_score
            out["gender_index"] = gender_index
            out["gender_lab"] = [
                self.gender_labels[i] for i in gender_index.tolist()
            ]
        return out

    def predict_file(
        self, path, prompts=None, window_seconds=None, overlap_seconds=None
    ):
        """``predict_batch`` on one audio file of any sample rate and
        channel count.

        Arguments
        ---------
        path : str
            The audio file.
        prompts : dict or list, optional
            Zero-shot classes (see ``predict_batch``).
        window_seconds : float, optional
            Files longer than this are embedded in windows (default: the
            export's ``window_seconds``, 20 s; ``0`` never splits).
        overlap_seconds : float, optional
            Overlap of the windows (default: the export's, 2 s).

        Returns
        -------
        dict
            As ``predict_batch``, with a batch of one.
        """
        signal = self.load_audio(path)
        return self.predict_batch(
            signal.unsqueeze(0),
            prompts=prompts,
            window_seconds=window_seconds,
            overlap_seconds=overlap_seconds,
            names=[str(path)],
        )

    def classify_batch(self, wavs, wav_lens=None, prompts=None, **kwargs):
        """Classifies a batch, as SpeechBrain's ``EncoderClassifier``.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` waveforms at ``sample_rate`` (or ``T``).
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.
        prompts : dict or list, optional
            Zero-shot classes (see ``predict_batch``).
        **kwargs : dict
            ``window_seconds``, ``overlap_seconds`` (see ``encode_batch``).

        Returns
        -------
        out_prob : torch.Tensor
            ``N x K`` probabilities over the classes, in label order.
        score : torch.Tensor
            ``N`` probabilities of the best class.
        index : torch.Tensor
            ``N`` indices of the best class.
        text_lab : list of str
            ``N`` best labels.
        """
        out = self.predict_batch(wavs, wav_lens, prompts=prompts, **kwargs)
        return out["probs"], out["score"], out["index"], out["text_lab"]

    def classify_file(self, path, prompts=None, **kwargs):
        """Classifies an audio file of any sample rate and channel count.

        Arguments
        ---------
        path : str
            The audio file.
        prompts : dict or list, optional
            Zero-shot classes (see ``predict_batch``).
        **kwargs : dict
            ``window_seconds``, ``overlap_seconds`` (see ``predict_file``).

        Returns
        -------
        out_prob : torch.Tensor
            ``1 x K`` probabilities over the classes, in label order.
        score : torch.Tensor
            Probability of the best class, shape ``1``.
        index : torch.Tensor
            Index of the best class, shape ``1``.
        text_lab : list of str
            The best label.
        """
        out = self.predict_file(path, prompts=prompts, **kwargs)
        return out["probs"], out["score"], out["index"], out["text_lab"]

    def forward(self, wavs, wav_lens=None):
        """Runs ``classify_batch``.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        tuple
            As ``classify_batch``.
        """
        return self.classify_batch(wavs, wav_lens)


def resolve_source(source, savedir=None, fetch_config=None):
    """The local folder of an export: a local folder as an absolute path,
    or a Hugging Face Hub id downloaded with ``snapshot_download``.

    Arguments
    ---------
    source : str
        A local folder or a hub id (``owner/name``).
    savedir : str, optional
        Where to download a hub model (default: the Hugging Face cache).
    fetch_config : speechbrain.utils.fetching.FetchConfig, optional
        Its ``revision`` and ``token`` are used for a hub download.

    Returns
    -------
    str
        The absolute local folder.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> resolve_source(folder) == os.path.abspath(folder)
    True
    >>> resolve_source("/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: GEmo-CLAP export folder /no/such/folder does not exist
    """
    source = os.fspath(source)
    if os.path.isdir(source):
        return os.path.abspath(source)
    if _looks_like_path(source):
        raise FileNotFoundError(
            f"GEmo-CLAP export folder {source} does not exist"
        )
    import huggingface_hub

    revision = getattr(fetch_config, "revision", None)
    token = getattr(fetch_config, "token", None) or None
    try:
        return huggingface_hub.snapshot_download(
            repo_id=source, local_dir=savedir, revision=revision, token=token
        )
    except Exception as err:
        raise OSError(
            f"{source!r} is not a local folder, and downloading it from the "
            f"Hugging Face Hub failed ({type(err).__name__}: {err}). "
            "Offline, pass the path of a local export folder."
        ) from err


def _find_export_folder(hparams):
    """The export folder: given in the hyperparameters, or (foreign_class
    loads without filling it in) the folder of the fetched model.ckpt,
    following SpeechBrain's links back to the source folder."""
    folder = hparams.get("export_folder")
    if folder:
        return os.path.abspath(folder)
    path = getattr(hparams["head_weights"], "path", None)
    candidates = []
    while path:
        candidates.append(os.path.dirname(os.path.abspath(path)))
        if not os.path.islink(path):
            break
        target = os.readlink(path)
        path = os.path.join(os.path.dirname(path), target)
        if len(candidates) > 40:
            break
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, "ssl_model")):
            return candidate
    raise ExportLoadError(
        "cannot find the export folder (with ssl_model/) next to the "
        f"fetched model.ckpt (looked in {candidates}); load with "
        "GEmoCLAP.from_hparams(source=<folder>) or pass "
        "overrides={'export_folder': <folder>}",
        hparams["head_weights"].path or "model.ckpt",
    )
