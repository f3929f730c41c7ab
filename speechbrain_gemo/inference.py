"""Ready-to-use GEmo-CLAP inference: ``GEmoCLAP``, a SpeechBrain
``Pretrained`` interface over the folder ``speechbrain_gemo.export`` writes.

Loading (no network needed for a local folder)::

    from speechbrain_gemo.inference import GEmoCLAP
    model = GEmoCLAP.from_hparams(source="results/.../export")
    out_prob, score, index, text_lab = model.classify_file("x.wav")

``source`` is a local folder, or a Hugging Face Hub repository written
``hf://owner/name`` (optionally ``hf://owner/name@revision``, the URL form
of huggingface_hub's ``HfFileSystem``). Nothing else is looked up on the
hub: a local path that does not exist, ``exports/gemo`` included, is an
error naming it, never a download of whatever repository has that name
(see :func:`hub_repository`).

Or through SpeechBrain's ``foreign_class(source=folder,
pymodule_file="custom_interface.py", classname="GEmoCLAP")`` with a local
folder. SpeechBrain's ``Pretrainer`` fetches and loads ``model.ckpt``,
``prompt_embeddings.ckpt`` and ``label_encoder.ckpt``; the towers are built
from the Hugging Face folders ``ssl_model/`` and ``text_model/`` beside
them, in the folder where the file is named ``model.ckpt`` (in a Hugging
Face cache, a DVC or a git-annex folder that file is a link into a store of
blobs named by their hashes: see :func:`export_folder_of`).

What is loaded when:

- at load time: the SSL model, the audio projection head and the logit
  scales, and the stored class prompts' embeddings. Classifying with the
  stored prompts is one pass of the audio tower;
- on the first call that needs text (``encode_text``, prompts other than
  the stored ones): the text model with its projection head (the text
  model is not even imported before). Each prompt set's embeddings are then
  cached.

The parts, for other runtimes (e.g. an ONNX export of the audio tower):
``model.mods.model`` is the ``GEmoCLAPModel`` (``.audio_encoder``, the
audio tower mapping ``(wavs, wav_lens)`` to unnormalised embeddings;
``.scale()`` and ``.gender_scale()``, the multiplicative logit scales);
``model.emotion_prompt_embeddings`` and ``model.gender_prompt_embeddings``
are the stored ``K x d`` unit-norm class embeddings; the probabilities are
``softmax(scale * normalize(audio_encoder(wavs)) @ embeddings.T)``.

Long audio (longer than ``window_seconds``, 20 s by default) is cut into
windows of ``window_seconds`` overlapping by ``overlap_seconds`` (2 s),
the last one ending at the end of the file; the windows go through the
SSL model one at a time, so the peak memory is that of one window. The
windows' pooled SSL features are averaged, weighted by their numbers of
frames, before the projection head: the utterance-level mean pooling of
the unwindowed model, except that each frame only sees the context of its
window and overlapping frames count twice. (Averaging the normalised
per-window embeddings instead would not match the unwindowed model even
for a linear head.)

Authors
 * speechbrain-gemo developers 2026
"""

import os
import threading

import torch
import torch.nn.functional as F
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.checkpoints import (
    mark_as_transfer,
    register_checkpoint_hooks,
)
from speechbrain.utils.data_utils import split_path
from speechbrain.utils.fetching import FetchConfig, fetch

from speechbrain_gemo.audio_format import read_audio
from speechbrain_gemo.audio_windows import (  # noqa: F401 (re-exported)
    AudioInputError,
    check_audio,
    check_relative_lengths,
    model_windows,
    window_bounds,
    window_samples,
)
from speechbrain_gemo.dimensions import DIMENSIONS, from_unit
from speechbrain_gemo.errors import UserError
from speechbrain_gemo.known_warnings import silence_known_warnings
from speechbrain_gemo.model import class_probabilities
from speechbrain_gemo.prompts import label_words

# Prompt sets whose embeddings are kept besides the stored ones
_PROMPT_CACHE_SIZE = 32


