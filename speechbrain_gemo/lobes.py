"""The two towers of GEmo-CLAP: an audio encoder over SpeechBrain's Hugging
Face SSL wrappers and a text encoder over SpeechBrain's ``TextEncoder``.

Both towers return projected, *unnormalised* embeddings; the CLAP model
(``speechbrain_gemo.model``) L2-normalises them.

Authors
 * speechbrain-gemo developers 2026
"""

import contextlib
import contextvars
import functools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from speechbrain.dataio.dataio import length_to_mask
from speechbrain.utils.logger import get_logger
from torch import nn

logger = get_logger(__name__)

# Length of the probe signal used to count the stacked hidden states: a
# few frames of 20 ms for every wav2vec 2.0-style CNN.
_PROBE_SAMPLES = 3200


class SSLCallLengths(NamedTuple):
    """The lengths of one SSL forward, for the parts of the Hugging Face
    model that are called without them (see ``ssl_call_lengths``).

    Arguments
    ---------
    frame_mask : torch.Tensor or None
        ``B x F`` valid frames (bool), re-applied before each stacked
        positional convolution.
    cnn : tuple or None
        ``(num_samples, num_frames, total_frames)`` to run the CNN on each
        utterance's valid samples (``cnn_per_utterance``); None: batched.
    """

    frame_mask: object = None
    cnn: object = None


# The lengths of the SSL forward running in this thread (or asyncio task):
# a context variable is never shared between threads, so concurrent calls
# on one encoder each see their own, with no lock and no module state.
_SSL_CALL = contextvars.ContextVar("speechbrain_gemo_ssl_call", default=None)


@contextlib.contextmanager
def ssl_call_lengths(frame_mask=None, cnn=None):
    """Within this context, in this thread only, the SSL models of audio
    towers see these lengths: Hugging Face calls their CNN and positional
    convolutions with the hidden states alone, so the lengths cannot reach
    them as arguments.

    Arguments
    ---------
    frame_mask : torch.Tensor, optional
        ``B x F`` valid frames (bool), for stacked positional
        convolutions.
    cnn : tuple, optional
        ``(num_samples, num_frames, total_frames)`` for a CNN prepared by
        ``run_cnn_per_utterance`` (None: it runs batched).

    Example
    -------
    >>> with ssl_call_lengths(frame_mask=torch.ones(1, 3, dtype=torch.bool)):
    ...     current_ssl_call().frame_mask.shape
    torch.Size([1, 3])
    >>> current_ssl_call() is None
    True
    """
    token = _SSL_CALL.set(SSLCallLengths(frame_mask, cnn))
    try:
        yield
    finally:
        _SSL_CALL.reset(token)


def current_ssl_call():
    """The lengths of the SSL forward running in this thread.

    Returns
    -------
    SSLCallLengths or None
        None outside ``ssl_call_lengths``.

    Example
    -------
    >>> current_ssl_call() is None
    True
    """
    return _SSL_CALL.get()


class ProjectionHead(nn.Module):
    """Maps tower features to the shared embedding space.

    With ``hidden_size=None`` it is one ``Linear`` layer (with ``Dropout``
    on its input when ``dropout > 0``); otherwise
    ``Linear -> GELU -> Dropout -> Linear``. There is no residual branch
    or output LayerNorm as in some CLAP heads: the output is L2-normalised
    right after, which makes an output LayerNorm mostly redundant, and a
    residual would tie the input and output sizes.

    Arguments
    ---------
    input_size : int
        Size of the input features.
    output_size : int
        Size of the shared embedding space.
    hidden_size : int, optional
        Width of the hidden layer; None for a linear projection.
    dropout : float
        Dropout probability.

    Example
    -------
    >>> head = ProjectionHead(16, 8, hidden_size=32, dropout=0.1)
    >>> head(torch.randn(3, 16)).shape
    torch.Size([3, 8])
    """

    def __init__(self, input_size, output_size, hidden_size=None, dropout=0.0):
        super().__init__()
        if hidden_size is None:
            layers = [nn.Linear(input_size, output_size)]
            if dropout > 0:
                layers.insert(0, nn.Dropout(dropout))
        else:
            layers = [
                nn.Linear(input_size, hidden_size),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_size, output_size),
            ]
        self.layers = nn.Sequential(*layers)
        self.input_size = input_size
        self.output_size = output_size

    def forward(self, x):
        """Projects the features.

        Arguments
        ---------
        x : torch.Tensor
            ``... x input_size`` features.

        Returns
        -------
        torch.Tensor
            ``... x output_size`` projections.
        """
        return self.layers(x)


class DimensionalHead(nn.Module):
    """Predicts arousal, valence and dominance on [0, 1] from pooled audio
    features: a :class:`ProjectionHead` to three outputs, then a sigmoid.

    The outputs are on the [0, 1] scale of
    ``speechbrain_gemo.dimensions`` (``to_unit`` maps a corpus' ratings
    there, ``from_unit`` maps the outputs back); the sigmoid keeps every
    prediction within the corpus' scale.

    Arguments
    ---------
    input_size : int
        Size of the pooled features (the SSL model's hidden size).
    hidden_size : int, optional
        Width of a hidden layer; None for a linear head.
    dropout : float
        Dropout probability.

    Example
    -------
    >>> head = DimensionalHead(16, dropout=0.1)
    >>> out = head(torch.randn(4, 16))
    >>> out.shape, bool(((out > 0) & (out < 1)).all())
    (torch.Size([4, 3]), True)
    """

    def __init__(self, input_size, hidden_size=None, dropout=0.0):
        super().__init__()
        self.projection = ProjectionHead(input_size, 3, hidden_size, dropout)

    def forward(self, pooled):
        """Predicts the three dimensions.

        Arguments
        ---------
        pooled : torch.Tensor
            ``... x input_size`` pooled features.

        Returns
        -------
        torch.Tensor
            ``... x 3`` arousal, valence, dominance on [0, 1].
        """
        return torch.sigmoid(self.projection(pooled))


