"""Exports the audio side of a GEmo-CLAP model to ONNX, for torch-free
deployment with :class:`speechbrain_gemo.onnx_runtime.EmotionClassifierONNX`.

Classifying with the stored class prompts needs only the audio tower and
the prompts' embeddings, so that is all the ONNX folder holds::

    python -m speechbrain_gemo.onnx --model EXPORT --out DIR [--int8]

``EXPORT`` is a folder written by ``speechbrain_gemo.export`` (it is read
only through ``GEmoCLAP.from_hparams``). ``DIR`` gets:

- ``audio_encoder.onnx``: waveforms (float32 ``B x T`` at the model's
  sample rate, zero-padded) and SpeechBrain relative lengths (float32
  ``B``) to ``embeddings`` (``B x d``, unit norm), ``pooled`` (``B x H``,
  the mean of the valid frames' SSL features, before the projection
  head), ``num_frames`` (int64 ``B``, the valid frames) and, for models
  with the dimensional head, ``avd`` (``B x 3``, arousal, valence and
  dominance on [0, 1], mapped to the corpus' scale ``avd_scale`` of
  ``config.json`` by ``speechbrain_gemo.dimensions.from_unit``). Inside: the
  per-utterance waveform normalisation over the valid samples, the SSL
  model with its attention mask, the masked mean pooling and the
  projection head, as in ``SSLAudioEncoder``; batch and time axes are
  dynamic;
- ``audio_encoder.int8.onnx`` (with ``--int8``): the same graph with
  onnxruntime's dynamic int8 quantisation of its matrix products
  (``MatMul``, signed 8-bit weights), used only when asked for
  (``EmotionClassifierONNX(folder, precision="int8")``, ``infer --backend
  onnx --precision int8``): fp32 is the default of every folder.
  Quantising the convolutions too is slower than fp32 on CPUs (the
  convolutional feature encoder does not gain; see bench/README.md), so
  they stay in fp32;
- ``projection.onnx``: ``pooled`` to unit-norm ``embeddings`` (and
  ``avd`` with the dimensional head), for long audio classified window by
  window (the windows' pooled features are averaged, weighted by their
  frames, before the projection);
- ``emotion_prompt_embeddings.npy`` (``K x d``) and, for ML-GEmo-CLAP
  models, ``gender_prompt_embeddings.npy``;
- ``config.json``: labels, logit scales, sample rate, receptive field,
  window settings, graph files and, with the dimensional head,
  ``dimensions`` and ``avd_scale``;
- ``README.md``: how to use the folder.

The folder is written under a temporary name and renamed when complete.

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import json
import logging
import os
import shutil
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speechbrain_gemo.dimensions import DIMENSIONS
from speechbrain_gemo.lobes import (
    lengths_to_mask,
    normalize_waveforms,
    ssl_call_lengths,
)

FORMAT = "speechbrain-gemo-onnx"
FORMAT_VERSION = 1
OPSET = 17

GRAPH_FP32 = "audio_encoder.onnx"
GRAPH_INT8 = "audio_encoder.int8.onnx"
PROJECTION_GRAPH = "projection.onnx"

README = """\
# GEmo-CLAP speech emotion recogniser (ONNX)

Converted by `python -m speechbrain_gemo.onnx` from `{source}`
(SSL backbone: {backbone}).

Classes: {labels}{gender_line}{avd_line}

Torch-free use (needs only numpy, soundfile, soxr and onnxruntime:
`pip install numpy soundfile soxr onnxruntime` then
`pip install --no-deps speechbrain-gemo`):

```python
from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

model = EmotionClassifierONNX("{folder}")
out_prob, score, index, label = model.classify_file("speech.wav")
```

Files:

- `{fp32}`: waveforms (float32 B x T at {sample_rate} Hz) and relative
  lengths (float32 B) to unit-norm `embeddings`, `pooled` SSL features and
  `num_frames`;{int8_line}
- `{projection}`: pooled features to unit-norm embeddings (long audio is
  classified in windows of {window} s overlapping by {overlap} s);