class ExportLoadError(UserError, RuntimeError):
    """A file of an exported model folder that is missing, damaged or does
    not match the rest of the folder (a ``UserError``: the command line
    says it in one line).

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


def _first_sentence(err):
    """The start of an exception's message (library messages can run to
    pages; the first sentence says enough)."""
    text = " ".join(str(err).split())
    if len(text) <= 200:
        return text
    end = text.find(". ")
    return text[: end + 1] if 0 < end < 300 else text[:300]


@register_checkpoint_hooks
class TensorFile:
    """A file of tensors for SpeechBrain's ``Pretrainer``: loaded on the CPU
    with ``torch.load(weights_only=True)``, with errors naming the file.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.ckpt")
    >>> torch.save({"a": torch.zeros(1)}, path)
    >>> holder = TensorFile()
    >>> holder.load(path)
    >>> holder.data
    {'a': tensor([0.])}
    >>> with open(path, "r+b") as f:
    ...     _ = f.truncate(40)
    >>> holder.load(path)
    Traceback (most recent call last):
    ...
    speechbrain_gemo.inference.ExportLoadError: cannot load .../x.ckpt: ...
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
        self.path = str(path)
        try:
            self.data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ExportLoadError(
                "the file is damaged or not a tensor checkpoint "
                f"({type(err).__name__}: {_first_sentence(err)})",
                path,
            ) from err


def receptive_field(config):
    """Number of input samples that make one frame of a wav2vec 2.0-family
    CNN: shorter audio produces no frame at all.

    Arguments
    ---------
    config : transformers.PretrainedConfig
        The SSL model's config (``conv_kernel``, ``conv_stride``).

    Returns
    -------
    int
        The receptive field in samples.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> receptive_field(SimpleNamespace(
    ...     conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    ...     conv_stride=(5, 2, 2, 2, 2, 2, 2),
    ... ))
    400
    """
    field, jump = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        field += (kernel - 1) * jump
        jump *= stride
    return field


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


def check_signal(signal, name, sample_rate, min_samples, check_values=True):
    """Raises :class:`AudioInputError` naming ``name`` for empty audio,
    audio shorter than the receptive field or (``check_values``) audio
    with non-finite samples.

    Arguments
    ---------
    signal : torch.Tensor
        A waveform, shape ``T``.
    name : str
        The file or batch item, for the message.
    sample_rate : int
        Its sample rate.
    min_samples : int
        The model's receptive field (see :func:`receptive_field`).
    check_values : bool
        Also check that every sample is finite.

    Example
    -------
    >>> check_signal(torch.zeros(300), "a.wav", 16000, 400)
    Traceback (most recent call last):
    ...
    speechbrain_gemo.audio_windows.AudioInputError: a.wav: the audio is...
    """
    finite = not check_values or bool(torch.isfinite(signal).all())
    check_audio(signal.shape[0], name, sample_rate, min_samples, finite)


def check_batch(wavs, wav_lens, sample_rate, min_samples, names, device):
    """A batch of waveforms as ``N x T`` float on ``device``, every item
    checked with :func:`check_signal`.

    Arguments
    ---------
    wavs : torch.Tensor
        ``N x T`` (or ``T``, or ``N x T x C``, averaged over channels).
    wav_lens : torch.Tensor
        SpeechBrain relative lengths (None: all full length), one per
        waveform, each between 0 and 1 (else ValueError, see
        ``audio_windows.check_relative_lengths``).
    sample_rate : int
        The sample rate.
    min_samples : int
        The model's receptive field.
    names : list of str
        Names of the items for the errors (None: "batch item i").
    device : str
        The device.

    Returns
    -------
    tuple
        The waveforms and relative lengths.

    Example
    -------
    >>> wavs, lens = check_batch(
    ...     torch.ones(2, 800, 2), [1.0, 0.5], 16000, 400, None, "cpu")
    >>> wavs.shape, lens.tolist()
    (torch.Size([2, 800]), [1.0, 0.5])
    >>> check_batch(torch.ones(2, 800), [1.0, 0.4], 16000, 400, None, "cpu")
    Traceback (most recent call last):
    ...
    speechbrain_gemo.audio_windows.AudioInputError: batch item 1: the...
    """
    wavs = torch.as_tensor(wavs)
    if wavs.dim() == 1:
        wavs = wavs.unsqueeze(0)
    elif wavs.dim() == 3:
        wavs = wavs.mean(dim=-1)  # N x T x C: average the channels
    elif wavs.dim() != 2:
        raise ValueError(
            "wavs must be N x T (or T, or N x T x C), got shape "
            f"{tuple(wavs.shape)}"
        )
    wavs = wavs.to(device).float()
    if wav_lens is None:
        wav_lens = torch.ones(wavs.shape[0])
    wav_lens = torch.as_tensor(wav_lens, device=device).float().reshape(-1)
    check_relative_lengths(wav_lens.tolist(), wavs.shape[0])
    samples = torch.round(wav_lens * wavs.shape[1]).long()
    # One finiteness check for the batch; per item only to name it
    finite = bool(torch.isfinite(wavs).all())
    for i, count in enumerate(samples.tolist()):
        name = names[i] if names else f"batch item {i}"
        check_signal(
            wavs[i, :count], name, sample_rate, min_samples, not finite
        )
    return wavs, wav_lens