def lengths_to_mask(lengths, max_len):
    """Boolean mask of the valid steps from absolute lengths.

    SpeechBrain's ``length_to_mask`` expands its ``arange`` to
    ``len(length)`` rows, a Python int that ``torch.onnx.export`` records as
    a constant, which fixes the batch axis of an exported graph
    (``UPSTREAM.md``); broadcasting keeps both axes dynamic.

    Arguments
    ---------
    lengths : torch.Tensor
        Number of valid steps of each sequence, shape ``B``.
    max_len : int
        Padded length ``T``.

    Returns
    -------
    torch.Tensor
        ``B x T`` boolean mask, True on valid steps.

    Example
    -------
    >>> lengths_to_mask(torch.tensor([1, 3]), 3)
    tensor([[ True, False, False],
            [ True,  True,  True]])
    """
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]


def masked_mean(x, lengths_or_mask):
    """Mean over the valid time steps of a padded batch.

    Padded steps are ignored entirely (even NaN there does no harm).
    Sequences without any valid step give zeros.

    Arguments
    ---------
    x : torch.Tensor
        ``B x T x C`` padded batch.
    lengths_or_mask : torch.Tensor
        One of: a ``B x T`` mask (bool, or 0/1 numbers, e.g. a tokenizer's
        attention mask); a 1-D integer tensor of absolute lengths in
        steps; a 1-D floating tensor of SpeechBrain relative lengths in
        ``[0, 1]`` (valid steps ``round(length * T)``).

    Returns
    -------
    torch.Tensor
        ``B x C`` means.

    Example
    -------
    >>> x = torch.tensor([[[1.0], [3.0], [100.0]], [[2.0], [4.0], [6.0]]])
    >>> masked_mean(x, torch.tensor([2, 3]))
    tensor([[2.],
            [4.]])
    >>> masked_mean(x, torch.tensor([2 / 3, 1.0]))
    tensor([[2.],
            [4.]])
    >>> masked_mean(x, torch.tensor([[1, 1, 0], [1, 1, 1]]))
    tensor([[2.],
            [4.]])
    """
    batch, steps = x.shape[:2]
    if lengths_or_mask.dim() == 2:
        mask = lengths_or_mask.bool()
        if mask.shape != (batch, steps):
            raise ValueError(
                f"mask shape {tuple(mask.shape)} does not match the first "
                f"two dimensions of x {tuple(x.shape)}"
            )
    elif lengths_or_mask.dim() == 1:
        lengths = lengths_or_mask
        if lengths.is_floating_point():
            if lengths.numel() and lengths.max() > 1 + 1e-6:
                raise ValueError(
                    "floating-point lengths are SpeechBrain relative "
                    "lengths in [0, 1]; pass an integer tensor for "
                    f"absolute lengths (got max {lengths.max().item()})"
                )
            lengths = torch.round(lengths * steps)
        mask = lengths_to_mask(lengths.to(x.device).long(), steps)
    else:
        raise ValueError(
            "lengths_or_mask must be a B x T mask or B lengths, got shape "
            f"{tuple(lengths_or_mask.shape)}"
        )
    mask = mask.to(x.device).unsqueeze(-1)
    total = torch.where(mask, x, torch.zeros_like(x)).sum(dim=1)
    count = mask.sum(dim=1).clamp(min=1).to(x.dtype)
    return total / count


def normalize_waveforms(wavs, lengths=None, eps=1e-7):
    """Zero mean, unit variance per utterance over its valid samples only.

    This is what Hugging Face's ``Wav2Vec2FeatureExtractor`` does with an
    attention mask (``(x - mean) / sqrt(var + 1e-7)`` over the valid
    samples, padding set to zero). Unlike a layer norm over the whole
    padded tensor, it does not depend on how much padding follows.

    Arguments
    ---------
    wavs : torch.Tensor
        ``B x T`` padded waveforms.
    lengths : torch.Tensor, optional
        Absolute number of valid samples per utterance (integer, shape
        ``B``); None if nothing is padded.
    eps : float
        Added to the variance.

    Returns
    -------
    torch.Tensor
        ``B x T`` normalised waveforms, zero on the padding.

    Example
    -------
    >>> wavs = torch.tensor([[1.0, 3.0, 0.0], [1.0, 2.0, 3.0]])
    >>> normalize_waveforms(wavs, torch.tensor([2, 3]))
    tensor([[-1.0000,  1.0000,  0.0000],
            [-1.2247,  0.0000,  1.2247]])
    """
    if lengths is None:
        lengths = torch.full(
            (wavs.shape[0],), wavs.shape[1], device=wavs.device
        )
    mask = lengths_to_mask(lengths.to(wavs.device), wavs.shape[1])
    zeros = torch.zeros_like(wavs)
    count = mask.sum(dim=1, keepdim=True).clamp(min=1).to(wavs.dtype)
    mean = torch.where(mask, wavs, zeros).sum(dim=1, keepdim=True) / count
    centered = torch.where(mask, wavs - mean, zeros)
    var = centered.pow(2).sum(dim=1, keepdim=True) / count
    return centered / torch.sqrt(var + eps)


