"""End-to-end runs of recipes/IEMOCAP/gemo_clap on tiny local models."""

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from speechbrain_gemo.metrics import recall_metrics
from speechbrain_gemo.testing import write_tiny_iemocap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "IEMOCAP", "gemo_clap")
VARIANTS = {
    "emo_wavlm.yaml": "wavlm",
    "ml_wavlm.yaml": "wavlm",
    "sl_wavlm.yaml": "wavlm",
    "sl_hubert.yaml": "hubert",
    "sl_wav2vec2.yaml": "wav2vec2",
    "sl_data2vec.yaml": "data2vec",
}

pytestmark = pytest.mark.xdist_group("recipe")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("iemocap"))
    write_tiny_iemocap(folder, utterances_per_speaker=8)
    return folder


def run_train(args, corpus, ssl_dir, text_dir, output, launcher=None):
    command = (launcher or [sys.executable]) + [
        "train.py",
        *args,
        f"--data_folder={corpus}",
        f"--output_folder={output}",
        f"--audio_source={ssl_dir}",
        f"--text_source={text_dir}",
        "--expected_utterances=null",
        "--embedding_dim=16",
        "--batch_size=8",
        "--num_workers=0",
        "--device=cpu",
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        command, cwd=RECIPE, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def read_predictions(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_train_every_variant(
    variant, corpus, tiny_ssl_dirs, tiny_roberta_dir, tmp_path
):
    output = str(tmp_path / "out")
    run_train(
        [f"hparams/{variant}", "--number_of_epochs=2"],
        corpus,
        tiny_ssl_dirs[VARIANTS[variant]],
        tiny_roberta_dir,
        output,
    )
    with open(os.path.join(output, "test_metrics.json")) as f:
        metrics = json.load(f)
    assert set(metrics) == {
        "WAR",
        "UAR",
        "per_class_recall",
        "confusion_matrix",
        "labels",
        "num_utterances",
    }
    assert metrics["labels"] == ["neu", "hap", "ang", "sad"]
    # session 1 holds 2 speakers x (2 neu + 3 hap/exc + 1 ang + 1 sad)
    assert metrics["num_utterances"] == 14

    # the metrics agree with an independent count over the saved predictions
    rows = read_predictions(os.path.join(output, "test_predictions.csv"))
    assert len(rows) == 14
    assert all(r["ID"].startswith("Ses01") for r in rows)
    correct = sum(r["true"] == r["predicted"] for r in rows)
    assert metrics["WAR"] == pytest.approx(correct / len(rows))
    recalls = []
    for label in metrics["labels"]:
        mine = [r for r in rows if r["true"] == label]
        hits = sum(r["predicted"] == label for r in mine)
        recalls.append(hits / len(mine))
        assert metrics["per_class_recall"][label] == pytest.approx(recalls[-1])
    assert metrics["UAR"] == pytest.approx(sum(recalls) / len(recalls))
    for r in rows:
        probs = [float(r[label]) for label in metrics["labels"]]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert r["predicted"] == metrics["labels"][probs.index(max(probs))]

    export = os.path.join(output, "export")
    for name in (
        "hyperparams.yaml",
        "model.ckpt",
        "prompt_embeddings.ckpt",
        "label_encoder.txt",
        "ssl_model/config.json",
        "ssl_model/preprocessor_config.json",
        "text_model/config.json",
        "text_model/tokenizer_config.json",
    ):
        assert os.path.isfile(os.path.join(export, name)), name
    prompts = torch.load(
        os.path.join(export, "prompt_embeddings.ckpt"), weights_only=True
    )
    assert prompts["emotion"].shape == (4, 16)
    assert ("gender" in prompts) == (variant == "ml_wavlm.yaml")
    with open(os.path.join(output, "train_log.txt")) as f:
        assert f.read().count("valid UAR") == 2
    # fine-tuned towers: each has its own optimiser (all get clipped)
    save = os.path.join(output, "save")
    (ckpt,) = [d for d in os.listdir(save) if d.startswith("CKPT")]
    for name in ("model", "text", "ssl"):
        assert os.path.isfile(
            os.path.join(save, ckpt, f"{name}_optimizer.ckpt")
        )


@pytest.mark.slow
def test_unknown_override_is_an_error(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    with pytest.raises(AssertionError, match="Unknown hyperparameter"):
        run_train(
            [
                "hparams/sl_wavlm.yaml",
                "--number_of_epochs=1",
                "--learning_rat=0.1",
            ],
            corpus,
            tiny_wavlm_dir,
            tiny_roberta_dir,
            str(tmp_path / "out"),
        )


def test_issue_keys_are_overridable(tiny_wavlm_dir, tiny_roberta_dir, tmp_path):
    from speechbrain_gemo.recipe_hparams import load_recipe_hparams

    overrides = {
        "data_folder": "/data/IEMOCAP",
        "output_folder": str(tmp_path / "o"),
        "test_session": 3,
        "audio_source": tiny_wavlm_dir,
        "text_source": tiny_roberta_dir,
        "number_of_epochs": 7,
        "batch_size": 5,
        "seed": 11,
        "alpha_e": 0.9,
        "alpha_g": 0.1,
        "target_norm": "softmax",
        "skip_prep": True,
        "expected_utterances": None,
    }
    hparams = load_recipe_hparams(
        os.path.join(RECIPE, "hparams", "ml_wavlm.yaml"), overrides
    )
    for key, value in overrides.items():
        assert hparams[key] == value, key
    assert hparams["epoch_counter"].limit == 7
    assert hparams["compute_cost"].alpha_e == 0.9
    assert hparams["compute_cost"].target_norm == "softmax"
    assert hparams["train_dataloader_options"]["batch_size"] == 5
    assert hparams["model"].gender_labels == ("F", "M")


@pytest.mark.slow
def test_cross_validate_runs_folds_and_aggregates(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    output = str(tmp_path / "cv")
    command = [
        sys.executable,
        "cross_validate.py",
        "sl_wavlm.yaml",
        "--folds=1,2",
        f"--data_folder={corpus}",
        f"--output_folder={output}",
        f"--audio_source={tiny_wavlm_dir}",
        f"--text_source={tiny_roberta_dir}",
        "--expected_utterances=null",
        "--embedding_dim=16",
        "--number_of_epochs=1",
        "--num_workers=0",
        "--device=cpu",
    ]
    command[2] = os.path.join("hparams", command[2])
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    first = subprocess.run(
        command, cwd=RECIPE, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr[-3000:]

    folds = {}
    for session in (1, 2):
        with open(f"{output}/session{session}/test_metrics.json") as f:
            folds[session] = json.load(f)
    with open(os.path.join(output, "cv_summary.json")) as f:
        summary = json.load(f)
    assert [f["test_session"] for f in summary["folds"]] == [1, 2]
    wars = [folds[1]["WAR"], folds[2]["WAR"]]
    assert summary["WAR_mean"] == pytest.approx(sum(wars) / 2)
    assert summary["WAR_std"] == pytest.approx(abs(wars[0] - wars[1]) / 2**0.5)
    uars = [folds[1]["UAR"], folds[2]["UAR"]]
    assert summary["UAR_mean"] == pytest.approx(sum(uars) / 2)
    # each fold tests on its own session only
    rows = read_predictions(f"{output}/session2/test_predictions.csv")
    assert {r["ID"][:5] for r in rows} == {"Ses02"}
    # pooled = metrics over the two test sets' predictions together
    rows += read_predictions(f"{output}/session1/test_predictions.csv")
    pooled = recall_metrics(
        [r["predicted"] for r in rows],
        [r["true"] for r in rows],
        ["neu", "hap", "ang", "sad"],
    )
    assert summary["pooled"]["UAR"] == pytest.approx(pooled["UAR"])
    with open(os.path.join(output, "cv_summary.md")) as f:
        assert "| mean ± std |" in f.read()

    second = subprocess.run(
        command, cwd=RECIPE, env=env, capture_output=True, text=True
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("finished already") == 2


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    output = str(tmp_path / "ddp")
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29517",
    ]
    run_train(
        [
            "hparams/sl_wavlm.yaml",
            "--number_of_epochs=1",
            "--distributed_backend=gloo",
        ],
        corpus,
        tiny_wavlm_dir,
        tiny_roberta_dir,
        output,
        launcher=launcher,
    )
    with open(os.path.join(output, "test_metrics.json")) as f:
        metrics = json.load(f)
    # only training is sharded: the main process tests every utterance once
    assert metrics["num_utterances"] == 14
    assert os.path.isfile(os.path.join(output, "export", "model.ckpt"))


def test_speechbrain_recipe_test_row(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """The row of tests/recipes/IEMOCAP.csv runs as SpeechBrain's recipe
    tests would run it (from SpeechBrain's root, with its tests/samples),
    hub models replaced by local ones since this machine is offline."""
    import numpy as np
    import soundfile

    with open(os.path.join(ROOT, "tests", "recipes", "IEMOCAP.csv")) as f:
        (row,) = list(csv.DictReader(f))
    # SpeechBrain's checkout: its sample wavs, and this recipe copied in
    sb_root = tmp_path / "speechbrain"
    samples = sb_root / "tests" / "samples" / "ASR"
    samples.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for spk in (1, 2):
        for snt in range(1, 5):
            wav = 0.1 * rng.standard_normal(16000).astype("float32")
            soundfile.write(samples / f"spk{spk}_snt{snt}.wav", wav, 16000)
    os.symlink(os.path.join(ROOT, "recipes"), sb_root / "recipes")

    flags = row["test_debug_flags"].split()
    flags = [
        f"--audio_source={tiny_wavlm_dir}"
        if f.startswith("--audio_source")
        else f"--text_source={tiny_roberta_dir}"
        if f.startswith("--text_source")
        else f
        for f in flags
    ]
    output = tmp_path / "out"
    command = [
        sys.executable,
        row["Script_file"],
        row["Hparam_file"],
        f"--output_folder={output}",
        "--device=cpu",
        *flags,
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        command, cwd=sb_root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checks = row["test_debug_checks"]
    files = checks[checks.index("[") + 1 : checks.index("]")].split(",")
    for name in files:
        assert (output / name).is_file(), name
    with open(output / "test_metrics.json") as f:
        assert json.load(f)["num_utterances"] == 8


@pytest.mark.slow
def test_frozen_towers_dynamic_batches_accumulation_bf16(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    output = str(tmp_path / "out")
    run_train(
        [
            "hparams/ml_wavlm.yaml",
            "--number_of_epochs=1",
            "--freeze_ssl=True",
            "--freeze_text=True",
            "--dynamic_batching=True",
            "--max_batch_length=4.0",
            "--num_buckets=2",
            "--grad_accumulation_factor=2",
            "--precision=bf16",
        ],
        corpus,
        tiny_wavlm_dir,
        tiny_roberta_dir,
        output,
    )
    with open(os.path.join(output, "test_metrics.json")) as f:
        assert json.load(f)["num_utterances"] == 14
    with open(os.path.join(output, "log.txt")) as f:
        log = f.read()
    assert "bf16" in log
    assert "DynamicBatchSampler: Generating dynamic batches" in log
    # frozen towers: only the heads and temperatures are trained, and the
    # SSL model has no optimiser of its own
    ckpts = [d for d in os.listdir(os.path.join(output, "save")) if "CKPT" in d]
    (ckpt,) = ckpts
    files = os.listdir(os.path.join(output, "save", ckpt))
    assert "model_optimizer.ckpt" in files
    assert "ssl_optimizer.ckpt" not in files
    assert "text_optimizer.ckpt" not in files
