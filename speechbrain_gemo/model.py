"""The GEmo-CLAP dual encoder: audio and text towers in one embedding space,
with learnable logit scales, prompt ensembling and prediction helpers.

Authors
 * speechbrain-gemo developers 2026
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from speechbrain_gemo.dimensions import check_scale, from_unit


def class_probabilities(audio_emb, class_emb, scale):
    """Softmax over classes of the scaled cosine similarities.

    Arguments
    ---------
    audio_emb : torch.Tensor
        ``N x d`` L2-normalised audio embeddings.
    class_emb : torch.Tensor
        ``K x d`` L2-normalised class (prompt) embeddings.
    scale : torch.Tensor or float
        Multiplicative logit scale.

    Returns
    -------
    torch.Tensor
        ``N x K`` probabilities, rows summing to one.

    Example
    -------
    >>> audio = torch.tensor([[1.0, 0.0]])
    >>> classes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> class_probabilities(audio, classes, math.log(3.0))
    tensor([[0.7500, 0.2500]])
    """
    logits = scale * audio_emb @ class_emb.t()
    return torch.softmax(logits.float(), dim=-1)


def _as_prompt_dict(prompts, name):
    if not isinstance(prompts, dict) or not prompts:
        raise ValueError(
            f"{name} must be a non-empty dict label -> list of prompts, "
            f"got {prompts!r}"
        )
    out = {}
    for label, texts in prompts.items():
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError(
                f"{name}[{label!r}] must be a non-empty list of strings, "
                f"got {texts!r}"
            )
        out[label] = texts
    return out


class GEmoCLAPModel(nn.Module):
    """Emo-CLAP / GEmo-CLAP dual encoder.

    Classes are given as prompts: ``emotion_prompts`` (and, for
    ML-GEmo-CLAP, ``gender_prompts``) map each label, in class order, to a
    list of prompt strings; several strings per class are a prompt
    ensemble (their normalised embeddings are averaged, as in CLIP).

    The logit scales are stored as logarithms, ``logit_scale``
    (initialised to ``log(1 / init_temperature)``) and, only with gender
    prompts, ``gender_logit_scale``. ``scale()`` and ``gender_scale()``
    return the multiplicative scales ``exp(min(s, log(max_logit_scale)))``;
    the clamp in the forward stops gradients pushing past the cap, and
    ``clamp_logit_scales_()`` (to be called after each optimizer step, as
    in CLIP) keeps the stored values themselves within it.

    ``forward`` bundles everything a training step needs in one call (one
    text-tower call per prompt set, ``K`` prompts rather than ``N``), which
    also suits ``DistributedDataParallel`` wrapping.

    With ``avd_head=True`` the audio side also has a dimensional head,
    ``avd_head`` (:class:`speechbrain_gemo.lobes.DimensionalHead`): arousal,
    valence and dominance from the same pooled SSL features as the
    projection head, on [0, 1] in ``forward`` (the training targets are
    mapped there, see ``speechbrain_gemo.dimensions``) and on the corpus'
    scale ``avd_scale`` in ``predict`` and ``predict_avd``. Without it the
    model is exactly the GEmo-CLAP dual encoder.

    Arguments
    ---------
    audio_encoder : torch.nn.Module
        Maps ``(wavs, wav_lens)`` to ``N x d`` embeddings, e.g.
        ``speechbrain_gemo.lobes.SSLAudioEncoder``.
    text_encoder : torch.nn.Module
        Maps a list of strings to ``len x d`` embeddings, e.g.
        ``speechbrain_gemo.lobes.TextPromptEncoder``.
    emotion_prompts : dict
        Label to list of prompts, e.g.
        ``speechbrain_gemo.prompts.emotion_prompts()``.
    gender_prompts : dict, optional
        Label to list of prompts, for models that predict gender
        (ML-GEmo-CLAP).
    init_temperature : float
        Initial temperature; the logit scales start at ``log(1 / it)``.
    max_logit_scale : float
        Cap on the multiplicative scales (100 in CLIP).
    avd_head : bool
        Add the dimensional head (needs an audio encoder with ``pool``,
        ``projection`` and ``hidden_size``, as ``SSLAudioEncoder``).
    avd_scale : sequence of two numbers, optional
        The corpus' rating scale ``[min, max]`` (required with
        ``avd_head``), e.g. ``[1, 5]`` for IEMOCAP.
    avd_hidden_size : int, optional
        Hidden width of the dimensional head (None: linear).
    avd_dropout : float
        Dropout of the dimensional head.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.integrations.huggingface import TextEncoder, WavLM
    >>> from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    >>> from speechbrain_gemo.prompts import emotion_prompts, gender_prompts
    >>> from speechbrain_gemo.testing import (
    ...     save_tiny_ssl_model, save_tiny_text_model,
    ... )
    >>> ssl_dir = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> text_dir = save_tiny_text_model(tempfile.mkdtemp())
    >>> model = GEmoCLAPModel(
    ...     SSLAudioEncoder(WavLM(ssl_dir, save_path=ssl_dir), 16),
    ...     TextPromptEncoder(TextEncoder(text_dir, save_path=text_dir), 16),
    ...     emotion_prompts(),
    ...     gender_prompts(),
    ... )
    >>> wavs = torch.randn(3, 8000)
    >>> probs = model.predict_emotion(wavs, torch.tensor([1.0, 0.7, 0.5]))
    >>> probs.shape, model.emotion_labels
    (torch.Size([3, 4]), ('neu', 'hap', 'ang', 'sad'))
    >>> model.predict_gender(wavs).shape
    torch.Size([3, 2])
    >>> round(model.scale().item(), 3)
    14.286
    >>> model.has_avd
    False
    >>> with_avd = GEmoCLAPModel(
    ...     model.audio_encoder, model.text_encoder, emotion_prompts(),
    ...     avd_head=True, avd_scale=[1, 5])
    >>> with_avd.predict_avd(wavs).shape, with_avd.avd_scale
    (torch.Size([3, 3]), (1.0, 5.0))
    """

    def __init__(
        self,
        audio_encoder,
        text_encoder,
        emotion_prompts,
        gender_prompts=None,
        init_temperature=0.07,
        max_logit_scale=100.0,
        avd_head=False,
        avd_scale=None,
        avd_hidden_size=None,
        avd_dropout=0.0,
    ):
        super().__init__()
        if init_temperature <= 0:
            raise ValueError(
                f"init_temperature must be positive, got {init_temperature}"
            )
        if max_logit_scale <= 0:
            raise ValueError(
                f"max_logit_scale must be positive, got {max_logit_scale}"
            )
        self.audio_encoder = audio_encoder
        self.text_encoder = text_encoder
        self.emotion_prompts = _as_prompt_dict(
            emotion_prompts, "emotion_prompts"
        )
        self.gender_prompts = (
            None
            if gender_prompts is None
            else _as_prompt_dict(gender_prompts, "gender_prompts")
        )
        self.max_logit_scale = float(max_logit_scale)
        init = math.log(1.0 / init_temperature)
        self.logit_scale = nn.Parameter(torch.tensor(init))
        if self.gender_prompts is None:
            self.register_parameter("gender_logit_scale", None)
        else:
            self.gender_logit_scale = nn.Parameter(torch.tensor(init))
        self.avd_head = None
        self.avd_scale = None
        if avd_head:
            self._build_avd_head(avd_scale, avd_hidden_size, avd_dropout)

    def _build_avd_head(self, scale, hidden_size, dropout):
        """The dimensional head on the audio encoder's pooled features."""
        from speechbrain_gemo.lobes import DimensionalHead

        needed = ("pool", "projection", "hidden_size")
        if not all(hasattr(self.audio_encoder, n) for n in needed):
            raise TypeError(
                "avd_head needs an audio encoder with pool, projection and "
                "hidden_size (speechbrain_gemo.lobes.SSLAudioEncoder), got "
                f"{type(self.audio_encoder).__name__}"
            )
        if scale is None:
            raise ValueError(
                "avd_head needs avd_scale, the corpus' rating scale [min, "
                "max] (IEMOCAP: [1, 5], MSP-Podcast: [1, 7])"
            )
        self.avd_scale = check_scale(scale)
        self.avd_head = DimensionalHead(
            self.audio_encoder.hidden_size, hidden_size, dropout
        )

    @property
    def emotion_labels(self):
        """tuple: emotion label codes in class order."""
        return tuple(self.emotion_prompts)

    @property
    def gender_labels(self):
        """tuple: gender label codes in class order (empty without gender
        prompts)."""
        return tuple(self.gender_prompts or ())

    @property
    def has_gender(self):
        """bool: whether the model has gender prompts (ML-GEmo-CLAP)."""
        return self.gender_prompts is not None

    @property
    def has_avd(self):
        """bool: whether the model has the dimensional head."""
        return self.avd_head is not None

    def _check_gender(self):
        if not self.has_gender:
            raise RuntimeError(
                "this model has no gender prompts (only ML-GEmo-CLAP models "
                "are built with gender_prompts), so it cannot score gender"
            )

    def _scale(self, log_scale):
        max_log = math.log(self.max_logit_scale)
        return torch.clamp(log_scale, max=max_log).exp()

    def scale(self):
        """The multiplicative emotion logit scale.

        Returns
        -------
        torch.Tensor
            Scalar ``exp(min(logit_scale, log(max_logit_scale)))``.
        """
        return self._scale(self.logit_scale)

    def gender_scale(self):
        """The multiplicative gender logit scale.

        Returns
        -------
        torch.Tensor
            Scalar ``exp(min(gender_logit_scale, log(max_logit_scale)))``.
        """
        self._check_gender()
        return self._scale(self.gender_logit_scale)

    @torch.no_grad()
    def clamp_logit_scales_(self):
        """Clamps the stored logit scales in place to at most
        ``log(max_logit_scale)``; call it after each optimizer step (the
        recipes' ``RobustBrain.optimizers_step`` does)."""
        max_log = math.log(self.max_logit_scale)
        self.logit_scale.clamp_(max=max_log)
        if self.gender_logit_scale is not None:
            self.gender_logit_scale.clamp_(max=max_log)

    def encode_audio(self, wavs, wav_lens=None):
        """L2-normalised audio embeddings.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        torch.Tensor
            ``N x d`` unit-norm embeddings.
        """
        return F.normalize(self.audio_encoder(wavs, wav_lens), dim=-1)

    def encode_audio_and_avd(self, wavs, wav_lens=None):
        """L2-normalised audio embeddings and, with the dimensional head,
        its outputs, from one pass of the audio tower.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        embeddings : torch.Tensor
            ``N x d`` unit-norm embeddings.
        avd : torch.Tensor or None
            ``N x 3`` arousal, valence, dominance on [0, 1] (None without
            the head).
        """
        if not self.has_avd:
            return self.encode_audio(wavs, wav_lens), None
        pooled = self.audio_encoder.pool(wavs, wav_lens)
        embeddings = F.normalize(self.audio_encoder.projection(pooled), dim=-1)
        return embeddings, self.avd_head(pooled)

    def encode_text(self, texts):
        """L2-normalised text embeddings.

        Arguments
        ---------
        texts : list of str
            Texts to embed.

        Returns
        -------
        torch.Tensor
            ``len(texts) x d`` unit-norm embeddings.
        """
        return F.normalize(self.text_encoder(list(texts)), dim=-1)

    def encode_prompts(self, prompts):
        """One embedding per class, with prompt ensembling.

        All distinct strings go through the text tower in a single call;
        each class embedding is the mean of its prompts' normalised
        embeddings, normalised again.

        Arguments
        ---------
        prompts : dict
            Label to list of prompt strings (class order = dict order).

        Returns
        -------
        torch.Tensor
            ``K x d`` unit-norm class embeddings.
        """
        prompts = _as_prompt_dict(prompts, "prompts")
        distinct = list(dict.fromkeys(t for ts in prompts.values() for t in ts))
        emb = self.encode_text(distinct)
        position = {text: i for i, text in enumerate(distinct)}
        classes = [
            emb[[position[t] for t in texts]].mean(dim=0)
            for texts in prompts.values()
        ]
        return F.normalize(torch.stack(classes), dim=-1)

    def emotion_prompt_embeddings(self):
        """Embeddings of the stored emotion prompts.

        Returns
        -------
        torch.Tensor
            ``K x d`` unit-norm class embeddings.
        """
        return self.encode_prompts(self.emotion_prompts)

    def gender_prompt_embeddings(self):
        """Embeddings of the stored gender prompts.

        Returns
        -------
        torch.Tensor
            ``2 x d`` unit-norm class embeddings.
        """
        self._check_gender()
        return self.encode_prompts(self.gender_prompts)

    def forward(self, wavs, wav_lens=None):
        """Everything a training step needs, in one call.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        dict
            ``audio_emb`` (``N x d``), ``emotion_prompt_emb`` (``K x d``),
            ``scale``; with gender prompts, ``gender_prompt_emb`` (``2 x
            d``) and ``gender_scale``; with the dimensional head, ``avd``
            (``N x 3`` on [0, 1]).
        """
        audio, avd = self.encode_audio_and_avd(wavs, wav_lens)
        out = {
            "audio_emb": audio,
            "emotion_prompt_emb": self.emotion_prompt_embeddings(),
            "scale": self.scale(),
        }
        if avd is not None:
            out["avd"] = avd
        if self.has_gender:
            out["gender_prompt_emb"] = self.gender_prompt_embeddings()
            out["gender_scale"] = self.gender_scale()
        return out

    def predict_emotion(self, wavs, wav_lens=None, prompts=None):
        """Emotion class probabilities.

        Call it under ``torch.no_grad()`` and in eval mode for inference.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.
        prompts : dict, optional
            Label to prompts to score instead of the stored emotion prompts
            (zero-shot / open-vocabulary classes).

        Returns
        -------
        torch.Tensor
            ``N x K`` probabilities over the classes, in prompt order.
        """
        class_emb = self.encode_prompts(prompts or self.emotion_prompts)
        audio = self.encode_audio(wavs, wav_lens)
        return class_probabilities(audio, class_emb, self.scale())

    def predict(self, wavs, wav_lens=None):
        """Emotion and, with gender prompts, gender probabilities from a
        single pass of the audio tower.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        dict
            ``emotion``: ``N x K`` probabilities; ``gender``: ``N x 2``
            probabilities (only with gender prompts); ``avd``: ``N x 3``
            arousal, valence, dominance on ``avd_scale`` (only with the
            dimensional head).
        """
        audio, avd = self.encode_audio_and_avd(wavs, wav_lens)
        out = {
            "emotion": class_probabilities(
                audio, self.emotion_prompt_embeddings(), self.scale()
            )
        }
        if self.has_gender:
            out["gender"] = class_probabilities(
                audio, self.gender_prompt_embeddings(), self.gender_scale()
            )
        if avd is not None:
            out["avd"] = from_unit(avd, self.avd_scale)
        return out

    def predict_avd(self, wavs, wav_lens=None):
        """Arousal, valence and dominance (models with the dimensional head
        only), on the corpus' scale ``avd_scale``.

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        torch.Tensor
            ``N x 3``, columns in ``speechbrain_gemo.dimensions.DIMENSIONS``
            order.
        """
        if not self.has_avd:
            raise RuntimeError(
                "this model has no dimensional head (built with avd_head="
                "True), so it cannot predict arousal, valence and dominance"
            )
        pooled = self.audio_encoder.pool(wavs, wav_lens)
        return from_unit(self.avd_head(pooled), self.avd_scale)

    def predict_gender(self, wavs, wav_lens=None):
        """Gender class probabilities (models with gender prompts only).

        Arguments
        ---------
        wavs : torch.Tensor
            ``N x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths.

        Returns
        -------
        torch.Tensor
            ``N x 2`` probabilities, in ``gender_labels`` order.
        """
        self._check_gender()
        class_emb = self.gender_prompt_embeddings()
        audio = self.encode_audio(wavs, wav_lens)
        return class_probabilities(audio, class_emb, self.gender_scale())