def cnn_normalises_over_time(hf_model):
    """Whether a wav2vec 2.0-style model's CNN feature encoder normalises
    over time (a ``GroupNorm`` with one group per channel in its first
    layer: ``feat_extract_norm="group"``, as in wav2vec2-base, HuBERT-base
    and WavLM-base/base-plus), so that its output depends on the padding
    after an utterance.

    Arguments
    ---------
    hf_model : transformers.PreTrainedModel
        A Hugging Face model with a ``feature_extractor`` CNN.

    Returns
    -------
    bool
        True for a group-norm CNN, False for a per-frame (layer-norm) one.

    Example
    -------
    >>> import transformers
    >>> config = transformers.WavLMConfig(
    ...     hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    ...     intermediate_size=16, conv_dim=(8,) * 7,
    ...     feat_extract_norm="group")
    >>> cnn_normalises_over_time(transformers.WavLMModel(config))
    True
    """
    cnn = getattr(hf_model, "feature_extractor", None)
    if cnn is None:
        return False
    return any(isinstance(m, nn.GroupNorm) for m in cnn.modules())


def cnn_per_utterance(cnn, wavs, num_samples, num_frames, total_frames):
    """Runs a CNN feature encoder on each utterance's valid samples alone
    and pads the frame sequences with zeros.

    Utterances of equal length run together; one too short for a single
    frame is not run and gives zeros only.

    Arguments
    ---------
    cnn : callable
        The CNN feature encoder (``B x T`` waveforms to ``B x C x F``
        frames), e.g. a Hugging Face model's ``feature_extractor``.
    wavs : torch.Tensor
        ``B x T`` padded waveforms.
    num_samples : torch.Tensor
        Absolute numbers of valid samples, shape ``B`` (integer).
    num_frames : torch.Tensor
        Number of frames the CNN makes of each utterance, shape ``B``.
    total_frames : int
        Padded number of frames ``F`` of the output (at least the largest
        of ``num_frames``).

    Returns
    -------
    torch.Tensor
        ``B x C x F`` frames, zero after each utterance's own frames.

    Example
    -------
    >>> cnn = nn.Sequential(nn.Unflatten(1, (1, -1)), nn.Conv1d(1, 2, 4, 2))
    >>> wavs = torch.randn(3, 10)
    >>> frames = cnn_per_utterance(
    ...     cnn, wavs, torch.tensor([6, 10, 6]), torch.tensor([2, 4, 2]), 4
    ... )
    >>> frames.shape
    torch.Size([3, 2, 4])
    >>> torch.allclose(frames[2, :, :2], cnn(wavs[2:, :6])[0])
    True
    >>> frames[2, :, 2:].abs().sum().item()
    0.0
    """
    rows_of_length = {}
    for row, (samples, frames) in enumerate(
        zip(num_samples.tolist(), num_frames.tolist())
    ):
        key = int(samples) if frames > 0 else 0
        rows_of_length.setdefault(key, []).append(row)
    groups = []
    for length, rows in rows_of_length.items():
        frames = None
        if length > 0:
            index = torch.tensor(rows, device=wavs.device)
            frames = cnn(wavs.index_select(0, index)[:, :length])
        groups.append((rows, frames))
    template = next(frames for _, frames in groups if frames is not None)
    padded, order = [], []
    for rows, frames in groups:
        if frames is None:
            frames = template.new_zeros(len(rows), template.shape[1], 0)
        padded.append(F.pad(frames, (0, total_frames - frames.shape[-1])))
        order.extend(rows)
    inverse = torch.empty(len(order), dtype=torch.long, device=wavs.device)
    inverse[torch.tensor(order, device=wavs.device)] = torch.arange(
        len(order), device=wavs.device
    )
    return torch.cat(padded).index_select(0, inverse)


class _PerUtteranceCNN:
    """The forward of a CNN prepared by ``run_cnn_per_utterance``: within
    ``ssl_call_lengths(cnn=...)`` each utterance runs on its own valid
    samples (``cnn_per_utterance``), otherwise the class's own forward
    runs."""

    def forward(self, input_values):
        """The CNN's frames of a batch of waveforms.

        Arguments
        ---------
        input_values : torch.Tensor
            ``B x T`` waveforms.

        Returns
        -------
        torch.Tensor
            ``B x C x F`` frames.
        """
        call = _SSL_CALL.get()
        if call is None or call.cnn is None:
            return super().forward(input_values)
        return cnn_per_utterance(super().forward, input_values, *call.cnn)


@functools.cache
def _per_utterance_class(plain):
    """The subclass of a CNN class with ``_PerUtteranceCNN``'s forward."""
    return type(
        f"PerUtterance{plain.__name__}",
        (_PerUtteranceCNN, plain),
        {"__module__": __name__},
    )