- `emotion_prompt_embeddings.npy`{gender_files}: the class prompts'
  embeddings; `config.json`: labels, logit scales and settings.

Probabilities are `softmax(logit_scale * embeddings @ prompt_embeddings.T)`.
"""


def model_parts(model):
    """What the ONNX export needs from a loaded ``GEmoCLAP``: the one place
    that reaches into the interface, so that a change of its internals is
    adapted here only.

    Arguments
    ---------
    model : speechbrain_gemo.inference.GEmoCLAP
        The loaded export.

    Returns
    -------
    dict
        ``audio_encoder`` (the ``SSLAudioEncoder``), ``labels``,
        ``emotion_prompts`` (label to prompt texts), ``emotion_embeddings``
        (``K x d`` numpy), ``logit_scale`` (float), for ML-GEmo-CLAP
        models ``gender_labels``, ``gender_prompts``, ``gender_embeddings``
        and ``gender_logit_scale``, for models with the dimensional head
        ``avd_head`` (the module) and ``avd_scale``, and ``sample_rate``,
        ``min_samples``, ``window_seconds``, ``overlap_seconds``,
        ``backbone``.

    Example
    -------
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> from speechbrain_gemo.inference import GEmoCLAP
    >>> folder = save_tiny_export(str(getfixture("tmp_path") / "m"))
    >>> parts = model_parts(GEmoCLAP.from_hparams(source=folder))
    >>> parts["labels"], parts["emotion_embeddings"].shape
    (('neutral', 'happy', 'angry', 'sad'), (4, 16))
    >>> parts["label_codes"]
    ('neu', 'hap', 'ang', 'sad')
    """
    clap = model.mods.model
    encoder = clap.audio_encoder
    parts = {
        "audio_encoder": encoder,
        "labels": tuple(model.stored_prompts["emotion"]),
        "label_codes": tuple(model.label_codes),
        "emotion_prompts": dict(model.stored_prompts["emotion"]),
        "emotion_embeddings": _numpy(
            model.encode_prompts(model.stored_prompts["emotion"])
        ),
        "logit_scale": float(clap.scale()),
        "sample_rate": int(model.sample_rate),
        "min_samples": int(model.min_samples),
        "window_seconds": model.window_seconds,
        "overlap_seconds": model.overlap_seconds,
        "backbone": encoder.ssl_model.model.config.model_type,
        "per_utterance_cnn": bool(encoder.per_utterance_cnn),
    }
    if model.has_gender:
        parts["gender_labels"] = tuple(model.stored_prompts["gender"])
        parts["gender_prompts"] = dict(model.stored_prompts["gender"])
        parts["gender_embeddings"] = _numpy(
            model.encode_prompts(model.stored_prompts["gender"])
        )
        parts["gender_logit_scale"] = float(clap.gender_scale())
    if clap.has_avd:
        parts["avd_head"] = clap.avd_head
        parts["avd_scale"] = list(clap.avd_scale)
    return parts


def _numpy(tensor):
    """A float32 numpy copy of a tensor."""
    return tensor.detach().float().cpu().numpy().astype(np.float32)


class AudioTowerGraph(nn.Module):
    """The audio tower of ``SSLAudioEncoder`` written for tracing: the same
    computation as its ``forward`` with relative lengths, with every
    length-dependent quantity computed from tensors, so that the traced
    graph keeps dynamic batch and time axes.

    Arguments
    ---------
    encoder : speechbrain_gemo.lobes.SSLAudioEncoder
        The audio tower (eval mode).
    avd_head : torch.nn.Module, optional
        The dimensional head (eval mode): adds the output ``avd``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.integrations.huggingface import WavLM
    >>> from speechbrain_gemo.lobes import SSLAudioEncoder
    >>> from speechbrain_gemo.testing import save_tiny_ssl_model
    >>> folder = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> encoder = SSLAudioEncoder(WavLM(folder, save_path=folder), 8).eval()
    >>> wavs, lens = torch.randn(2, 8000), torch.tensor([1.0, 0.5])
    >>> emb, pooled, frames = AudioTowerGraph(encoder)(wavs, lens)
    >>> torch.allclose(emb, F.normalize(encoder(wavs, lens)), atol=1e-5)
    True
    >>> frames.tolist()
    [24, 12]
    """

    def __init__(self, encoder, avd_head=None):
        super().__init__()
        self.encoder = encoder
        self.avd_head = avd_head

    def forward(self, waveforms, lengths):
        """Embeds a padded batch.

        Arguments
        ---------
        waveforms : torch.Tensor
            ``B x T`` waveforms.
        lengths : torch.Tensor
            ``B`` relative lengths.

        Returns
        -------
        embeddings : torch.Tensor
            ``B x d`` unit-norm embeddings.
        pooled : torch.Tensor
            ``B x H`` mean of the valid frames' features.
        num_frames : torch.Tensor
            ``B`` numbers of valid frames (int64).
        avd : torch.Tensor
            Only with the dimensional head: ``B x 3`` on [0, 1].
        """
        encoder = self.encoder
        hf_model = encoder.ssl_model.model
        num_samples = torch.round(lengths * waveforms.shape[1]).long()
        if encoder.normalize_wav:
            waveforms = normalize_waveforms(waveforms, num_samples)
        sample_mask = lengths_to_mask(num_samples, waveforms.shape[1])
        frames = hf_model._get_feat_extract_output_lengths(num_samples)
        # From the traced shape, not a Python int: the time axis stays dynamic
        padded = (lengths[0] * 0 + waveforms.shape[1]).long()
        total = hf_model._get_feat_extract_output_lengths(padded)
        # Read by the tower's hooks on stacked positional convolutions; the
        # CNN runs batched (the runtime runs padded items one by one)
        with ssl_call_lengths(frame_mask=lengths_to_mask(frames, total)):
            out = hf_model(
                waveforms,
                attention_mask=sample_mask.long(),
                output_hidden_states=encoder.layer_weighting,
            )
        if encoder.layer_weighting:
            feats = torch.stack(list(out.hidden_states), dim=0)
        else:
            feats = out.last_hidden_state
        if encoder.layernorm:
            feats = F.layer_norm(feats, feats.shape[-1:])
        if encoder.layer_weighting:
            weights = F.softmax(encoder.layer_weights, dim=0)
            feats = (feats * weights.view(-1, 1, 1, 1)).sum(dim=0)
        frames = torch.minimum(frames, total)
        mask = lengths_to_mask(frames, feats.shape[1]).unsqueeze(-1)
        summed = torch.where(mask, feats, torch.zeros_like(feats)).sum(dim=1)
        pooled = summed / frames.clamp(min=1).unsqueeze(-1).to(feats.dtype)
        embeddings = F.normalize(encoder.projection(pooled), dim=-1)
        if self.avd_head is not None:
            return embeddings, pooled, frames, self.avd_head(pooled)
        return embeddings, pooled, frames


class ProjectionGraph(nn.Module):
    """Pooled features to unit-norm embeddings (the projection head), and
    to the dimensional head's outputs for a model with it.

    Arguments
    ---------
    projection : torch.nn.Module
        The audio projection head.
    avd_head : torch.nn.Module, optional
        The dimensional head: adds the output ``avd``.

    Example
    -------
    >>> from speechbrain_gemo.lobes import ProjectionHead
    >>> emb = ProjectionGraph(ProjectionHead(4, 3))(torch.randn(2, 4))
    >>> torch.allclose(emb.norm(dim=-1), torch.ones(2))
    True
    """

    def __init__(self, projection, avd_head=None):
        super().__init__()
        self.projection = projection
        self.avd_head = avd_head

    def forward(self, pooled):
        """Projects and normalises.

        Arguments
        ---------
        pooled : torch.Tensor
            ``B x H`` pooled features.

        Returns
        -------
        embeddings : torch.Tensor
            ``B x d`` unit-norm embeddings.
        avd : torch.Tensor
            Only with the dimensional head: ``B x 3`` on [0, 1].
        """
        embeddings = F.normalize(self.projection(pooled), dim=-1)
        if self.avd_head is not None:
            return embeddings, self.avd_head(pooled)
        return embeddings


def _export_graph(module, args, path, input_names, output_names, dynamic):
    """Traces ``module`` to an ONNX file and checks it."""
    import onnx

    with warnings.catch_warnings():
        # Tracer warnings about Python values taken from tensor shapes:
        # the graph is checked at other shapes by the tests
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            path,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    onnx.checker.check_model(path)


def quantize_int8(fp32_path, int8_path):
    """Dynamic int8 quantisation of the matrix products of a graph
    (``MatMul`` with signed 8-bit weights; convolutions stay fp32).

    Arguments
    ---------
    fp32_path : str
        The fp32 ONNX graph.
    int8_path : str
        Where to write the quantised graph.

    Returns
    -------
    str
        ``int8_path``.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime advises pre-processing (quant_pre_process) on the root
    # logger; measured on WavLM-base it changed neither speed (0.275 s vs
    # 0.269 s) nor agreement (63 of 64 clips), so the advice is dropped
    def advice(record):
        """False for onnxruntime's pre-processing advice."""
        return not str(record.msg).startswith("Please consider to run pre")

    logging.getLogger().addFilter(advice)
    try:
        quantize_dynamic(
            fp32_path,
            int8_path,
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
        )
    finally:
        logging.getLogger().removeFilter(advice)
    onnx.checker.check_model(int8_path)
    return int8_path


