"""Torch-free GEmo-CLAP classification with onnxruntime, from a folder
written by ``python -m speechbrain_gemo.onnx``.

Needs only numpy, soundfile, soxr and onnxruntime (the ``onnx`` extra):
importing this module imports neither torch, SpeechBrain nor transformers.

``EmotionClassifierONNX`` has the classifying calls of
``speechbrain_gemo.inference.GEmoCLAP`` (``labels``, ``gender_labels``,
``has_gender``, ``classify_file``, ``classify_batch``, ``predict_file``,
``predict_batch``, ``encode_batch``), with numpy arrays in place of
tensors, and classifies with the class prompts stored in the folder (no
text model, so no zero-shot prompts). A folder converted from an export
with the dimensional head also predicts ``arousal``, ``valence`` and
``dominance`` (``has_avd``), on the training corpus' scale as
``GEmoCLAP`` does (``speechbrain_gemo.dimensions.from_unit`` with the
``avd_scale`` of ``config.json``). Long audio is embedded window by
window exactly as ``GEmoCLAP`` does: windows of ``window_seconds``
overlapping by ``overlap_seconds``, the last one ending at the end, whose
pooled SSL features are averaged, weighted by their frames, before the
projection head. For backbones whose CNN normalises over time (a GroupNorm
per channel, as wav2vec2-base and HuBERT-base), which PyTorch runs on each
utterance's own samples, the padded items of a batch are run one by one
(``per_utterance_cnn`` in ``config.json``). ``AudioInputError`` and the
windowing rule come from ``speechbrain_gemo.audio_windows``, shared with
``GEmoCLAP``.

Files of any sample rate and channel count (WAV of any subtype, G.711
mu-law and A-law and GSM 06.10 included, FLAC, OGG, MP3) are read with
soundfile, averaged over channels and resampled with soxr by
``speechbrain_gemo.audio_format.read_audio``, the reader of the PyTorch
backend and of training too: both backends classify the same samples, at
any rate.

Authors
 * speechbrain-gemo developers 2026
"""

import json
import logging
import os

import numpy as np

from speechbrain_gemo.audio_format import (  # noqa: F401 (re-exported)
    read_audio,
    resample,
)
from speechbrain_gemo.audio_windows import (  # noqa: F401 (re-exported)
    AudioInputError,
    check_audio,
    check_relative_lengths,
    model_windows,
    window_bounds,
    window_samples,
)
from speechbrain_gemo.dimensions import DIMENSIONS, check_scale, from_unit
from speechbrain_gemo.prompts import label_words

FORMAT = "speechbrain-gemo-onnx"
# The graph used unless another is asked for, whatever the folder holds
DEFAULT_PRECISION = "fp32"

logger = logging.getLogger(__name__)


def softmax_probabilities(embeddings, class_embeddings, scale):
    """Softmax over classes of the scaled cosine similarities.

    Arguments
    ---------
    embeddings : numpy.ndarray
        ``N x d`` unit-norm audio embeddings.
    class_embeddings : numpy.ndarray
        ``K x d`` unit-norm class embeddings.
    scale : float
        Multiplicative logit scale.

    Returns
    -------
    numpy.ndarray
        ``N x K`` float32 probabilities.

    Example
    -------
    >>> softmax_probabilities(
    ...     np.array([[1.0, 0.0]]), np.eye(2), np.log(3.0)).round(4)
    array([[0.75, 0.25]], dtype=float32)
    """
    logits = scale * (embeddings.astype(np.float64) @ class_embeddings.T)
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