def run_cnn_per_utterance(hf_model):
    """Prepares a Hugging Face model's CNN feature encoder, once, to run on
    each utterance's valid samples whenever ``ssl_call_lengths`` gives it
    the lengths: its class becomes a subclass whose ``forward`` reads them
    from there (its parameters, their names and its state stay as they
    are). Nothing of the model changes during a call.

    Arguments
    ---------
    hf_model : transformers.PreTrainedModel
        A wav2vec 2.0-family model with a ``feature_extractor`` CNN.

    Returns
    -------
    torch.nn.Module
        The CNN.

    Example
    -------
    >>> import transformers
    >>> config = transformers.WavLMConfig(
    ...     hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    ...     intermediate_size=16, conv_dim=(8,) * 7,
    ...     feat_extract_norm="group")
    >>> hf_model = transformers.WavLMModel(config).eval()
    >>> cnn = run_cnn_per_utterance(hf_model)
    >>> wavs = torch.randn(2, 4000)
    >>> wavs[0, 2000:] = 0.0
    >>> lengths = (torch.tensor([2000, 4000]), torch.tensor([6, 12]), 12)
    >>> with torch.no_grad(), ssl_call_lengths(cnn=lengths):
    ...     frames = cnn(wavs)
    >>> with torch.no_grad():
    ...     alone = cnn(wavs[:1, :2000])
    >>> torch.allclose(frames[0, :, :6], alone[0], atol=1e-6)
    True
    >>> "forward" in cnn.__dict__
    False
    """
    cnn = hf_model.feature_extractor
    if not isinstance(cnn, _PerUtteranceCNN):
        cnn.__class__ = _per_utterance_class(type(cnn))
    return cnn


def _mask_pos_conv_input(module, args):
    """Forward pre-hook of a stacked positional convolution: zeroes the
    padded frames again, as they are for the unpadded utterance."""
    call = _SSL_CALL.get()
    mask = None if call is None else call.frame_mask
    if mask is None or args[0].shape[-1] != mask.shape[-1]:
        return None
    hidden = args[0] * mask[:, None, :].to(args[0].dtype)
    return (hidden,) + tuple(args[1:])