def export_onnx(model_dir, out_dir, int8=False, example_seconds=1.0):
    """Converts an exported GEmo-CLAP folder to an ONNX folder (see the
    module docstring for its layout).

    Arguments
    ---------
    model_dir : str
        A folder written by ``speechbrain_gemo.export``.
    out_dir : str
        The ONNX folder to write; replaced if it exists.
    int8 : bool
        Also write the int8 graph (used when asked for; fp32 stays the
        default).
    example_seconds : float
        Length of the example batch traced (any length works later).

    Returns
    -------
    str
        The absolute ONNX folder.

    Example
    -------
    >>> from speechbrain_gemo.export import save_tiny_export
    >>> tmp = getfixture("tmp_path")
    >>> out = export_onnx(save_tiny_export(str(tmp / "m")), str(tmp / "o"))
    >>> sorted(os.listdir(out))  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'audio_encoder.onnx', 'config.json',
     'emotion_prompt_embeddings.npy', 'gender_prompt_embeddings.npy',
     'projection.onnx']
    """
    from speechbrain_gemo.inference import GEmoCLAP

    model = GEmoCLAP.from_hparams(source=model_dir)
    model.mods.eval()
    parts = model_parts(model)
    encoder = parts["audio_encoder"]
    out_dir = os.path.abspath(out_dir)
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        length = max(
            int(example_seconds * parts["sample_rate"]),
            4 * parts["min_samples"],
        )
        generator = torch.Generator().manual_seed(0)
        # A padded example, so every masking path is in the trace
        wavs = torch.randn(2, length, generator=generator)
        lens = torch.tensor([1.0, 0.75])
        avd_head = parts.get("avd_head")
        extra = ["avd"] if avd_head is not None else []
        with torch.no_grad():
            _export_graph(
                AudioTowerGraph(encoder, avd_head).eval(),
                (wavs, lens),
                os.path.join(tmp, GRAPH_FP32),
                ["waveforms", "lengths"],
                ["embeddings", "pooled", "num_frames"] + extra,
                {
                    "waveforms": {0: "batch", 1: "samples"},
                    "lengths": {0: "batch"},
                    "embeddings": {0: "batch"},
                    "pooled": {0: "batch"},
                    "num_frames": {0: "batch"},
                    **{name: {0: "batch"} for name in extra},
                },
            )
            _export_graph(
                ProjectionGraph(encoder.projection, avd_head).eval(),
                (torch.randn(2, encoder.hidden_size, generator=generator),),
                os.path.join(tmp, PROJECTION_GRAPH),
                ["pooled"],
                ["embeddings"] + extra,
                {
                    "pooled": {0: "batch"},
                    "embeddings": {0: "batch"},
                    **{name: {0: "batch"} for name in extra},
                },
            )
        graphs = {"fp32": GRAPH_FP32}
        if int8:
            quantize_int8(
                os.path.join(tmp, GRAPH_FP32), os.path.join(tmp, GRAPH_INT8)
            )
            graphs["int8"] = GRAPH_INT8
        _write_metadata(tmp, parts, graphs, model_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.exists(out_dir):
        old = f"{out_dir}.old-{os.getpid()}"
        os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out_dir)
    return out_dir