class EmotionClassifierONNX:
    """A GEmo-CLAP speech emotion recogniser on onnxruntime, loaded from a
    folder written by ``python -m speechbrain_gemo.onnx``.

    Arguments
    ---------
    folder : str
        The ONNX folder.
    precision : str, optional
        ``"fp32"`` (the default, for every folder) or ``"int8"`` (a folder
        converted with ``--int8``); the graph used is logged (INFO).
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's choice).
    providers : list of str, optional
        onnxruntime execution providers (default: CPU).
    window_seconds : float, optional
        Items longer than this are embedded in windows (default: the
        folder's, 20 s; ``0`` never splits).
    overlap_seconds : float, optional
        Overlap of the windows (default: the folder's, 2 s).

    Example
    -------
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.onnx import export_onnx
    >>> tmp = getfixture("tmp_path")
    >>> folder = export_onnx(save_tiny_export(str(tmp / "m")), str(tmp / "o"))
    >>> model = EmotionClassifierONNX(folder)
    >>> out_prob, score, index, label = model.classify_batch(
    ...     np.random.randn(2, 8000).astype("float32"), np.array([1.0, 0.6]))
    >>> out_prob.shape, model.labels, model.gender_labels
    ((2, 4), ('neutral', 'happy', 'angry', 'sad'), ('F', 'M'))
    >>> model.label_codes
    ('neu', 'hap', 'ang', 'sad')
    """

    def __init__(
        self,
        folder,
        precision=None,
        threads=None,
        providers=None,
        window_seconds=None,
        overlap_seconds=None,
    ):
        import onnxruntime

        self.folder = os.path.abspath(folder)
        config_path = os.path.join(self.folder, "config.json")
        if not os.path.isfile(config_path):
            raise FileNotFoundError(
                f"{self.folder} is not an ONNX model folder (no config.json); "
                "write one with python -m speechbrain_gemo.onnx"
            )
        with open(config_path) as f:
            config = json.load(f)
        if config.get("format") != FORMAT:
            raise ValueError(
                f"{config_path}: format {config.get('format')!r}, expected "
                f"{FORMAT!r}"
            )
        self.config = config
        self.precision = precision or DEFAULT_PRECISION
        if self.precision not in config["graphs"]:
            raise ValueError(
                f"{self.folder} has no {self.precision!r} graph (it has "
                f"{sorted(config['graphs'])}); convert with --int8 for int8"
            )
        if precision is None and config.get("default_precision") not in (
            None,
            DEFAULT_PRECISION,
        ):
            # Folders converted with --int8 before fp32 became the one
            # default named int8 as theirs
            logger.warning(
                "%s: its config.json names %s as the default precision, "
                "which is no longer read: using %s (ask for precision=%r "
                "for the other graph)",
                self.folder,
                config["default_precision"],
                DEFAULT_PRECISION,
                config["default_precision"],
            )
        logger.info(
            "%s: %s graph %s",
            self.folder,
            self.precision,
            config["graphs"][self.precision],
        )
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        providers = providers or ["CPUExecutionProvider"]

        def session(name):
            """Opens one graph of the folder; a missing or damaged graph is
            a ValueError naming the file (onnxruntime raises its own
            types)."""
            path = os.path.join(self.folder, name)
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{path}: the graph named in config.json is missing"
                )
            try:
                return onnxruntime.InferenceSession(
                    path, options, providers=providers
                )
            except Exception as err:  # InvalidProtobuf, Fail, ...
                reason = " ".join(str(err).split())[:300]
                raise ValueError(
                    f"cannot load {path}: the graph is damaged ({reason})"
                ) from err

        self._encoder = session(config["graphs"][self.precision])
        self._projection = session(config["projection_graph"])
        self.sample_rate = int(config["sample_rate"])
        self.min_samples = int(config["min_samples"])
        self.window_seconds = (
            config["window_seconds"]
            if window_seconds is None
            else window_seconds
        )
        self.overlap_seconds = (
            config["overlap_seconds"]
            if overlap_seconds is None
            else overlap_seconds
        )
        # People read words (speechbrain_gemo.prompts.label_words); a
        # folder written before label_codes existed has the codes as its
        # labels, whose words are found from its prompts
        prompts = config.get("emotion_prompts") or {}
        stored = [list(texts) for texts in prompts.values()]
        codes = tuple(config.get("label_codes") or config["labels"])
        if "label_codes" in config:
            words = tuple(config["labels"])
        else:
            found = label_words(dict(zip(codes, stored)))
            words = tuple(found[c] for c in codes)
        self.label_codes = codes
        # the stored classes, keyed by their words or by their codes
        self._stored_prompts = [
            dict(zip(words, stored)),
            dict(zip(codes, stored)),
        ]
        self._classes = {
            "emotion": (
                words,
                self._load_embeddings("emotion_prompt_embeddings.npy"),
                float(config["logit_scale"]),
            )
        }
        if "gender_labels" in config:
            self._classes["gender"] = (
                tuple(config["gender_labels"]),
                self._load_embeddings("gender_prompt_embeddings.npy"),
                float(config["gender_logit_scale"]),
            )

    def _load_embeddings(self, name):
        emb = np.load(os.path.join(self.folder, name))
        dim = self.config["embedding_dim"]
        if emb.ndim != 2 or emb.shape[1] != dim:
            raise ValueError(
                f"{os.path.join(self.folder, name)}: expected K x {dim} "
                f"embeddings, got shape {emb.shape}"
            )
        return emb.astype(np.float32)

    @property
    def labels(self):
        """tuple: the emotion classes, in probability order, as a person
        reads them: their words (``angry``, ``surprised``, a user's own
        label as written; ``label_codes`` holds the training corpus'
        codes)."""
        return self._classes["emotion"][0]

    @property
    def gender_labels(self):
        """tuple: the gender classes (empty without a gender branch)."""
        return self._classes["gender"][0] if self.has_gender else ()

    @property
    def has_gender(self):
        """bool: whether the model predicts gender (ML-GEmo-CLAP)."""
        return "gender" in self._classes

    @property
    def has_avd(self):
        """bool: whether the model predicts arousal, valence and dominance
        (converted from an export with the dimensional head)."""
        return "avd_scale" in self.config

    @property
    def avd_scale(self):
        """tuple: the training corpus' rating scale ``(min, max)`` (None
        without the dimensional head)."""
        if not self.has_avd:
            return None
        return check_scale(self.config["avd_scale"])

    # ------------------------------------------------------------------
    # Audio
    # ------------------------------------------------------------------
    def load_audio(self, path):
        """Reads a file as a checked mono waveform at ``sample_rate``.

        Arguments
        ---------
        path : str
            The audio file (any sample rate and channel count).

        Returns
        -------
        numpy.ndarray
            The waveform, shape ``T``.
        """
        signal = read_audio(path, self.sample_rate)
        self._check_signal(signal, str(path))
        return signal

    def _check_signal(self, signal, name):
        finite = bool(np.isfinite(signal).all())
        check_audio(
            signal.shape[0], name, self.sample_rate, self.min_samples, finite
        )

    def _prepare_batch(self, wavs, wav_lens, names=None):
        wavs = np.asarray(wavs, dtype=np.float32)
        if wavs.ndim == 1:
            wavs = wavs[None]
        elif wavs.ndim == 3:
            wavs = wavs.mean(axis=-1)  # N x T x C: average the channels
        elif wavs.ndim != 2:
            raise ValueError(
                f"wavs must be N x T (or T, or N x T x C), got shape "
                f"{wavs.shape}"
            )
        if wav_lens is None:
            wav_lens = np.ones(wavs.shape[0], dtype=np.float32)
        wav_lens = np.asarray(wav_lens, dtype=np.float32).reshape(-1)
        check_relative_lengths(wav_lens.tolist(), wavs.shape[0])
        # float32 products, as the graph (and PyTorch) compute them
        samples = np.round(wav_lens * np.float32(wavs.shape[1])).astype(int)
        for i, count in enumerate(samples):
            name = names[i] if names else f"batch item {i}"
            self._check_signal(wavs[i, :count], name)
        return np.ascontiguousarray(wavs), wav_lens, samples

    def _window_sizes(self, window_seconds, overlap_seconds):
        return window_samples(
            *model_windows(self, window_seconds, overlap_seconds),
            self.sample_rate,
            self.min_samples,
        )

    def _run(self, wavs, lens, outputs=("embeddings",)):
        if self.precision == "int8" and wavs.shape[0] > 1:
            # Dynamic int8 quantisation scales each matrix product's input
            # by its range over the whole batch: run each item on its own
            # samples, so that an item's result never depends on what it
            # is batched with (other files, other calls' windows)
            samples = np.round(lens * np.float32(wavs.shape[1])).astype(int)
            one = np.ones(1, dtype=np.float32)
            found = [
                self._run(wavs[i : i + 1, : samples[i]], one, outputs)
                for i in range(wavs.shape[0])
            ]
            return [np.concatenate(part) for part in zip(*found)]
        return self._encoder.run(
            list(outputs),
            {
                "waveforms": np.ascontiguousarray(wavs, dtype=np.float32),
                "lengths": np.ascontiguousarray(lens, dtype=np.float32),
            },
        )

    def _embed(self, wavs, wav_lens, samples, window_seconds, overlap_seconds):
        """Embeddings and, with the dimensional head, its outputs on [0, 1]
        (else None), long items in windows."""
        window, overlap = self._window_sizes(window_seconds, overlap_seconds)
        heads = ("embeddings", "avd") if self.has_avd else ("embeddings",)
        if (
            self.config.get("per_utterance_cnn")
            and (samples < wavs.shape[1]).any()
        ):
            # As PyTorch's per-utterance CNN: each item on its own samples
            items = [
                self._embed(
                    wavs[i : i + 1, : samples[i]],
                    np.ones(1, dtype=np.float32),
                    samples[i : i + 1],
                    window_seconds,
                    overlap_seconds,
                )
                for i in range(wavs.shape[0])
            ]
            return tuple(
                np.concatenate(part) if part[0] is not None else None
                for part in zip(*items)
            )
        if not window or samples.max() <= window:
            out = self._run(wavs, wav_lens, heads)
            return out[0], out[1] if self.has_avd else None
        out = [None] * wavs.shape[0]
        avd = [None] * wavs.shape[0]
        short = np.flatnonzero(samples <= window)
        if short.size:
            # Trim the padding the long items added (padding invariance)
            length = int(samples[short].max())
            lens = (samples[short] / np.float32(length)).astype(np.float32)
            found = self._run(wavs[short, :length], lens, heads)
            for k, i in enumerate(short):
                out[i] = found[0][k]
                avd[i] = found[1][k] if self.has_avd else None
        one = np.ones(1, dtype=np.float32)
        for i in np.flatnonzero(samples > window):
            total, frames = 0.0, 0
            for start, end in window_bounds(int(samples[i]), window, overlap):
                pooled, count = self._run(
                    wavs[i : i + 1, start:end], one, ("pooled", "num_frames")
                )
                total = total + pooled[0] * int(count[0])
                frames += int(count[0])
            pooled = (total / frames).astype(np.float32)[None]
            found = self._projection.run(list(heads), {"pooled": pooled})
            out[i] = found[0][0]
            avd[i] = found[1][0] if self.has_avd else None
        return np.stack(out), np.stack(avd) if self.has_avd else None

    # ------------------------------------------------------------------
    # Public calls
    # ------------------------------------------------------------------
    def encode_batch(
        self, wavs, wav_lens=None, window_seconds=None, overlap_seconds=None
    ):
        """L2-normalised audio embeddings.

        Arguments
        ---------
        wavs : numpy.ndarray
            ``N x T`` waveforms at ``sample_rate`` (or ``T``).
        wav_lens : numpy.ndarray, optional
            SpeechBrain relative lengths (None: all full length): one
            per waveform, each between 0 and 1 (else ValueError).
        window_seconds : float, optional
            Items longer than this are embedded in windows.
        overlap_seconds : float, optional
            Overlap of the windows.

        Returns
        -------
        numpy.ndarray
            ``N x d`` unit-norm embeddings.
        """
        wavs, wav_lens, samples = self._prepare_batch(wavs, wav_lens)
        return self._embed(
            wavs, wav_lens, samples, window_seconds, overlap_seconds
        )[0]

    def _check_prompts(self, prompts):
        """Accepts only the stored emotion prompts (there is no text model
        to embed others)."""
        if prompts is None:
            return
        stored = self.config.get("emotion_prompts", {})
        if isinstance(prompts, (list, tuple)):
            prompts = {text: [text] for text in prompts}
        given = {
            label: [texts] if isinstance(texts, str) else list(texts)
            for label, texts in dict(prompts).items()
        }
        if not any(
            given == known and list(given) == list(known)
            for known in self._stored_prompts
        ):
            raise ValueError(
                "an ONNX folder classifies with its stored prompts only "
                f"({stored}); other prompts need the text model: use "
                "speechbrain_gemo.inference.GEmoCLAP"
            )

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
        the audio graph, with the keys of ``GEmoCLAP.predict_batch``.

        Arguments
        ---------
        wavs : numpy.ndarray
            ``N x T`` waveforms at ``sample_rate`` (or ``T``).
        wav_lens : numpy.ndarray, optional
            SpeechBrain relative lengths.
        prompts : dict, optional
            Only None or the stored emotion prompts (the signature of
            ``GEmoCLAP.predict_batch``; other prompts raise ValueError).
        window_seconds : float, optional
            See ``encode_batch``.
        overlap_seconds : float, optional
            See ``encode_batch``.
        names : list of str, optional
            Names of the items (e.g. files) for error messages.

        Returns
        -------
        dict
            ``probs``, ``labels``, ``score``, ``index``, ``text_lab``,
            ``embeddings``; with a gender branch, ``gender_probs``,
            ``gender_labels``, ``gender_score``, ``gender_index``,
            ``gender_lab``; with the dimensional head, ``arousal``,
            ``valence`` and ``dominance`` (``N`` each, on the training
            corpus' scale ``avd_scale``).
        """
        self._check_prompts(prompts)
        wavs, wav_lens, samples = self._prepare_batch(wavs, wav_lens, names)
        audio, avd = self._embed(
            wavs, wav_lens, samples, window_seconds, overlap_seconds
        )
        out = {"embeddings": audio}
        if avd is not None:
            values = from_unit(avd.astype(np.float32), self.avd_scale)
            for k, dimension in enumerate(DIMENSIONS):
                out[dimension] = values[:, k]
        for name, prefix in (("emotion", ""), ("gender", "gender_")):
            if name not in self._classes:
                continue
            labels, class_emb, scale = self._classes[name]
            probs = softmax_probabilities(audio, class_emb, scale)
            index = probs.argmax(axis=-1)
            out[f"{prefix}probs"] = probs
            out[f"{prefix}labels"] = labels
            out[f"{prefix}score"] = probs[np.arange(len(index)), index]
            out[f"{prefix}index"] = index
            out["text_lab" if not prefix else "gender_lab"] = [
                labels[i] for i in index
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
        prompts : dict, optional
            See ``predict_batch``.
        window_seconds : float, optional
            See ``encode_batch``.
        overlap_seconds : float, optional
            See ``encode_batch``.

        Returns
        -------
        dict
            As ``predict_batch``, with a batch of one.
        """
        signal = self.load_audio(path)
        return self.predict_batch(
            signal[None],
            prompts=prompts,
            window_seconds=window_seconds,
            overlap_seconds=overlap_seconds,
            names=[str(path)],
        )

    def classify_batch(self, wavs, wav_lens=None, **kwargs):
        """Classifies a batch, as ``GEmoCLAP.classify_batch``.

        Arguments
        ---------
        wavs : numpy.ndarray
            ``N x T`` waveforms at ``sample_rate`` (or ``T``).
        wav_lens : numpy.ndarray, optional
            SpeechBrain relative lengths.
        **kwargs : dict
            ``prompts``, ``window_seconds``, ``overlap_seconds``, ``names``
            (see ``predict_batch``).

        Returns
        -------
        out_prob : numpy.ndarray
            ``N x K`` probabilities, in ``labels`` order.
        score : numpy.ndarray
            ``N`` probabilities of the best class.
        index : numpy.ndarray
            ``N`` indices of the best class.
        text_lab : list of str
            ``N`` best labels.
        """
        out = self.predict_batch(wavs, wav_lens, **kwargs)
        return out["probs"], out["score"], out["index"], out["text_lab"]

    def classify_file(self, path, **kwargs):
        """Classifies an audio file of any sample rate and channel count.

        Arguments
        ---------
        path : str
            The audio file.
        **kwargs : dict
            ``prompts``, ``window_seconds``, ``overlap_seconds``.

        Returns
        -------
        tuple
            As ``classify_batch``, with a batch of one.
        """
        out = self.predict_file(path, **kwargs)
        return out["probs"], out["score"], out["index"], out["text_lab"]