class SSLAudioEncoder(nn.Module):
    """Audio tower: a SpeechBrain Hugging Face SSL wrapper, pooling over the
    valid frames, and a projection head.

    ``ssl_model`` is an already built SpeechBrain wrapper of the wav2vec
    2.0 family (``WavLM``, ``HuBERT``, ``Wav2Vec2``; data2vec-audio loads
    through ``Wav2Vec2`` since it uses ``AutoModel``), typically declared in
    HyperPyYAML. Freezing is configured on the wrapper and only exposed
    here (``freeze``, ``freeze_feature_extractor``):

    - ``freeze=True``: the whole SSL model is frozen (no gradients, run
      under ``no_grad`` by the wrapper); this tower keeps it in eval mode
      even when the Brain calls ``.train()``, so the features are
      deterministic.
    - ``freeze_feature_extractor=True`` (with ``freeze=False``): only the
      CNN feature extractor is frozen; it is also marked with Hugging
      Face's ``freeze_feature_encoder`` so no graph is built through it.

    Batch independence: an utterance's embedding is the same alone or
    padded in any batch (up to float rounding, 1e-5), in training and
    inference, because

    - the wrapper's own waveform normalisation (a layer norm over the whole
      padded batch) is switched off (``ssl_model.normalize_wav = False``,
      the original value kept in ``wrapper_normalize_wav``) and replaced,
      when the model expects normalised input, by a per-utterance
      normalisation over the valid samples (``normalize_waveforms``);
    - for a CNN feature encoder that normalises over time
      (``feat_extract_norm="group"``: wav2vec2-base, HuBERT-base,
      WavLM-base and base-plus; its first layer's GroupNorm would include
      the padding), the CNN runs on each utterance's valid samples alone
      (``cnn_per_utterance``; equal lengths together), its frames are
      padded with zeros, and everything after it (feature projection,
      positional convolution, transformer) runs batched with the
      attention mask, through the unchanged wrapper and Hugging Face
      forward (SpecAugment, LayerDrop, hidden states, freezing as usual).
      The CNN is prepared for this once, at construction
      (``run_cnn_per_utterance``); each call hands it its lengths through
      ``ssl_call_lengths``, a context variable of the calling thread, so
      threads sharing one encoder run at the same time, each with its
      own lengths, without a lock.
      Models with a per-frame layer-norm CNN (``feat_extract_norm=
      "layer"``: WavLM-large, HuBERT-large, wav2vec2-large(-lv60/xlsr),
      data2vec-audio, whose CNN is always layer-norm) run the CNN batched,
      which is already exact;
    - the relative lengths go to the wrapper, which builds the attention
      mask, and the number of valid frames comes from the absolute sample
      counts through the model's ``_get_feat_extract_output_lengths``;
      pooling averages those frames only;
    - for models with a stack of positional convolutions
      (data2vec-audio), the padded frames are zeroed again before each of
      them, as they would be for the unpadded utterance.

    The wrapper's ``output_norm`` (a layer norm over time) is refused, as
    it would mix in the padding; use ``layernorm`` instead.

    Arguments
    ---------
    ssl_model : speechbrain.integrations.huggingface.Wav2Vec2
        The SSL wrapper (or ``WavLM``, ``HuBERT``). Its
        ``output_all_hiddens`` must be True exactly when
        ``layer_weighting`` is.
    output_size : int
        Size of the shared embedding space.
    layer_weighting : bool
        If True, pool a learnable softmax-weighted sum of all stacked
        hidden states (weights initialised to zero, i.e. a plain average,
        as SpeechBrain's ``WeightedSSLModel``); else the last hidden state.
        ``WeightedSSLModel`` itself is not used: it ignores ``wav_lens``
        (no attention mask, so padding changes the features) and cannot
        freeze the CNN alone.
    projection_hidden_size : int, optional
        Hidden width of the projection head (None: linear).
    dropout : float
        Dropout of the projection head.
    normalize_wav : bool
        If True and the wrapper would normalise the waveform (its feature
        extractor has ``do_normalize``), normalise each utterance over its
        valid samples. If False, the waveform is passed as is.
    layernorm : bool
        If True, layer-normalise (per frame, no affine parameters) each
        hidden state before the weighted sum, or the last hidden state.
    layerdrop : float, optional
        Sets the SSL model's LayerDrop probability (None keeps its
        config's, 0.1 for most released models). LayerDrop skips whole
        layers in training, so a step leaves their parameters without
        gradient (DDP then needs ``find_unused_parameters``) and the
        weighted sum would see fewer hidden states: with
        ``layer_weighting`` it is set to 0 (and any other value is an
        error).
    per_utterance_cnn : bool, optional
        Run the CNN on each utterance's valid samples alone (see above).
        None (default): exactly when the CNN normalises over time
        (``cnn_normalises_over_time``); True or False forces it (False
        is the plain batched forward, whose group-norm features depend
        on the padding).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.integrations.huggingface import WavLM
    >>> from speechbrain_gemo.testing import save_tiny_ssl_model
    >>> folder = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> ssl = WavLM(folder, save_path=folder, output_all_hiddens=True)
    >>> encoder = SSLAudioEncoder(ssl, output_size=8, layer_weighting=True)
    >>> wavs, wav_lens = torch.randn(2, 8000), torch.tensor([0.5, 1.0])
    >>> encoder(wavs, wav_lens).shape
    torch.Size([2, 8])
    >>> encoder.pool(wavs, wav_lens).shape
    torch.Size([2, 32])
    """

    def __init__(
        self,
        ssl_model,
        output_size,
        layer_weighting=False,
        projection_hidden_size=None,
        dropout=0.0,
        normalize_wav=True,
        layernorm=False,
        layerdrop=None,
        per_utterance_cnn=None,
    ):
        super().__init__()
        _check_ssl_model(ssl_model, layer_weighting)
        config = ssl_model.model.config
        if layer_weighting and layerdrop is None:
            layerdrop = 0.0
        if layer_weighting and layerdrop > 0:
            raise ValueError(
                f"layer_weighting needs every layer, but layerdrop={layerdrop}"
                " would skip some in training: use layerdrop=0.0"
            )
        if layerdrop is not None:
            config.layerdrop = float(layerdrop)
        self.ssl_model = ssl_model
        self.wrapper_normalize_wav = bool(ssl_model.normalize_wav)
        ssl_model.normalize_wav = False
        self.normalize_wav = bool(normalize_wav) and self.wrapper_normalize_wav
        self.layer_weighting = layer_weighting
        self.layernorm = layernorm

        hf_model = ssl_model.model
        if per_utterance_cnn is None:
            per_utterance_cnn = cnn_normalises_over_time(hf_model)
        self.per_utterance_cnn = bool(per_utterance_cnn)
        if self.per_utterance_cnn:
            run_cnn_per_utterance(hf_model)
        if ssl_model.freeze_feature_extractor and not ssl_model.freeze:
            if hasattr(hf_model, "freeze_feature_encoder"):
                hf_model.freeze_feature_encoder()

        # The mask embedding is only used by SpecAugment inside the HF model;
        # left trainable it gets no gradient, which DDP rejects
        masked_spec_embed = getattr(hf_model, "masked_spec_embed", None)
        if masked_spec_embed is not None and not getattr(
            hf_model.config, "apply_spec_augment", False
        ):
            masked_spec_embed.requires_grad_(False)

        if layer_weighting:
            num_layers, hidden_size = self._probe_hidden_states()
            self.layer_weights = nn.Parameter(torch.zeros(num_layers))
        else:
            hidden_size = hf_model.config.hidden_size
        self.hidden_size = hidden_size
        self.projection = ProjectionHead(
            hidden_size, output_size, projection_hidden_size, dropout
        )

        # The frame mask of each call reaches them in ssl_call_lengths
        pos_conv = getattr(
            getattr(hf_model, "encoder", None), "pos_conv_embed", None
        )
        stack = getattr(pos_conv, "layers", None)
        if isinstance(stack, nn.ModuleList) and len(stack) > 1:
            for layer in stack:
                layer.register_forward_pre_hook(_mask_pos_conv_input)
        self._keep_frozen_parts_in_eval()

    @property
    def freeze(self):
        """bool: whether the whole SSL model is frozen (wrapper option)."""
        return bool(self.ssl_model.freeze)

    @property
    def freeze_feature_extractor(self):
        """bool: whether the CNN feature extractor is frozen (wrapper
        option; implied by ``freeze``)."""
        return self.freeze or bool(self.ssl_model.freeze_feature_extractor)

    @property
    def num_hidden_states(self):
        """int or None: number of stacked hidden states in the weighted
        sum (None without ``layer_weighting``)."""
        if not self.layer_weighting:
            return None
        return self.layer_weights.numel()

    def train(self, mode=True):
        """Sets the training mode, keeping frozen SSL parts in eval mode.

        Arguments
        ---------
        mode : bool
            Training (True) or evaluation (False).

        Returns
        -------
        SSLAudioEncoder
            self
        """
        super().train(mode)
        self._keep_frozen_parts_in_eval()
        return self

    def _keep_frozen_parts_in_eval(self):
        hf_model = self.ssl_model.model
        if self.ssl_model.freeze:
            hf_model.eval()
        elif self.ssl_model.freeze_feature_extractor:
            hf_model.feature_extractor.eval()

    @torch.no_grad()
    def _probe_hidden_states(self):
        """Counts the stacked hidden states with a short dummy forward:
        Hugging Face models differ in whether the CNN projection and the
        final layer norm add an entry."""
        hf_model = self.ssl_model.model
        param = next(hf_model.parameters())
        modes = {m: m.training for m in self.ssl_model.modules()}
        self.ssl_model.eval()
        try:
            probe = torch.zeros(1, _PROBE_SAMPLES, device=param.device)
            out = self.ssl_model(probe.to(param.dtype))
        finally:
            for module, training in modes.items():
                module.training = training
        if out.dim() != 4:
            raise ValueError(
                "with output_all_hiddens=True the SSL wrapper should return "
                f"L x B x T x C hidden states, got shape {tuple(out.shape)}"
            )
        return out.shape[0], out.shape[-1]

    def frame_lengths(self, num_samples):
        """Number of SSL frames computed from each utterance's samples.

        Arguments
        ---------
        num_samples : torch.Tensor
            Absolute numbers of valid samples, shape ``B`` (integer).

        Returns
        -------
        torch.Tensor
            Numbers of valid frames, shape ``B`` (long).
        """
        frames = self.ssl_model.model._get_feat_extract_output_lengths(
            num_samples
        )
        return torch.as_tensor(frames).long()

    def pool(self, wavs, wav_lens=None):
        """Pooled SSL features, before the projection head.

        Arguments
        ---------
        wavs : torch.Tensor
            ``B x T`` padded waveforms at the model's sampling rate.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths (shape ``B``); None if unpadded.

        Returns
        -------
        torch.Tensor
            ``B x hidden_size`` mean of the valid frames' features.

        Note
        ----
        Each utterance needs at least one frame (400 samples, 25 ms at
        16 kHz); an utterance without any gives zeros. Threads may share
        one encoder and run at the same time: each call's lengths reach
        the SSL model through ``ssl_call_lengths``, never through the
        encoder's state.
        """
        if wavs.dim() != 2:
            raise ValueError(
                f"wavs must be B x T waveforms, got shape {tuple(wavs.shape)}"
            )
        batch, num_samples = wavs.shape
        if wav_lens is None:
            samples = torch.full((batch,), num_samples, device=wavs.device)
        else:
            wav_lens = wav_lens.to(wavs.device)
            samples = torch.round(wav_lens * num_samples).long()
        if self.normalize_wav:
            wavs = normalize_waveforms(wavs, samples)

        frames = self.frame_lengths(samples)
        total_frames = int(self.frame_lengths(torch.tensor([num_samples])))
        # This call's lengths reach the inside of the Hugging Face model
        # through a context variable: its own, whatever other threads run
        frame_mask, cnn = None, None
        if wav_lens is not None:
            frame_mask = length_to_mask(frames, total_frames, dtype=torch.bool)
            padded = bool((samples < num_samples).any())
            if self.per_utterance_cnn and padded and frames.max() > 0:
                cnn = (samples, frames, total_frames)
        with ssl_call_lengths(frame_mask, cnn):
            feats = self.ssl_model(wavs, wav_lens)

        if self.layernorm:
            feats = F.layer_norm(feats, feats.shape[-1:])
        if self.layer_weighting:
            if feats.shape[0] != self.layer_weights.numel():
                raise RuntimeError(
                    f"the SSL model returned {feats.shape[0]} hidden "
                    f"states, expected {self.layer_weights.numel()}"
                )
            weights = F.softmax(self.layer_weights, dim=0)
            feats = (feats * weights.view(-1, 1, 1, 1)).sum(dim=0)
        frames = frames.clamp(max=feats.shape[1])
        return masked_mean(feats, frames)

    def forward(self, wavs, wav_lens=None):
        """Projected audio embeddings (not normalised).

        Arguments
        ---------
        wavs : torch.Tensor
            ``B x T`` padded waveforms.
        wav_lens : torch.Tensor, optional
            SpeechBrain relative lengths (shape ``B``).

        Returns
        -------
        torch.Tensor
            ``B x output_size`` embeddings.
        """
        return self.projection(self.pool(wavs, wav_lens))