def _write_metadata(folder, parts, graphs, source, final_dir):
    """Writes the prompt embeddings, config.json and README.md."""
    np.save(
        os.path.join(folder, "emotion_prompt_embeddings.npy"),
        parts["emotion_embeddings"],
    )
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backbone": parts["backbone"],
        "sample_rate": parts["sample_rate"],
        "min_samples": parts["min_samples"],
        "window_seconds": parts["window_seconds"],
        "overlap_seconds": parts["overlap_seconds"],
        # A CNN that normalises over time is not padding invariant: PyTorch
        # runs it on each utterance's own samples, the runtime runs padded
        # items one by one to do the same
        "per_utterance_cnn": parts["per_utterance_cnn"],
        "embedding_dim": int(parts["emotion_embeddings"].shape[1]),
        # the words a person reads; the training corpus' codes beside
        "labels": list(parts["labels"]),
        "label_codes": list(parts["label_codes"]),
        "emotion_prompts": {
            label: list(texts)
            for label, texts in parts["emotion_prompts"].items()
        },
        "logit_scale": parts["logit_scale"],
        "graphs": graphs,
        "projection_graph": PROJECTION_GRAPH,
        # Read by runtimes of format 1 before fp32 became the one default
        "default_precision": "fp32",
    }
    gender_line = gender_files = ""
    if "gender_labels" in parts:
        np.save(
            os.path.join(folder, "gender_prompt_embeddings.npy"),
            parts["gender_embeddings"],
        )
        config["gender_labels"] = list(parts["gender_labels"])
        config["gender_prompts"] = {
            label: list(texts)
            for label, texts in parts["gender_prompts"].items()
        }
        config["gender_logit_scale"] = parts["gender_logit_scale"]
        gender_line = f"; gender: {', '.join(parts['gender_labels'])}"
        gender_files = " and `gender_prompt_embeddings.npy`"
    avd_line = ""
    if "avd_scale" in parts:
        config["dimensions"] = list(DIMENSIONS)
        config["avd_scale"] = parts["avd_scale"]
        low, high = parts["avd_scale"]
        avd_line = (
            "\n\nAlso arousal, valence and dominance on the training "
            f"corpus' scale, {low:g} to {high:g}\n"
            '(`model.predict_file("speech.wav")["arousal"]`; the graphs\' '
            "`avd` output is on [0, 1])."
        )
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    int8_line = (
        f"\n- `{GRAPH_INT8}`: the same with int8 matrix products, used\n"
        "  when asked for: `EmotionClassifierONNX(folder, "
        "precision='int8')`\n"
        "  (fp32 is the default);"
        if "int8" in graphs
        else ""
    )
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(
            README.format(
                source=os.path.abspath(source),
                backbone=parts["backbone"],
                labels=", ".join(parts["labels"]),
                gender_line=gender_line,
                avd_line=avd_line,
                folder=os.path.basename(final_dir),
                fp32=GRAPH_FP32,
                int8_line=int8_line,
                projection=PROJECTION_GRAPH,
                sample_rate=parts["sample_rate"],
                window=parts["window_seconds"],
                overlap=parts["overlap_seconds"],
                gender_files=gender_files,
            )
        )