def embed_audio(model, wavs, wav_lens, window, overlap):
    """Unit-norm audio embeddings of a ``GEmoCLAPModel``; items longer than
    ``window`` samples are embedded window by window (see the module
    docstring).

    Arguments
    ---------
    model : GEmoCLAPModel
        The model.
    wavs : torch.Tensor
        ``N x T`` padded waveforms.
    wav_lens : torch.Tensor
        ``N`` SpeechBrain relative lengths.
    window : int
        Window length in samples (0: never split), checked by
        ``audio_windows.window_samples``.
    overlap : int
        Overlap of consecutive windows in samples.

    Returns
    -------
    torch.Tensor
        ``N x d`` embeddings.
    """
    return embed_audio_and_avd(model, wavs, wav_lens, window, overlap)[0]


def embed_audio_and_avd(model, wavs, wav_lens, window, overlap):
    """:func:`embed_audio`, with the dimensional head's outputs for a model
    that has it, from the same pass of the audio tower: the head reads the
    pooled features the projection head reads (for a long item, the
    windows' frame-weighted average).

    Arguments
    ---------
    model : GEmoCLAPModel
        The model.
    wavs : torch.Tensor
        ``N x T`` padded waveforms.
    wav_lens : torch.Tensor
        ``N`` SpeechBrain relative lengths.
    window : int
        Window length in samples (0: never split).
    overlap : int
        Overlap of consecutive windows in samples.

    Returns
    -------
    embeddings : torch.Tensor
        ``N x d`` embeddings.
    avd : torch.Tensor or None
        ``N x 3`` arousal, valence, dominance on [0, 1] (None without the
        head).
    """
    samples = torch.round(wav_lens * wavs.shape[1]).long()
    if window <= 0 or int(samples.max()) <= window:
        return model.encode_audio_and_avd(wavs, wav_lens)
    encoder = model.audio_encoder
    out = [None] * wavs.shape[0]
    avd = [None] * wavs.shape[0]
    short = (samples <= window).nonzero().flatten().tolist()
    if short:
        # Trim the padding the long items added: padding invariance makes
        # this the same as embedding them on their own
        length = int(samples[short].max())
        lens = samples[short].float() / length
        emb, heads = model.encode_audio_and_avd(wavs[short, :length], lens)
        for k, i in enumerate(short):
            out[i] = emb[k]
            avd[i] = None if heads is None else heads[k]
    for i in (samples > window).nonzero().flatten().tolist():
        total, frames = 0.0, 0
        for start, end in window_bounds(int(samples[i]), window, overlap):
            count = int(encoder.frame_lengths(torch.tensor([end - start])))
            total = total + count * encoder.pool(wavs[i : i + 1, start:end])
            frames += count
        pooled = total / frames
        out[i] = F.normalize(encoder.projection(pooled)[0], dim=-1)
        if model.has_avd:
            avd[i] = model.avd_head(pooled)[0]
    return torch.stack(out), torch.stack(avd) if model.has_avd else None


HUB_PREFIX = "hf://"


def hub_repository(source):
    """The Hugging Face Hub repository a model ``source`` names, or None
    for a local path.

    The one rule: a source written ``hf://owner/name`` (or
    ``hf://owner/name@revision``) is a hub repository; anything else is a
    local path, used only if it exists. A path that merely looks like
    ``owner/name`` is never sent to the hub, where whoever owns that name
    would have their ``hyperparams.yaml`` (code) run.

    Arguments
    ---------
    source : str
        A local path or ``hf://owner/name[@revision]``.

    Returns
    -------
    tuple or None
        ``(repo_id, revision)`` (revision None: the default branch), or
        None for a local path.

    Example
    -------
    >>> hub_repository("hf://org/gemo-clap")
    ('org/gemo-clap', None)
    >>> hub_repository("hf://org/gemo-clap@v1.0")
    ('org/gemo-clap', 'v1.0')
    >>> hub_repository("exports/gemo") is None
    True
    >>> hub_repository("hf://org/gemo/ssl_model")
    Traceback (most recent call last):
    ...
    ValueError: hf://org/gemo/ssl_model: not a Hugging Face Hub model ...
    """
    source = os.fspath(source)
    if not source.startswith(HUB_PREFIX):
        return None
    repo_id, _, revision = source[len(HUB_PREFIX) :].partition("@")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        if not repo_id or revision == "" and source.endswith("@"):
            raise HFValidationError("empty repository id or revision")
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ValueError(
            f"{source}: not a Hugging Face Hub model (expected "
            f"{HUB_PREFIX}owner/name or {HUB_PREFIX}owner/name@revision; "
            f"{_first_sentence(err)})"
        ) from err
    return repo_id, revision or None