def _check_ssl_model(ssl_model, layer_weighting):
    """Clear errors for wrappers this tower cannot use correctly."""
    needed = ("model", "output_all_hiddens", "normalize_wav", "freeze")
    missing = [name for name in needed if not hasattr(ssl_model, name)]
    if missing or not hasattr(
        getattr(ssl_model, "model", None), "_get_feat_extract_output_lengths"
    ):
        raise TypeError(
            "ssl_model must be a SpeechBrain Hugging Face wrapper of the "
            "wav2vec 2.0 family (speechbrain.integrations.huggingface."
            f"Wav2Vec2, WavLM or HuBERT), got {type(ssl_model).__name__}"
        )
    if bool(ssl_model.output_all_hiddens) != bool(layer_weighting):
        raise ValueError(
            f"layer_weighting={layer_weighting} needs the SSL wrapper built "
            f"with output_all_hiddens={bool(layer_weighting)}, but it has "
            f"output_all_hiddens={ssl_model.output_all_hiddens}"
        )
    if getattr(ssl_model, "output_norm", False):
        raise ValueError(
            "the SSL wrapper's output_norm=True normalises over the padded "
            "time axis, which makes embeddings depend on padding; build it "
            "with output_norm=False (use SSLAudioEncoder(layernorm=True) "
            "for a per-frame layer norm)"
        )