def read_manifest(path, data_root=None, label_key="emo"):
    """Reads a labelled SpeechBrain JSON manifest.

    Arguments
    ---------
    path : str
        ``{id: {"wav": path, "emo": label, ...}}``; ``{data_root}`` in the
        paths is replaced by ``data_root``.
    data_root : str, optional
        The corpus folder.
    label_key : str
        The key of the label.

    Returns
    -------
    list of tuple
        ``(id, wav path, label)`` in manifest order.

    Example
    -------
    >>> path = str(getfixture("tmp_path") / "m.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"u1": {"wav": "{data_root}/u1.wav", "emo": "sad"}}, f)
    >>> read_manifest(path, "/corpus")
    [('u1', '/corpus/u1.wav', 'sad')]
    """
    with open(path) as f:
        entries = json.load(f)
    out = []
    for uid, entry in entries.items():
        if isinstance(entry["wav"], dict):
            raise ValueError(
                f"{path}: {uid} is a stretch of a recording "
                f"({entry['wav']}); the evaluation classifies whole files"
            )
        wav = str(entry["wav"])
        if data_root is not None:
            wav = wav.replace("{data_root}", data_root)
        out.append((uid, wav, entry[label_key]))
    return out


def evaluate_onnx(folder, manifest, data_root=None, label_key="emo"):
    """WAR and UAR of every graph of an ONNX folder (fp32 and, when
    converted with ``--int8``, int8) on a labelled manifest, and how often
    int8 agrees with fp32 on the label.

    Arguments
    ---------
    folder : str
        An ONNX folder (``python -m speechbrain_gemo.onnx``).
    manifest : str
        A SpeechBrain JSON manifest with ``wav`` and ``label_key``.
    data_root : str, optional
        Replaces ``{data_root}`` in the manifest's paths.
    label_key : str
        The key of the emotion label.

    Returns
    -------
    dict
        Per precision ``{"WAR", "UAR", "num_utterances"}``, and
        ``int8_agreement`` (share of files where int8 and fp32 give the
        same label) when there is an int8 graph.
    """
    from speechbrain_gemo.metrics import recall_metrics
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    items = read_manifest(manifest, data_root, label_key)
    with open(os.path.join(folder, "config.json")) as f:
        precisions = sorted(json.load(f)["graphs"])
    result, predictions = {}, {}
    for precision in precisions:
        model = EmotionClassifierONNX(folder, precision=precision)
        predictions[precision] = [
            model.classify_file(wav)[3][0] for _, wav, _ in items
        ]
        # the manifest holds the corpus' codes, the model reads words
        word = dict(zip(model.label_codes, model.labels))
        metrics = recall_metrics(
            predictions[precision],
            [word.get(label, label) for _, _, label in items],
            list(model.labels),
        )
        result[precision] = {
            "WAR": metrics["WAR"],
            "UAR": metrics["UAR"],
            "num_utterances": len(items),
        }
    if "int8" in predictions:
        same = [
            a == b for a, b in zip(predictions["fp32"], predictions["int8"])
        ]
        result["int8_agreement"] = sum(same) / max(len(same), 1)
    return result


def main(argv=None):
    """Command line: ``python -m speechbrain_gemo.onnx --model EXPORT
    --out DIR [--int8]``.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.onnx",
        description="Converts a GEmo-CLAP export folder to an ONNX folder "
        "for torch-free inference (speechbrain_gemo.onnx_runtime).",
    )
    parser.add_argument(
        "--model", required=True, help="export folder (speechbrain_gemo.export)"
    )
    parser.add_argument("--out", required=True, help="ONNX folder to write")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also write a dynamically int8-quantised graph, used when asked "
        "for (precision='int8', infer --precision int8); fp32 stays the "
        "default",
    )
    args = parser.parse_args(argv)
    if not os.path.isdir(args.model):
        parser.error(f"--model {args.model}: no such folder")
    out = export_onnx(args.model, args.out, int8=args.int8)
    print(f"wrote {out}: fp32 graph {GRAPH_FP32} (the default precision)")
    if args.int8:
        print(
            f"and int8 graph {GRAPH_INT8}, used when asked for "
            "(EmotionClassifierONNX(folder, precision='int8'), "
            "python -m speechbrain_gemo.infer --backend onnx --precision int8)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
