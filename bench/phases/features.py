"""Features phase: what batch-independent audio features cost.

``SSLAudioEncoder`` runs a group-norm CNN feature encoder (WavLM-base and
the benchmark's small WavLM) on each utterance's valid samples alone, so
that an utterance's embedding does not depend on the padding of its batch
(``per_utterance_cnn``, on by default for such models). This phase times
that path against the old batched one (``per_utterance_cnn=False``) on a
batch of mixed lengths, forward (inference) and forward + backward
(training, the recipe's settings: CNN frozen, the rest fine-tuned), and
measures how far each path's pooled features of an utterance in the batch
are from those of the same utterance alone.

Authors
 * speechbrain-gemo developers 2026
"""

from bench.common import SAMPLE_RATE, autocast, log, release
from bench.timing import interleaved, ratio_of, summary

PATHS = {"batched": False, "per_utterance": True}


def mixed_lengths(batch_size, low, high):
    """Utterance lengths evenly spread from ``high`` down to ``low``
    seconds, all different (as in a shuffled batch; each length is then a
    CNN run of its own on the per-utterance path, the most it costs).

    Arguments
    ---------
    batch_size : int
        Number of utterances.
    low : float
        Shortest length, seconds.
    high : float
        Longest length, seconds.

    Returns
    -------
    list of int
        Numbers of samples at 16 kHz, longest first.

    Example
    -------
    >>> mixed_lengths(3, 1.0, 3.0)
    [48000, 32000, 16000]
    >>> mixed_lengths(1, 1.0, 3.0)
    [48000]
    """
    if batch_size == 1:
        return [int(round(high * SAMPLE_RATE))]
    step = (high - low) / (batch_size - 1)
    return [
        int(round((high - i * step) * SAMPLE_RATE)) for i in range(batch_size)
    ]