def _fix_lower_text_layers(text_model, trainable_layers):
    """Freezes all but the top ``trainable_layers`` transformer layers of a
    text wrapper's model and what follows them (see ``TextPromptEncoder``);
    returns the fixed modules, to be kept in eval mode."""
    model = text_model.model
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(
            "text_trainable_layers needs a text model with its transformer "
            "layers in model.encoder.layer (BERT, RoBERTa, MiniLM, ...); "
            f"{type(model).__name__} has none"
        )
    if isinstance(trainable_layers, bool) or not isinstance(
        trainable_layers, int
    ):
        raise TypeError(
            "text_trainable_layers must be None or an int, got "
            f"{trainable_layers!r}"
        )
    if trainable_layers < 0:
        raise ValueError(
            f"text_trainable_layers must be >= 0, got {trainable_layers}"
        )
    num_fixed = max(len(layers) - trainable_layers, 0)
    fixed = list(layers[:num_fixed])
    # below the layers: the embedding layer; the other children of the
    # model follow the layers (a final norm in some models, the pooler)
    for name, child in model.named_children():
        if name != "encoder" and (
            "embed" in name
            or any(isinstance(m, nn.Embedding) for m in child.modules())
        ):
            fixed.append(child)
    for module in fixed:
        module.requires_grad_(False)
    if trainable_layers == 0:
        model.requires_grad_(False)
        fixed = [model]
    return fixed