def export_folder_of(fetched):
    """The export folder of a fetched ``model.ckpt``: the first folder,
    along the file's chain of links, that holds ``ssl_model/``.

    ``from_hparams`` with ``savedir`` links the small files there; a
    Hugging Face cache snapshot (and a DVC or git-annex folder) links each
    file into a store of blobs named by their hashes. The towers are
    beside the link named ``model.ckpt`` in the export folder, not beside
    the blob it resolves to. When no folder of the chain has ``ssl_model/``,
    the last one where the file is called ``model.ckpt`` is returned (the
    error then names it).

    Arguments
    ---------
    fetched : str
        The path SpeechBrain's ``Pretrainer`` fetched ``model.ckpt`` to.

    Returns
    -------
    str
        The folder, its links resolved (the folder itself, not a blob).

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> os.makedirs(tmp / "blobs"); os.makedirs(tmp / "snap/ssl_model")
    >>> (tmp / "blobs/9f2c").write_bytes(b"weights")
    7
    >>> os.symlink("../blobs/9f2c", tmp / "snap/model.ckpt")
    >>> folder = export_folder_of(str(tmp / "snap/model.ckpt"))
    >>> folder == os.path.realpath(tmp / "snap")
    True
    """
    path = os.path.abspath(fetched)
    name = os.path.basename(path)
    chain = [path]
    while os.path.islink(path) and len(chain) < 40:  # 40: a loop of links
        # Joined, not normalised: the system resolves "../" from the
        # link's real folder, which normpath would not
        path = os.path.join(os.path.dirname(path), os.readlink(path))
        chain.append(path)
    for link in chain:
        folder = os.path.dirname(link)
        if os.path.isdir(os.path.join(folder, "ssl_model")):
            return os.path.realpath(folder)
    named = [link for link in chain if os.path.basename(link) == name]
    return os.path.realpath(os.path.dirname(named[-1]))


def _build_tower(builder, folder, what):
    """Builds a tower from a Hugging Face folder of the export, with errors
    naming the folder (the SpeechBrain wrappers would otherwise fail
    obscurely or try the network)."""
    names = os.listdir(folder) if os.path.isdir(folder) else []
    if "config.json" not in names:
        raise ExportLoadError(f"no {what} here (config.json missing)", folder)
    if not any(name.endswith((".safetensors", ".bin")) for name in names):
        raise ExportLoadError(
            f"the {what}'s weights (*.safetensors or *.bin) are missing",
            folder,
        )
    try:
        return builder(source=folder)
    except Exception as err:
        raise ExportLoadError(
            f"the {what} does not load ({err})", folder
        ) from err


def _load_heads(module, state, prefix, backbone, path):
    """Loads the ``prefix`` part of the head weights into ``module``: every
    parameter outside the ``backbone`` must be there, and nothing else."""
    part = {
        k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)
    }
    result = module.load_state_dict(part, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(backbone)]
    if missing or result.unexpected_keys:
        raise ExportLoadError(
            "the weights do not match hyperparams.yaml (missing: "
            f"{missing}, unexpected: {result.unexpected_keys})",
            path,
        )


def _missing_folder_message(source):
    """The error for a local source that is not a folder."""
    what = "is not a folder" if os.path.exists(source) else "does not exist"
    message = f"GEmo-CLAP export folder {source} {what}"
    if not os.path.isabs(source) and source.count("/") == 1:
        message += (
            f" (a model on the Hugging Face Hub is written {HUB_PREFIX}"
            f"{source}; a path is never looked up on the hub)"
        )
    return message


def _download(source, repository, savedir, kwargs):
    """Downloads a hub repository whole (``savedir``, else the Hugging
    Face cache) and returns its local folder."""
    import huggingface_hub

    repo_id, revision = repository
    fetch_config = kwargs.get("fetch_config")
    asked = getattr(fetch_config, "revision", None)
    if revision and asked and asked != revision:
        raise ValueError(
            f"{source} names revision {revision!r} but fetch_config asks "
            f"for {asked!r}"
        )
    try:
        return huggingface_hub.snapshot_download(
            repo_id=repo_id,
            revision=revision or asked,
            local_dir=savedir,
            cache_dir=getattr(fetch_config, "huggingface_cache_dir", None),
            token=getattr(fetch_config, "token", None) or None,
        )
    except Exception as err:
        raise OSError(
            f"downloading {source} failed ({type(err).__name__}: "
            f"{_first_sentence(err)})"
        ) from err