def mixed_batch(num_samples, device, seed=0):
    """Random waveforms of the given lengths, zero-padded, and their
    relative lengths.

    Arguments
    ---------
    num_samples : list of int
        Samples of each utterance.
    device : str
        Where to put them.
    seed : int
        Seed of the audio.

    Returns
    -------
    tuple
        ``(wavs, wav_lens)``: ``B x max`` waveforms, relative lengths.

    Example
    -------
    >>> wavs, lens = mixed_batch([4, 2], "cpu")
    >>> wavs.shape, lens.tolist(), wavs[1, 2:].tolist()
    (torch.Size([2, 4]), [1.0, 0.5], [0.0, 0.0])
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    longest = max(num_samples)
    wavs = torch.zeros(len(num_samples), longest)
    for row, samples in enumerate(num_samples):
        wavs[row, :samples] = 0.1 * torch.randn(samples, generator=generator)
    lens = torch.tensor(num_samples, dtype=torch.float) / longest
    return wavs.to(device), lens.to(device)


def build_encoder(ssl_dir, config, per_utterance_cnn):
    """The recipe's audio tower (``SSLAudioEncoder`` on the SSL wrapper,
    CNN frozen, the rest fine-tuned, the recipe's projection and
    LayerDrop) with the CNN run per utterance or batched.

    Arguments
    ---------
    ssl_dir : str
        The SSL model folder.
    config : BenchConfig
        The run's settings.
    per_utterance_cnn : bool
        The path.

    Returns
    -------
    SSLAudioEncoder
        The tower, on ``config.device``.
    """
    import torch
    from speechbrain.integrations.huggingface import Wav2Vec2

    from speechbrain_gemo.lobes import SSLAudioEncoder

    recipe = config.recipe
    ssl = Wav2Vec2(
        source=ssl_dir,
        save_path=ssl_dir,
        freeze=False,
        freeze_feature_extractor=True,
        output_all_hiddens=False,
    )
    torch.manual_seed(0)  # the same projection on both paths
    encoder = SSLAudioEncoder(
        ssl,
        recipe["embedding_dim"],
        dropout=recipe["projection_dropout"],
        layerdrop=recipe["ssl_layerdrop"],
        per_utterance_cnn=per_utterance_cnn,
    )
    return encoder.to(config.device)


def batch_dependence(encoder, wavs, wav_lens, num_samples):
    """Largest absolute difference between an utterance's pooled features
    (``SSLAudioEncoder.pool``, eval mode) computed in the padded batch and
    computed alone, unpadded, over the batch's utterances.

    Arguments
    ---------
    encoder : SSLAudioEncoder
        The tower.
    wavs : torch.Tensor
        ``B x T`` padded waveforms.
    wav_lens : torch.Tensor
        Relative lengths.
    num_samples : list of int
        Samples of each utterance.

    Returns
    -------
    float
        The largest difference.
    """
    import torch

    encoder.eval()
    with torch.no_grad():
        batched = encoder.pool(wavs, wav_lens)
        worst = 0.0
        for row, samples in enumerate(num_samples):
            alone = encoder.pool(
                wavs[row : row + 1, :samples], wav_lens.new_ones(1)
            )
            difference = (batched[row] - alone[0]).abs().max().item()
            worst = max(worst, difference)
    return worst


def run(config):
    """Runs the features phase.

    Arguments
    ---------
    config : BenchConfig
        The run's settings.

    Returns
    -------
    dict
        ``per_utterance_cnn_forward_ratio``,
        ``per_utterance_cnn_train_ratio`` (per-utterance path / batched
        path), ``batch_dependence_max_abs_old`` (batched path) and
        ``batch_dependence_max_abs_new`` (per-utterance path), and
        ``details.features``.
    """
    return results_of(measure(config))


def results_of(features):
    """The result keys of the features measurements.

    Arguments
    ---------
    features : dict
        Output of :func:`measure`.

    Returns
    -------
    dict
        The result keys and ``details.features``.

    Example
    -------
    >>> out = results_of({"forward": {"ratio": 1.2}, "train": {"ratio": 1.1},
    ...     "batch_dependence": {"batched": 0.1, "per_utterance": 1e-7}})
    >>> out["per_utterance_cnn_train_ratio"]
    1.1
    >>> out["batch_dependence_max_abs_new"]
    1e-07
    """
    return {
        "per_utterance_cnn_forward_ratio": features["forward"]["ratio"],
        "per_utterance_cnn_train_ratio": features["train"]["ratio"],
        "batch_dependence_max_abs_old": features["batch_dependence"]["batched"],
        "batch_dependence_max_abs_new": features["batch_dependence"][
            "per_utterance"
        ],
        "details": {"features": features},
    }


def measure(config):
    """Times both paths interleaved, forward and training step, and
    measures their batch dependence.

    Arguments
    ---------
    config : BenchConfig
        The run's settings (profile keys ``feature_batch`` and
        ``feature_seconds``, the range of lengths).

    Returns
    -------
    dict
        ``forward`` and ``train`` (each path's timings, ``ratio`` and
        ``paired_ratio``: per-utterance / batched), ``batch_dependence``
        (per path), the lengths and the CNN's normalisation.
    """
    import torch

    from speechbrain_gemo.lobes import cnn_normalises_over_time

    profile = config.profile
    low, high = profile["feature_seconds"]
    num_samples = mixed_lengths(profile["feature_batch"], low, high)
    wavs, wav_lens = mixed_batch(num_samples, config.device)
    encoders = {
        name: build_encoder(config.ssl_dir, config, per_utterance)
        for name, per_utterance in PATHS.items()
    }
    hf_model = encoders["batched"].ssl_model.model

    def forward_fn(encoder):
        """One inference forward of the batch."""

        def forward():
            """Eval mode, no gradients."""
            encoder.eval()
            with torch.no_grad(), autocast(config.device, config.precision):
                encoder(wavs, wav_lens)

        return forward

    def train_fn(encoder):
        """One training forward and backward of the batch."""

        def step():
            """Train mode, gradients of the trained parameters."""
            encoder.train()
            encoder.zero_grad(set_to_none=True)
            with autocast(config.device, config.precision):
                loss = encoder(wavs, wav_lens).float().pow(2).mean()
            loss.backward()

        return step

    out = {
        "lengths_s": [n / SAMPLE_RATE for n in num_samples],
        "feat_extract_norm": getattr(
            hf_model.config, "feat_extract_norm", None
        ),
        "per_utterance_cnn_by_default": cnn_normalises_over_time(hf_model),
        "cnn_frozen": True,
    }
    for name, make in (("forward", forward_fn), ("train", train_fn)):
        log(f"features: {name}, batched vs per-utterance CNN")
        times = interleaved(
            {path: make(encoder) for path, encoder in encoders.items()},
            profile["warmup"],
            profile["repeats"],
            config.device,
            config.clock,
        )
        out[name] = {
            "batched_s": summary(times["batched"]),
            "per_utterance_s": summary(times["per_utterance"]),
            **ratio_of(times["per_utterance"], times["batched"]),
        }
        log(f"  {out[name]}")
    out["batch_dependence"] = {
        path: batch_dependence(encoder, wavs, wav_lens, num_samples)
        for path, encoder in encoders.items()
    }
    out["batch_dependence"]["measured_on"] = (
        "SSLAudioEncoder.pool in eval mode: each utterance in the padded "
        "batch vs alone, largest absolute difference"
    )
    log(f"  batch dependence: {out['batch_dependence']}")
    encoders = hf_model = None
    release()
    return out