class TextPromptEncoder(nn.Module):
    """Text tower: SpeechBrain's ``TextEncoder`` (any Hugging Face text
    model: RoBERTa, BERT, MiniLM, ...), pooling, and a projection head.

    Each call runs the transformer once on the *distinct* strings it is
    given, so repeated prompts cost nothing extra. When the backbone is
    frozen (``text_model.freeze``), the pooled backbone features are also
    cached per string in a plain dict (``prompt_cache``, not part of the
    ``state_dict``): a prompt seen once never re-runs the transformer. The
    projection head still runs on every call, since it may be trainable.
    The frozen backbone is kept in eval mode (no dropout), so cached and
    fresh features agree. The cache is emptied whenever parameters are
    loaded into the backbone (``load_state_dict``, directly or through a
    parent); call ``clear_cache()`` after changing its weights by hand.

    Arguments
    ---------
    text_model : speechbrain.integrations.huggingface.TextEncoder
        The text backbone wrapper.
    output_size : int
        Size of the shared embedding space.
    pooling : str
        ``"mean"``: mean of the token states under the attention mask;
        ``"first"``: the first token's state (``<s>`` / ``[CLS]``).
    projection_hidden_size : int, optional
        Hidden width of the projection head (None: linear).
    dropout : float
        Dropout of the projection head.
    freeze_word_embeddings : bool
        When the backbone is fine-tuned, keep its word-embedding matrix
        fixed. Training sees only the few tokens of the prompts, so the
        other rows would only be decayed by AdamW's weight decay, which
        erodes the vocabulary that zero-shot prompts need; the matrix is
        also most of the text optimiser's cost (bench/README.md).
    text_trainable_layers : int, optional
        When the backbone is fine-tuned, train only its top N transformer
        layers (``model.encoder.layer``, the layout SpeechBrain's
        ``TextEncoder.truncate`` also relies on) and whatever follows them
        (a final layer norm, if the model has one; the pooler is never
        used and always fixed). Everything below (the embedding layer,
        word embeddings included, and the lower layers) gets
        ``requires_grad=False`` and is kept in eval mode, as a frozen
        backbone is: its features are deterministic (no dropout), and no
        graph is built through it, so the backward stops at layer
        ``L - N``. Since that part is fixed and deterministic, its output
        (the input of the first trained layer) is also cached per prompt
        (``fixed_layers_cache``, emptied like ``prompt_cache``), so a
        prompt seen before runs only the N trained layers.
        None (default): every layer and the embeddings train
        (the word embeddings as ``freeze_word_embeddings`` says). 0: the
        backbone is fixed as with ``text_model.freeze`` (its features are
        then cached too); N at least the number of layers: all layers
        train, the embedding layer stays fixed. Ignored when
        ``text_model.freeze`` is set (nothing trains).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.integrations.huggingface import TextEncoder
    >>> from speechbrain_gemo.testing import save_tiny_text_model
    >>> folder = save_tiny_text_model(tempfile.mkdtemp())
    >>> text = TextEncoder(folder, save_path=folder, freeze=True)
    >>> encoder = TextPromptEncoder(text, output_size=8)
    >>> prompts = ["The speaker sounds sad.", "The speaker sounds happy."]
    >>> encoder(prompts + prompts[:1]).shape
    torch.Size([3, 8])
    >>> sorted(encoder.prompt_cache) == sorted(prompts)
    True
    """

    def __init__(
        self,
        text_model,
        output_size,
        pooling="mean",
        projection_hidden_size=None,
        dropout=0.0,
        freeze_word_embeddings=False,
        text_trainable_layers=None,
    ):
        super().__init__()
        if pooling not in ("mean", "first"):
            raise ValueError(
                f"pooling must be 'mean' or 'first', got {pooling!r}"
            )
        self.text_model = text_model
        self.pooling = pooling
        # BERT-style poolers are never used (we pool the last hidden state);
        # left trainable they get no gradient, which DDP rejects
        pooler = getattr(text_model.model, "pooler", None)
        if pooler is not None:
            pooler.requires_grad_(False)
        if freeze_word_embeddings:
            text_model.model.get_input_embeddings().requires_grad_(False)
        if getattr(text_model, "freeze", False):
            # a frozen backbone trains no layer: the recipes' default of a
            # few trainable layers does not apply with freeze_text=True
            text_trainable_layers = None
        self.text_trainable_layers = text_trainable_layers
        self._fixed_modules = []
        if text_trainable_layers is not None:
            self._fixed_modules = _fix_lower_text_layers(
                text_model, text_trainable_layers
            )
        self.hidden_size = text_model.model.config.hidden_size
        self.projection = ProjectionHead(
            self.hidden_size, output_size, projection_hidden_size, dropout
        )
        self.prompt_cache = {}
        # inputs of the first trainable layer, per prompt (valid tokens)
        self.fixed_layers_cache = {}
        self._num_fixed_layers = 0
        if text_trainable_layers and hasattr(text_model.model, "embeddings"):
            num_layers = len(text_model.model.encoder.layer)
            self._num_fixed_layers = max(num_layers - text_trainable_layers, 0)
        text_model.register_load_state_dict_pre_hook(self._on_load)
        self._keep_frozen_in_eval()

    @property
    def freeze(self):
        """bool: whether the whole text backbone is fixed (the wrapper's
        ``freeze``, or ``text_trainable_layers=0``)."""
        return (
            bool(getattr(self.text_model, "freeze", False))
            or self.text_trainable_layers == 0
        )

    def clear_cache(self):
        """Forgets all cached prompt features."""
        self.prompt_cache.clear()
        self.fixed_layers_cache.clear()

    def _on_load(self, *args, **kwargs):
        self.clear_cache()

    def train(self, mode=True):
        """Sets the training mode, keeping a frozen backbone in eval mode.

        Arguments
        ---------
        mode : bool
            Training (True) or evaluation (False).

        Returns
        -------
        TextPromptEncoder
            self
        """
        super().train(mode)
        self._keep_frozen_in_eval()
        return self

    def _keep_frozen_in_eval(self):
        if self.freeze:
            self.text_model.model.eval()
        for module in self._fixed_modules:
            module.eval()

    def _backbone(self, texts):
        """Pooled backbone features of a list of distinct strings."""
        if self._num_fixed_layers and not self.freeze:
            tokens, hidden = self._run_top_layers(texts)
        else:
            tokens, hidden = self.text_model(texts, return_tokens=True)
        if self.pooling == "first":
            return hidden[:, 0]
        return masked_mean(hidden, tokens["attention_mask"])

    def _run_top_layers(self, texts):
        """Tokens and last hidden states, running only the trainable top
        layers on the fixed layers' cached output when every text has
        one; else the whole model, filling the cache."""
        model = self.text_model.model
        layers = model.encoder.layer
        num_fixed = self._num_fixed_layers
        cache = self.fixed_layers_cache
        if any(text not in cache for text in texts):
            captured = []

            def capture(module, args, output):
                """Keeps the last fixed layer's output."""
                captured.append(output)

            handle = layers[num_fixed - 1].register_forward_hook(capture)
            try:
                tokens, hidden = self.text_model(texts, return_tokens=True)
            finally:
                handle.remove()
            states = captured[0]
            states = states[0] if isinstance(states, tuple) else states
            valid = tokens["attention_mask"].bool()
            for row, text in enumerate(texts):
                cache[text] = states[row][valid[row]].detach()
            return tokens, hidden

        tokens = self.text_model.tokenizer(
            texts, return_tensors="pt", padding=True
        )
        valid = tokens["attention_mask"].bool().to(model.device)

        def fixed_output(module, args, output):
            """The cached output of the fixed layers, padded like this
            batch (the padding is masked in attention)."""
            states = output.new_zeros(output.shape)
            states[valid] = torch.cat([cache[text] for text in texts])
            return states

        handle = model.embeddings.register_forward_hook(fixed_output)
        model.encoder.layer = nn.ModuleList(list(layers)[num_fixed:])
        try:
            return self.text_model(texts, return_tokens=True)
        finally:
            model.encoder.layer = layers
            handle.remove()

    def pool(self, texts):
        """Pooled backbone features, before the projection head.

        Arguments
        ---------
        texts : list of str
            Texts (repeats allowed; each distinct one is encoded once).

        Returns
        -------
        torch.Tensor
            ``len(texts) x hidden_size`` features.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        param = next(self.projection.parameters())
        if not texts:
            return param.new_zeros(0, self.hidden_size)
        distinct = list(dict.fromkeys(texts))
        if self.freeze:
            missing = [t for t in distinct if t not in self.prompt_cache]
            if missing:
                feats = self._backbone(missing).detach()
                self.prompt_cache.update(zip(missing, feats))
            feats = torch.stack([self.prompt_cache[t] for t in distinct])
        else:
            feats = self._backbone(distinct)
        feats = feats.to(device=param.device, dtype=param.dtype)
        if len(distinct) == len(texts):
            return feats
        position = {text: i for i, text in enumerate(distinct)}
        index = torch.tensor([position[t] for t in texts], device=param.device)
        return feats[index]

    def forward(self, texts):
        """Projected text embeddings (not normalised).

        Arguments
        ---------
        texts : list of str
            Texts (repeats allowed; each distinct one is encoded once).

        Returns
        -------
        torch.Tensor
            ``len(texts) x output_size`` embeddings.
        """
        return self.projection(self.pool(texts))