class GEmoCLAP(Pretrained):
    """A GEmo-CLAP speech emotion recogniser, loaded from an exported
    folder (see ``speechbrain_gemo.export``), with the calls of
    SpeechBrain's ``EncoderClassifier`` and the CLAP ones.

    - ``classify_file(path)`` / ``classify_batch(wavs, wav_lens)``: the
      ``(out_prob, score, index, text_lab)`` of ``EncoderClassifier``,
      ``out_prob`` being *probabilities* over the classes ``labels``;
    - ``predict_file`` / ``predict_batch``: a dict with the emotion and,
      for ML-GEmo-CLAP models, gender predictions and, for exports with
      the dimensional head (``has_avd``), ``arousal``, ``valence`` and
      ``dominance`` on the training corpus' scale (``avd_scale``), from
      one audio pass;
    - ``encode_batch`` / ``encode_text``: L2-normalised embeddings;
    - every classifying call takes ``prompts=`` (zero-shot classes: label
      to prompt or list of prompts, ensembled); ``set_prompts`` changes the
      default classes.

    Inputs to the ``*_batch`` calls are ``N x T`` waveforms at
    ``sample_rate``, mono (``N x T x C`` is averaged over channels), with
    SpeechBrain relative lengths (one per waveform, each between 0 and 1;
    other lengths raise ValueError naming the value). Audio that cannot be
    used raises :class:`AudioInputError` naming the file or batch item; a
    damaged export raises :class:`ExportLoadError` naming the file.

    Arguments
    ---------
    *args : tuple
        ``modules``, ``hparams`` (as loaded by ``from_hparams``), ...
    **kwargs : dict
        As SpeechBrain's ``Pretrained`` (e.g. ``run_opts``).

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> folder = save_tiny_export(str(tmp / "export"))
    >>> model = GEmoCLAP.from_hparams(source=folder)
    >>> out_prob, score, index, text_lab = model.classify_batch(
    ...     torch.randn(2, 8000), torch.tensor([1.0, 0.6]))
    >>> out_prob.shape, model.labels, model.text_model_loaded
    (torch.Size([2, 4]), ('neutral', 'happy', 'angry', 'sad'), False)
    >>> model.label_codes
    ('neu', 'hap', 'ang', 'sad')
    >>> probs = model.classify_batch(
    ...     torch.randn(1, 8000), prompts={"calm": "A calm voice.",
    ...     "tense": ["A tense voice.", "A nervous voice."]})[0]
    >>> probs.shape, model.text_model_loaded
    (torch.Size([1, 2]), True)
    """

    HPARAMS_NEEDED = ["sample_rate", "audio_encoder", "text_encoder", "model"]

    def __init__(self, *args, **kwargs):
        silence_known_warnings()
        super().__init__(*args, **kwargs)
        hparams = self.hparams
        # The folder the Pretrainer's files come from (through its links)
        fetched = hparams.pretrainer.paths["model"]
        self.export_folder = export_folder_of(fetched)
        audio_encoder = _build_tower(
            hparams.audio_encoder,
            os.path.join(self.export_folder, "ssl_model"),
            "SSL speech model",
        )
        model = hparams.model(audio_encoder=audio_encoder, text_encoder=None)
        audio_heads = {
            k: v
            for k, v in hparams.head_weights.data.items()
            if not k.startswith("text_encoder.")
        }
        _load_heads(model, audio_heads, "", "audio_encoder.ssl_model.", fetched)
        model.to(self.device).eval()
        for param in model.parameters():
            param.requires_grad = False
        # On the CPU, PyTorch multiplies the transposed activations of HF
        # attention by a weight that does not require grad through a slower
        # batched path (pytorch/pytorch#166891): about 20 % of a WavLM-base
        # forward (bench/README.md). Every call of this class runs under
        # no_grad, so the flag builds no graph and costs nothing.
        for param in audio_encoder.ssl_model.parameters():
            param.requires_grad = True
        self.mods["model"] = model
        self.sample_rate = int(hparams.sample_rate)
        self.min_samples = receptive_field(audio_encoder.ssl_model.model.config)
        self.window_seconds = hparams.window_seconds
        self.overlap_seconds = hparams.overlap_seconds
        self._check_stored_prompts(model)

    @classmethod
    def from_hparams(cls, source, savedir=None, **kwargs):
        """Loads an exported folder with SpeechBrain's ``from_hparams``.

        ``source`` is either a local folder, used in place (with
        ``savedir``, its small files are linked there, again at each load),
        or a Hugging Face Hub repository written ``hf://owner/name`` (or
        ``hf://owner/name@revision``), downloaded whole into ``savedir``,
        or into the Hugging Face cache without it (the towers are Hugging
        Face folders, which SpeechBrain's per-file ``fetch`` does not
        download). A source without ``hf://`` is always a local path: one
        that does not exist raises FileNotFoundError naming it, even when
        it looks like ``owner/name`` (see :func:`hub_repository`).

        Arguments
        ---------
        source : str
            The export folder, or ``hf://owner/name[@revision]``.
        savedir : str, optional
            Where to link the small files (local source) or download the
            repository (hub source).
        **kwargs : dict
            Passed to ``Pretrained.from_hparams`` (e.g. ``overrides``,
            ``run_opts={"device": "cuda:0"}``, ``fetch_config``; its
            ``revision`` and ``token`` apply to a hub download).

        Returns
        -------
        GEmoCLAP
            The loaded interface.

        Example
        -------
        >>> GEmoCLAP.from_hparams(source="exports/gemo")
        Traceback (most recent call last):
        ...
        FileNotFoundError: GEmo-CLAP export folder exports/gemo does not ...
        """
        source = os.fspath(source)
        repository = hub_repository(source)
        if repository is None:
            if not os.path.isdir(source):
                raise FileNotFoundError(_missing_folder_message(source))
        else:
            source = _download(source, repository, savedir, kwargs)
            savedir = None  # the files are where they are to be read
        if savedir is not None:
            # A savedir reused for another folder must not keep its links
            kwargs.setdefault("fetch_config", FetchConfig(overwrite=True))
            if os.path.realpath(savedir) == os.path.realpath(source):
                # Nothing to link; and SpeechBrain refuses a file that is a
                # link (HF cache, DVC) as its own overwrite (UPSTREAM.md)
                savedir = None
        return super().from_hparams(source=source, savedir=savedir, **kwargs)

    def _check_stored_prompts(self, model):
        """Checks the prompt embeddings and labels against the prompts, and
        keeps the stored embeddings as the default classes."""
        holder = self.hparams.prompt_embeddings
        stored = holder.data
        dim = model.audio_encoder.projection.output_size
        # People read words (speechbrain_gemo.prompts.label_words): the
        # stored classes are keyed by them, the codes kept in label_codes;
        # an export written before emotion_words existed gets them from
        # its prompts
        words = label_words(
            model.emotion_prompts, getattr(self.hparams, "emotion_words", None)
        )
        self.label_codes = tuple(model.emotion_prompts)
        self.stored_prompts = {
            "emotion": {
                words[code]: list(texts)
                for code, texts in model.emotion_prompts.items()
            }
        }
        if model.has_gender:
            self.stored_prompts["gender"] = dict(model.gender_prompts)
        names = sorted(stored) if isinstance(stored, dict) else stored
        if names != sorted(self.stored_prompts):
            raise ExportLoadError(
                f"expected the embeddings {sorted(self.stored_prompts)}, "
                f"got {names}",
                holder.path,
            )
        self._prompt_cache = {}
        self._prompt_lock = threading.RLock()
        for name, prompts in self.stored_prompts.items():
            emb = stored[name]
            shape = (len(prompts), dim)
            if not torch.is_tensor(emb) or tuple(emb.shape) != shape:
                raise ExportLoadError(
                    f"'{name}' should be a {shape[0]} x {dim} tensor, got "
                    f"{getattr(emb, 'shape', type(emb).__name__)}",
                    holder.path,
                )
            self._prompt_cache[self._key(prompts)] = emb.to(self.device)
        # the codes' prompts are the same classes
        self._prompt_cache[self._key(model.emotion_prompts)] = (
            self._prompt_cache[self._key(self.stored_prompts["emotion"])]
        )
        self.emotion_prompt_embeddings = self._prompt_cache[
            self._key(model.emotion_prompts)
        ]
        self.gender_prompt_embeddings = self._prompt_cache.get(
            self._key(model.gender_prompts or {})
        )
        self._pinned = set(self._prompt_cache)
        self.reset_prompts()
        encoder = self.hparams.label_encoder
        labels = tuple(encoder.decode_ndim(range(len(encoder))))
        if labels != model.emotion_labels:
            raise ExportLoadError(
                f"its classes {list(labels)} differ from the emotion "
                f"prompts {list(model.emotion_labels)} of hyperparams.yaml",
                self.hparams.pretrainer.paths["label_encoder"],
            )
        holder.data = self.hparams.head_weights.data = None

    @staticmethod
    def _key(prompts):
        """A hashable key of a prompt set."""
        return tuple((label, tuple(texts)) for label, texts in prompts.items())

    @property
    def labels(self):
        """tuple: the emotion classes of ``classify_*`` in probability
        order, as a person reads them: the stored classes' words
        (``angry``, ``surprised``, a user's own label as written; see
        ``speechbrain_gemo.prompts.label_words``) unless changed with
        ``set_prompts`` (then the prompts' labels as given)."""
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
    def has_avd(self):
        """bool: whether the model predicts arousal, valence and dominance
        (exports with the dimensional head)."""
        return self.mods.model.has_avd

    @property
    def avd_scale(self):
        """tuple: the training corpus' rating scale ``(min, max)`` of
        ``arousal``, ``valence``, ``dominance`` (None without the head)."""
        return self.mods.model.avd_scale

    @property
    def text_model_loaded(self):
        """bool: whether the text tower is in memory."""
        return self.mods.model.text_encoder is not None

    def _text_tower(self):
        """Builds the text tower on first use (once, whatever the
        threads)."""
        model = self.mods.model
        if model.text_encoder is not None:
            return model.text_encoder
        with self._prompt_lock:
            return self._build_text_tower(model)

    def _build_text_tower(self, model):
        """Builds the text tower unless another thread did."""
        if model.text_encoder is None:
            folder = os.path.join(self.export_folder, "text_model")
            tower = _build_tower(
                self.hparams.text_encoder, folder, "text model"
            )
            state = torch.load(
                self.hparams.pretrainer.paths["model"], weights_only=True
            )
            path = self.hparams.pretrainer.paths["model"]
            _load_heads(tower, state, "text_encoder.", "text_model.", path)
            for param in tower.parameters():
                param.requires_grad = False
            model.text_encoder = tower.to(self.device).eval()
        return model.text_encoder

    def unload_text_model(self):
        """Frees the text tower (built again when needed); the prompt
        embeddings computed so far stay cached."""
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
        self._text_tower()
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self.mods.model.encode_text(texts)

    @torch.no_grad()
    def encode_prompts(self, prompts):
        """One embedding per class, with prompt ensembling, cached per
        prompt set (the stored prompts' come from the export).

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
        key = self._key(prompts)
        found = self._prompt_cache.get(key)
        if found is not None:
            return found
        # Threads sharing the model (a server) build the text tower and
        # each prompt set once, and never evict what another one reads
        with self._prompt_lock:
            found = self._prompt_cache.get(key)
            if found is None:
                self._text_tower()
                unpinned = [
                    k for k in self._prompt_cache if k not in self._pinned
                ]
                if len(unpinned) >= _PROMPT_CACHE_SIZE:
                    del self._prompt_cache[unpinned[0]]
                found = self.mods.model.encode_prompts(prompts)
                self._prompt_cache[key] = found
        return found

    def set_prompts(self, emotion_prompts=None, gender_prompts=None):
        """Changes the default classes of the classifying calls.

        Arguments
        ---------
        emotion_prompts : dict or list, optional
            New emotion classes (label to prompt(s)); None keeps them.
        gender_prompts : dict or list, optional
            New gender classes (ML-GEmo-CLAP models only); None keeps them.
        """
        if gender_prompts is not None and not self.has_gender:
            raise RuntimeError("this model has no gender branch")
        for name, prompts in [
            ("emotion", emotion_prompts),
            ("gender", gender_prompts),
        ]:
            if prompts is not None:
                prompts = prompt_dict(prompts)
                self.encode_prompts(prompts)
                self._pinned.add(self._key(prompts))
                self._prompts[name] = prompts

    def reset_prompts(self):
        """Goes back to the classes stored in the export."""
        self._prompts = {k: dict(v) for k, v in self.stored_prompts.items()}

    def load_audio(self, path, savedir=None):
        """Reads an audio file as a mono waveform at ``sample_rate``, with
        errors naming the file: the channels' mean, resampled with soxr
        (``speechbrain_gemo.audio_format.read_audio``, the reader of the
        ONNX backend too, so both classify the same samples).

        Arguments
        ---------
        path : str
            An audio file (a URL or hub path is fetched as by
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
            if "://" in path and not os.path.exists(path):
                source, name = split_path(path)
                path = str(fetch(name, source=source, savedir=savedir))
            # the one reader of both backends (speechbrain_gemo.audio_format)
            signal = torch.from_numpy(read_audio(path, self.sample_rate))
            signal = signal.to(self.device)
        except AudioInputError:
            raise
        except Exception as err:
            raise AudioInputError(
                f"cannot read audio ({type(err).__name__}: "
                f"{_first_sentence(err)})",
                path,
            ) from err
        check_signal(signal, path, self.sample_rate, self.min_samples)
        return signal

    def _prepare_batch(self, wavs, wav_lens, names=None):
        """The batch on the device, checked (see :func:`check_batch`)."""
        return check_batch(
            wavs,
            wav_lens,
            self.sample_rate,
            self.min_samples,
            names,
            self.device,
        )

    def _embed(self, wavs, wav_lens, window_seconds, overlap_seconds):
        """Unit-norm audio embeddings, long items in windows."""
        return self._embed_and_avd(
            wavs, wav_lens, window_seconds, overlap_seconds
        )[0]

    def _embed_and_avd(self, wavs, wav_lens, window_seconds, overlap_seconds):
        """Unit-norm audio embeddings and the dimensional head's outputs
        (None without it), long items in windows."""
        window, overlap = window_samples(
            *model_windows(self, window_seconds, overlap_seconds),
            self.sample_rate,
            self.min_samples,
        )
        return embed_audio_and_avd(
            self.mods.model, wavs, wav_lens, window, overlap
        )

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
            SpeechBrain relative lengths (None: all full length): one
            per waveform, each between 0 and 1 (else ValueError).
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
        wavs, wav_lens = self._prepare_batch(wavs, wav_lens)
        return self._embed(wavs, wav_lens, window_seconds, overlap_seconds)

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
            ``embeddings`` (``N x d``); for models with a gender branch,
            ``gender_probs``, ``gender_labels``, ``gender_score``,
            ``gender_index`` and ``gender_lab``; for models with the
            dimensional head, ``arousal``, ``valence`` and ``dominance``
            (``N`` each, on the training corpus' scale ``avd_scale``, e.g.
            1-5 for IEMOCAP, 1-7 for MSP-Podcast).
        """
        prompts = prompt_dict(prompts or self._prompts["emotion"])
        class_emb = self.encode_prompts(prompts)
        wavs, wav_lens = self._prepare_batch(wavs, wav_lens, names)
        audio, avd = self._embed_and_avd(
            wavs, wav_lens, window_seconds, overlap_seconds
        )
        model = self.mods.model
        out = {"labels": tuple(prompts), "embeddings": audio}
        if avd is not None:
            values = from_unit(avd, model.avd_scale)
            for k, dimension in enumerate(DIMENSIONS):
                out[dimension] = values[:, k]
        heads = [("", class_emb, model.scale, out["labels"])]
        if self.has_gender:
            gender_emb = self.encode_prompts(self._prompts["gender"])
            heads.append(
                ("gender_", gender_emb, model.gender_scale, self.gender_labels)
            )
            out["gender_labels"] = self.gender_labels
        for prefix, emb, scale, labels in heads:
            probs = class_probabilities(audio, emb, scale())
            score, index = probs.max(dim=-1)
            out[f"{prefix}probs"] = probs
            out[f"{prefix}score"], out[f"{prefix}index"] = score, index
            lab = "text_lab" if not prefix else "gender_lab"
            out[lab] = [labels[i] for i in index.tolist()]
        return out

    def predict_file(self, path, prompts=None, **kwargs):
        """``predict_batch`` on one audio file of any sample rate and
        channel count.

        Arguments
        ---------
        path : str
            The audio file.
        prompts : dict or list, optional
            Zero-shot classes (see ``predict_batch``).
        **kwargs : dict
            ``window_seconds``, ``overlap_seconds`` (see ``encode_batch``).

        Returns
        -------
        dict
            As ``predict_batch``, with a batch of one.
        """
        signal = self.load_audio(path)
        return self.predict_batch(
            signal.unsqueeze(0), prompts=prompts, names=[str(path)], **kwargs
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
            ``window_seconds``, ``overlap_seconds`` (see ``encode_batch``).

        Returns
        -------
        tuple
            As ``classify_batch``, with a batch of one.
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
