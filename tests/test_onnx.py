"""ONNX export and the torch-free runtime: parity with ``GEmoCLAP`` for
every backbone family on padded batches, long-file windowing, int8, the
folder layout, audio reading and the absence of heavy imports."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("soxr")

from speechbrain_gemo import audio_windows, inference  # noqa: E402
from speechbrain_gemo.inference import GEmoCLAP  # noqa: E402
from speechbrain_gemo.onnx import evaluate_onnx, export_onnx, main  # noqa
from speechbrain_gemo.onnx_runtime import (  # noqa: E402
    AudioInputError,
    EmotionClassifierONNX,
    window_bounds,
)
from speechbrain_gemo.testing import SSL_KINDS, save_tiny_ssl_model  # noqa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_export(folder, ssl_dir, text_dir, gender, layer_weighting=False):
    """Exports a random GEmo-CLAP model over the given tiny backbones."""
    from speechbrain.dataio.encoder import CategoricalEncoder
    from speechbrain.integrations.huggingface import TextEncoder, Wav2Vec2

    from speechbrain_gemo.export import export_for_inference
    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts, gender_prompts

    torch.manual_seed(1)
    model = GEmoCLAPModel(
        SSLAudioEncoder(
            Wav2Vec2(
                ssl_dir, save_path=ssl_dir, output_all_hiddens=layer_weighting
            ),
            16,
            layer_weighting=layer_weighting,
            projection_hidden_size=24,
        ),
        TextPromptEncoder(
            TextEncoder(text_dir, save_path=text_dir, freeze=True), 16
        ),
        emotion_prompts(),
        gender_prompts() if gender else None,
    )
    if layer_weighting:
        with torch.no_grad():
            model.audio_encoder.layer_weights.normal_()
    labels = CategoricalEncoder()
    labels.update_from_iterable(model.emotion_labels)
    hparams = {"objective": "ml" if gender else "sl", "sample_rate": 16000}
    return export_for_inference(model, labels, hparams, folder)


def padded_batch(seed=0):
    """Three utterances of different lengths in one padded batch; the
    padding is noise, so that any unmasked use of it shows."""
    generator = torch.Generator().manual_seed(seed)
    wavs = torch.randn(3, 12000, generator=generator)
    return wavs, torch.tensor([1.0, 0.55, 0.8])


def assert_parity(export_dir, onnx_dir, wavs, lens, **kwargs):
    """ONNX fp32 and PyTorch classify_batch agree within 1e-4."""
    ref = GEmoCLAP.from_hparams(source=export_dir)
    onnx_model = EmotionClassifierONNX(onnx_dir, precision="fp32")
    ref_out = ref.predict_batch(wavs, lens, **kwargs)
    np_lens = None if lens is None else lens.numpy()
    out = onnx_model.predict_batch(wavs.numpy(), np_lens, **kwargs)
    np.testing.assert_allclose(out["probs"], ref_out["probs"], atol=1e-4)
    np.testing.assert_allclose(
        out["embeddings"], ref_out["embeddings"], atol=1e-4
    )
    assert out["text_lab"] == ref_out["text_lab"]
    assert onnx_model.labels == ref.labels
    assert onnx_model.gender_labels == ref.gender_labels
    if ref.has_gender:
        np.testing.assert_allclose(
            out["gender_probs"], ref_out["gender_probs"], atol=1e-4
        )
    return onnx_model


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory, tiny_wavlm_dir, tiny_roberta_dir):
    """An ML-GEmo-CLAP WavLM export and its ONNX folder with int8."""
    root = tmp_path_factory.mktemp("onnx_wavlm")
    export_dir = build_export(
        str(root / "export"), tiny_wavlm_dir, tiny_roberta_dir, gender=True
    )
    onnx_dir = export_onnx(export_dir, str(root / "onnx"), int8=True)
    return export_dir, onnx_dir


@pytest.mark.parametrize("kind", SSL_KINDS)
def test_parity_every_backbone_on_padded_batches(
    kind, tiny_ssl_dirs, tiny_roberta_dir, tmp_path
):
    export_dir = build_export(
        str(tmp_path / "export"),
        tiny_ssl_dirs[kind],
        tiny_roberta_dir,
        gender=kind == "hubert",
        layer_weighting=kind in ("wav2vec2", "data2vec"),
    )
    onnx_dir = export_onnx(export_dir, str(tmp_path / "onnx"))
    import onnx

    onnx.checker.check_model(os.path.join(onnx_dir, "audio_encoder.onnx"))
    # Traced at batch 2 and 16000 samples; run at other shapes
    wavs, lens = padded_batch()
    assert_parity(export_dir, onnx_dir, wavs, lens)
    assert_parity(export_dir, onnx_dir, wavs[1:2, :6600], None)


def test_parity_group_norm_cnn(tiny_roberta_dir, tmp_path):
    # wav2vec2-base / HuBERT-base CNNs normalise over time: not padding
    # invariant, but ONNX must compute exactly what PyTorch does
    import transformers

    ssl_dir = save_tiny_ssl_model("wav2vec2", str(tmp_path / "ssl"))
    config = transformers.AutoConfig.from_pretrained(ssl_dir)
    config.feat_extract_norm = "group"
    config.do_stable_layer_norm = False
    torch.manual_seed(0)
    transformers.AutoModel.from_config(config).save_pretrained(ssl_dir)
    export_dir = build_export(
        str(tmp_path / "export"), ssl_dir, tiny_roberta_dir, gender=False
    )
    onnx_dir = export_onnx(export_dir, str(tmp_path / "onnx"))
    assert_parity(export_dir, onnx_dir, *padded_batch(1))


def test_folder_layout_and_metadata(tiny_export):
    export_dir, onnx_dir = tiny_export
    assert sorted(os.listdir(onnx_dir)) == [
        "README.md",
        "audio_encoder.int8.onnx",
        "audio_encoder.onnx",
        "config.json",
        "emotion_prompt_embeddings.npy",
        "gender_prompt_embeddings.npy",
        "projection.onnx",
    ]
    with open(os.path.join(onnx_dir, "config.json")) as f:
        config = json.load(f)
    ref = GEmoCLAP.from_hparams(source=export_dir)
    assert config["labels"] == list(ref.labels)
    assert config["gender_labels"] == list(ref.gender_labels)
    assert config["default_precision"] == "fp32"
    assert config["logit_scale"] == pytest.approx(ref.mods.model.scale())
    stored = torch.load(
        os.path.join(export_dir, "prompt_embeddings.ckpt"), weights_only=True
    )
    np.testing.assert_allclose(
        np.load(os.path.join(onnx_dir, "emotion_prompt_embeddings.npy")),
        stored["emotion"].numpy(),
        atol=1e-7,
    )
    import onnx

    onnx.checker.check_model(os.path.join(onnx_dir, "audio_encoder.int8.onnx"))
    quantized = onnx.load(os.path.join(onnx_dir, "audio_encoder.int8.onnx"))
    ops = {node.op_type for node in quantized.graph.node}
    # MatMuls quantised, convolutions left in fp32
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    assert "Conv" in ops and "ConvInteger" not in ops


def test_int8_agrees_with_fp32(tiny_export):
    _, onnx_dir = tiny_export
    fp32 = EmotionClassifierONNX(onnx_dir, precision="fp32")
    int8 = EmotionClassifierONNX(onnx_dir, precision="int8")
    wavs = np.random.default_rng(0).standard_normal((16, 8000))
    emb32 = fp32.encode_batch(wavs.astype(np.float32))
    emb8 = int8.encode_batch(wavs.astype(np.float32))
    cosine = (emb32 * emb8).sum(axis=-1)
    assert cosine.min() > 0.99, cosine


def test_int8_item_does_not_depend_on_its_batch(tiny_export):
    """Dynamic int8 quantisation scales by the batch's range: each item runs
    on its own, so a loud neighbour (another call's window on the server,
    another file in a run) never changes an item's result. Checked against
    the batched run of the same graph, which differs (measured 1.1e-3)."""
    _, onnx_dir = tiny_export
    int8 = EmotionClassifierONNX(onnx_dir, precision="int8")
    rng = np.random.default_rng(0)
    wavs = (0.1 * rng.standard_normal((3, 16000))).astype(np.float32)
    wavs[2] *= 20  # a loud neighbour
    lens = np.array([1.0, 0.5, 1.0], dtype=np.float32)
    alone = int8.predict_batch(wavs[:1], np.ones(1, np.float32))["probs"]
    short = int8.predict_batch(wavs[1:2, :8000], np.ones(1, np.float32))
    batch = int8.predict_batch(wavs, lens)["probs"]
    np.testing.assert_allclose(batch[0], alone[0], atol=1e-6)
    np.testing.assert_allclose(batch[1], short["probs"][0], atol=1e-6)


def test_fp32_is_the_one_default_precision_and_runs_say_so(
    tiny_export, tmp_path, capsys, caplog
):
    """A folder converted with ``--int8`` is classified with its fp32 graph
    unless int8 is asked for; the conversion and the runtime say which
    graph is which and which one is used."""
    import logging
    import shutil

    export_dir, onnx_dir = tiny_export
    out = str(tmp_path / "onnx")
    assert main(["--model", export_dir, "--out", out, "--int8"]) == 0
    printed = capsys.readouterr().out
    assert "fp32 graph audio_encoder.onnx (the default precision)" in printed
    assert "int8 graph audio_encoder.int8.onnx, used when asked for" in printed
    with open(os.path.join(out, "README.md")) as f:
        assert "(fp32 is the default)" in f.read()

    wavs = np.random.default_rng(2).standard_normal((4, 8000))
    wavs = wavs.astype(np.float32)
    with caplog.at_level(logging.INFO, "speechbrain_gemo.onnx_runtime"):
        default = EmotionClassifierONNX(out)
    assert default.precision == "fp32"
    assert f"{out}: fp32 graph audio_encoder.onnx" in caplog.text
    # the choice itself: the fp32 graph's embeddings, not the int8 one's
    fp32 = EmotionClassifierONNX(out, precision="fp32").encode_batch(wavs)
    int8 = EmotionClassifierONNX(out, precision="int8").encode_batch(wavs)
    assert np.array_equal(default.encode_batch(wavs), fp32)
    assert not np.array_equal(fp32, int8)

    # a folder converted before, whose config.json named int8 its default
    old = str(tmp_path / "old")
    shutil.copytree(out, old)
    with open(os.path.join(old, "config.json")) as f:
        config = json.load(f)
    config["default_precision"] = "int8"
    with open(os.path.join(old, "config.json"), "w") as f:
        json.dump(config, f)
    caplog.clear()
    with caplog.at_level(logging.INFO, "speechbrain_gemo.onnx_runtime"):
        assert EmotionClassifierONNX(old).precision == "fp32"
    assert "names int8 as the default precision" in caplog.text
    assert "using fp32" in caplog.text


def test_long_files_are_windowed_like_pytorch(tiny_export):
    export_dir, onnx_dir = tiny_export
    wavs, lens = padded_batch(2)
    # Windows of 0.3 s overlapping by 0.1 s: two items are windowed, one is
    # not, as GEmoCLAP does for files longer than window_seconds
    onnx_model = assert_parity(
        export_dir,
        onnx_dir,
        wavs,
        lens,
        window_seconds=0.3,
        overlap_seconds=0.1,
    )
    windowed = onnx_model.encode_batch(
        wavs.numpy(), lens.numpy(), window_seconds=0.3, overlap_seconds=0.1
    )
    whole = onnx_model.encode_batch(wavs.numpy(), lens.numpy())
    assert np.abs(windowed - whole).max() > 1e-3  # windowing did happen


def test_both_backends_share_one_window_rule_and_error():
    # One definition: the ONNX runtime cannot drift from the PyTorch path
    assert window_bounds is inference.window_bounds
    assert window_bounds is audio_windows.window_bounds
    assert AudioInputError is inference.AudioInputError
    assert window_bounds(160000, 32000, 3200)[-1] == (128000, 160000)


@pytest.mark.parametrize(
    "lens, message",
    [
        ([1.0, 1.5], r"wav_lens\[1\] = 1.5: expected a relative length"),
        ([1.0, -0.5], r"wav_lens\[1\] = -0.5: expected a relative length"),
        ([1.0, float("nan")], r"wav_lens\[1\] = nan: expected a relative"),
        ([1.0], "wav_lens has 1 values for a batch of 2 waveforms"),
        ([1.0, 0.5, 0.5], "wav_lens has 3 values for a batch of 2"),
    ],
)
def test_bad_relative_lengths_are_refused_by_both_backends(
    tiny_export, lens, message
):
    """Lengths above 1 or too many used to index past the batch
    (IndexError), negative ones to classify the wrong samples silently:
    both backends refuse them with the one shared check."""
    export_dir, onnx_dir = tiny_export
    torch_model = GEmoCLAP.from_hparams(source=export_dir)
    onnx_model = EmotionClassifierONNX(onnx_dir, precision="fp32")
    wavs = np.random.default_rng(0).standard_normal((2, 8000))
    wavs = wavs.astype(np.float32)
    calls = [
        lambda: torch_model.classify_batch(torch.from_numpy(wavs), lens),
        lambda: torch_model.encode_batch(
            torch.from_numpy(wavs), torch.tensor(lens)
        ),
        lambda: onnx_model.classify_batch(wavs, np.array(lens)),
        lambda: onnx_model.encode_batch(wavs, lens),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=message) as err:
            call()
        assert not isinstance(err.value, AudioInputError)
    assert inference.check_relative_lengths is (
        audio_windows.check_relative_lengths
    )
    # in range, they still classify (0 is an empty item, named as such)
    good = np.array([1.0, 0.5], dtype=np.float32)
    assert onnx_model.classify_batch(wavs, good)[0].shape == (2, 4)
    assert torch_model.classify_batch(torch.from_numpy(wavs), good)[0].shape[0]
    with pytest.raises(AudioInputError, match="batch item 1: the audio is"):
        onnx_model.classify_batch(wavs, np.array([1.0, 0.0]))


def test_classify_file_any_rate_and_channels(tiny_export, tmp_path):
    export_dir, onnx_dir = tiny_export
    rng = np.random.default_rng(0)
    mono = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    path16 = str(tmp_path / "a16.wav")
    soundfile.write(path16, mono, 16000, subtype="FLOAT")
    ref = GEmoCLAP.from_hparams(source=export_dir)
    model = EmotionClassifierONNX(onnx_dir, precision="fp32")
    probs, score, index, label = model.classify_file(path16)
    ref_probs = ref.classify_file(path16)[0]
    np.testing.assert_allclose(probs, ref_probs, atol=1e-4)
    assert probs.shape == (1, 4) and index.shape == (1,)
    assert score[0] == probs[0, index[0]] and label == [model.labels[index[0]]]
    # 44.1 kHz stereo of the same signal: soxr resampling, channel average
    import soxr

    stereo = soxr.resample(mono, 16000, 44100)
    path44 = str(tmp_path / "a44.wav")
    soundfile.write(
        path44, np.stack([stereo, stereo], axis=1), 44100, subtype="FLOAT"
    )
    signal = model.load_audio(path44)
    assert abs(signal.shape[0] - 16000) <= 1
    probs44 = model.classify_file(path44)[0]
    assert np.abs(probs44 - probs).max() < 0.05


def test_bad_audio_gets_clear_errors(tiny_export, tmp_path):
    _, onnx_dir = tiny_export
    model = EmotionClassifierONNX(onnx_dir, precision="fp32")
    short = str(tmp_path / "short.wav")
    soundfile.write(short, np.zeros(200, dtype=np.float32), 16000)
    with pytest.raises(AudioInputError, match="short.wav.*receptive field"):
        model.classify_file(short)
    broken = str(tmp_path / "broken.wav")
    with open(broken, "wb") as f:
        f.write(b"RIFF not audio")
    with pytest.raises(AudioInputError, match="broken.wav: cannot read"):
        model.classify_file(broken)
    with pytest.raises(AudioInputError, match="no such file"):
        model.classify_file(str(tmp_path / "missing.wav"))
    wavs = np.zeros((2, 4000), dtype=np.float32)
    wavs[1, 5] = np.nan
    with pytest.raises(AudioInputError, match="batch item 1.*NaN"):
        model.classify_batch(wavs)
    stored = GEmoCLAP.from_hparams(source=tiny_export[0]).stored_prompts
    prompts = stored["emotion"]
    assert model.classify_batch(wavs[:1], prompts=prompts)[0].shape == (1, 4)
    with pytest.raises(ValueError, match="stored prompts only"):
        model.classify_batch(wavs[:1], prompts={"calm": "A calm voice."})
    with pytest.raises(ValueError, match="no 'int8' graph"):
        EmotionClassifierONNX(
            export_onnx(
                tiny_export[0], str(tmp_path / "fp32_only"), int8=False
            ),
            precision="int8",
        )


def test_evaluate_onnx(tiny_export, tmp_path):
    export_dir, onnx_dir = tiny_export
    ref = GEmoCLAP.from_hparams(source=export_dir)
    rng = np.random.default_rng(3)
    manifest = {}
    for i in range(6):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(
            str(path), rng.standard_normal(6000).astype("float32"), 16000
        )
        manifest[f"u{i}"] = {"wav": f"{{data_root}}/u{i}.wav", "emo": "ang"}
    with open(tmp_path / "test.json", "w") as f:
        json.dump(manifest, f)
    result = evaluate_onnx(onnx_dir, str(tmp_path / "test.json"), str(tmp_path))
    # Expected: the PyTorch predictions scored by hand
    hits = [
        # the manifest's code read as the class it names
        ref.classify_file(str(tmp_path / f"u{i}.wav"))[3][0] == "angry"
        for i in range(6)
    ]
    assert result["fp32"]["WAR"] == pytest.approx(sum(hits) / 6)
    assert set(result) == {"fp32", "int8", "int8_agreement"}
    assert 0.0 <= result["int8_agreement"] <= 1.0


def test_command_line_replaces_the_folder(tiny_export, tmp_path):
    export_dir, _ = tiny_export
    out = tmp_path / "cli"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert main(["--model", export_dir, "--out", str(out)]) == 0
    assert not (out / "stale.txt").exists()
    assert (out / "audio_encoder.onnx").is_file()
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_runtime_imports_no_heavy_library():
    code = (
        "import sys, speechbrain_gemo, speechbrain_gemo.onnx_runtime\n"
        "heavy = [m for m in ('torch', 'speechbrain', 'transformers', "
        "'torchaudio') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'onnxruntime' not in sys.modules  # imported on first use\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_runtime_classifies_with_torch_blocked(tiny_export, tmp_path):
    # torch, SpeechBrain and transformers made unimportable in a fresh
    # interpreter: classification must still work (a venv holding only
    # numpy, soundfile, soxr and onnxruntime is checked by hand, see the
    # report of issue 16, as it takes about a minute to build)
    _, onnx_dir = tiny_export
    path = str(tmp_path / "a.wav")
    audio = np.random.default_rng(1).standard_normal(24000)
    soundfile.write(path, (0.1 * audio).astype(np.float32), 22050)
    code = (
        "import sys\n"
        "for name in ('torch', 'torchaudio', 'speechbrain', 'transformers'):\n"
        "    sys.modules[name] = None\n"
        "from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX\n"
        f"model = EmotionClassifierONNX({onnx_dir!r})\n"
        f"probs, score, index, label = model.classify_file({path!r})\n"
        "print(probs.shape, label[0] in model.labels)\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.stdout.split() == ["(1,", "4)", "True"]


def test_int8_conversion_drops_only_the_preprocessing_advice(
    tiny_export, tmp_path, caplog
):
    import logging

    from onnxruntime.quantization import quantize_dynamic

    from speechbrain_gemo.onnx import quantize_int8

    fp32 = os.path.join(tiny_export[1], "audio_encoder.onnx")
    filters = list(logging.getLogger().filters)
    with caplog.at_level(logging.WARNING):
        # onnxruntime itself gives the advice (so this test can fail)
        quantize_dynamic(fp32, str(tmp_path / "direct.onnx"))
        assert any("pre-processing" in r.getMessage() for r in caplog.records)
        caplog.clear()
        quantize_int8(fp32, str(tmp_path / "int8.onnx"))
        logging.getLogger().warning("other warnings still show")
    messages = [r.getMessage() for r in caplog.records]
    assert "other warnings still show" in messages
    assert not any("pre-processing" in m for m in messages)
    assert logging.getLogger().filters == filters
