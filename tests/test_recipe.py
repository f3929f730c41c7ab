"""End-to-end runs of recipes/IEMOCAP/gemo_clap on tiny local models: every
row of tests/recipes/IEMOCAP.csv as SpeechBrain's recipe tests run it, and
the recipe's other modes (cross-validation, DDP, frozen towers, dynamic
batches)."""

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_gemo.testing import write_tiny_iemocap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "IEMOCAP", "gemo_clap")
RECIPE_LISTS = os.path.join(ROOT, "tests", "recipes")
CSV_ROWS = []
for _name in sorted(os.listdir(RECIPE_LISTS)):
    with open(os.path.join(RECIPE_LISTS, _name), newline="") as _f:
        CSV_ROWS += list(csv.DictReader(_f))
# Each recipe's classes in class order, as CORPORA.md defines them (the
# CSV recipe: its sample CSV's labels, sorted)
EXPECTED_CLASSES = {
    "IEMOCAP": ["neu", "hap", "ang", "sad"],
    "CREMA-D": ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"],
    "RAVDESS": ["01", "02", "03", "04", "05", "06", "07", "08"],
    "EmoDB": ["W", "L", "E", "A", "F", "T", "N"],
    "MSP-Podcast": ["A", "S", "H", "U", "F", "D", "C", "N"],
    "CSV": ["angry", "happy", "neutral", "sad"],
}
# The flags SpeechBrain's recipe runner appends (tests/utils/recipe_tests.py)
RUNNER_FLAGS = ["--debug", "--debug_persistently"]

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


def row_id(row):
    """``Dataset/hparams file`` of a recipe list row."""
    return f"{row['Dataset']}/{os.path.basename(row['Hparam_file'])}"


def expected_test_ids(row, root):
    """The ids of the utterances a row's run tests: its test annotation's
    keys, or the CSV recipe's rows marked ``test``."""
    flags = dict(f[2:].split("=", 1) for f in row["test_debug_flags"].split())
    if "test_annotation" in flags:
        with open(os.path.join(root, flags["test_annotation"])) as f:
            return sorted(json.load(f))
    csv_file = os.path.join(root, flags["csv_file"])
    with open(csv_file, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    # a file outside the CSV's folder is named by its absolute path
    folder = os.path.dirname(csv_file)
    return sorted(
        os.path.normpath(os.path.join(folder, r["path"])) for r in rows
    )


def ssl_kind(audio_source):
    """The kind of tiny local model standing in for a hub SSL model."""
    for kind in ("wavlm", "hubert", "wav2vec2", "data2vec"):
        if kind in audio_source.lower():
            return kind
    raise ValueError(f"no tiny stand-in for {audio_source}")


@pytest.fixture(scope="module")
def speechbrain_checkout(tmp_path_factory):
    """A SpeechBrain checkout as its recipe tests see it: its sample wavs
    (tests/samples/ASR/spk{1,2}_snt{1..4}.wav) and this recipe copied in."""
    import numpy as np
    import soundfile

    root = tmp_path_factory.mktemp("speechbrain")
    samples = root / "tests" / "samples" / "ASR"
    samples.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for spk in (1, 2):
        for snt in range(1, 5):
            wav = 0.1 * rng.standard_normal(16000).astype("float32")
            soundfile.write(samples / f"spk{spk}_snt{snt}.wav", wav, 16000)
    os.symlink(os.path.join(ROOT, "recipes"), root / "recipes")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("row", CSV_ROWS, ids=[row_id(r) for r in CSV_ROWS])
def test_csv_row_runs_as_speechbrain_runs_it(
    row,
    speechbrain_checkout,
    tiny_ssl_dirs,
    tiny_roberta_dir,
    tmp_path,
    monkeypatch,
):
    """Each row of tests/recipes/*.csv runs from SpeechBrain's root
    with its flags and the runner's --debug flags (hub models replaced by
    tiny local ones: the tests are offline); its checks hold, and the
    outputs agree with each other."""
    flags = []
    for flag in row["test_debug_flags"].split():
        if flag.startswith("--audio_source="):
            kind = ssl_kind(flag.split("=", 1)[1])
            flag = f"--audio_source={tiny_ssl_dirs[kind]}"
        elif flag.startswith("--text_source="):
            flag = f"--text_source={tiny_roberta_dir}"
        flags.append(flag)
    output = tmp_path / "out"
    command = [
        sys.executable,
        row["Script_file"],
        row["Hparam_file"],
        *flags,
        f"--output_folder={output}",
        "--device=cpu",
        "--embedding_dim=16",
        *RUNNER_FLAGS,
    ]
    recipe = os.path.join(ROOT, os.path.dirname(row["Script_file"]))
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([recipe, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        command,
        cwd=speechbrain_checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checks = row["test_debug_checks"]
    files = checks[checks.index("[") + 1 : checks.index("]")].split(",")
    for name in files:
        assert (output / name).is_file(), name

    with open(output / "test_metrics.json") as f:
        metrics = json.load(f)
    classes = EXPECTED_CLASSES[row["Dataset"]]
    assert metrics["labels"] == classes
    # --debug: at most two test batches of 4, here every test utterance
    test_ids = expected_test_ids(row, speechbrain_checkout)
    assert metrics["num_utterances"] == len(test_ids)
    # the metrics agree with an independent count over the predictions
    rows = read_predictions(output / "test_predictions.csv")
    assert sorted(r["ID"] for r in rows) == test_ids
    correct = sum(r["true"] == r["predicted"] for r in rows)
    assert metrics["WAR"] == pytest.approx(correct / len(rows))
    recalls = []
    for label in metrics["labels"]:
        mine = [r for r in rows if r["true"] == label]
        if mine:
            hits = sum(r["predicted"] == label for r in mine)
            recalls.append(hits / len(mine))
            recall = metrics["per_class_recall"][label]
            assert recall == pytest.approx(recalls[-1])
    assert metrics["UAR"] == pytest.approx(sum(recalls) / len(recalls))
    for r in rows:
        probs = [float(r[label]) for label in metrics["labels"]]
        # four probabilities written with 6 decimals: at most 4 x 5e-7 off
        assert sum(probs) == pytest.approx(1.0, abs=2.5e-6)
        assert r["predicted"] == metrics["labels"][probs.index(max(probs))]
    # the dimensional head's rows: CCCs, and the values they come from
    has_avd = "avd" in os.path.basename(row["Hparam_file"])
    dimensions = ("arousal", "valence", "dominance")
    assert all(f"CCC_{d}" in metrics for d in dimensions) == has_avd
    assert all(d in rows[0] for d in dimensions) == has_avd
    if has_avd:
        with open(output / "export" / "hyperparams.yaml") as f:
            assert "avd_head: true" in f.read()

    prompts = torch.load(
        output / "export" / "prompt_embeddings.ckpt", weights_only=True
    )
    assert prompts["emotion"].shape == (len(classes), 16)
    has_gender = os.path.basename(row["Hparam_file"]) == "ml_wavlm.yaml"
    assert ("gender" in prompts) == has_gender
    with open(output / "train_log.txt") as f:
        log = f.read()
    assert len(re.findall(r"valid UAR: ", log)) == 2
    # the test stage loaded an epoch of the best validation UAR
    uars, loaded = logged_epochs(log)
    assert uars[loaded] == max(uars.values())
    # fine-tuned towers: each has its own optimiser (all get clipped)
    (ckpt,) = (output / "save").glob("CKPT+*")
    for name in ("model", "text", "ssl"):
        assert (ckpt / f"{name}_optimizer.ckpt").is_file()

    # the saved hyperparams.yaml is flat and loads as it is (from where the
    # run started: the CSV recipe reads its classes from the CSV file)
    monkeypatch.chdir(speechbrain_checkout)
    with open(output / "hyperparams.yaml") as f:
        saved = load_hyperpyyaml(f)
    assert saved["output_folder"] == str(output)
    assert saved["embedding_dim"] == 16
    assert list(saved["model"].emotion_labels) == metrics["labels"]


def logged_epochs(log):
    """The validation UAR of each epoch in a ``train_log.txt``, and the
    epoch the test stage loaded (``Epoch loaded: N``)."""
    uars = {
        int(epoch): float(uar)
        for epoch, uar in re.findall(
            r"^epoch: (\d+),.* valid UAR: ([^,\s]+)", log, re.M
        )
    }
    (loaded,) = re.findall(r"^Epoch loaded: (\d+) ", log, re.M)
    return uars, int(loaded)


# A validation UAR that rises then falls: the best epoch is neither the
# first nor the last, nor the worst
SCRIPTED_UAR = (0.3, 0.6, 0.4)
# Runs train.py as its __main__, with the UAR of the first validations
# replaced by SCRIPTED_UAR (the test stage keeps its own)
SCRIPTED_UAR_DRIVER = """\
import os
import runpy
import sys

from speechbrain_gemo.metrics import EmotionClassificationStats

scripted = iter({uars!r})
recall_metrics = EmotionClassificationStats.recall_metrics


def scripted_recall_metrics(self):
    metrics = recall_metrics(self)
    metrics["UAR"] = next(scripted, metrics["UAR"])
    return metrics


EmotionClassificationStats.recall_metrics = scripted_recall_metrics
sys.argv = sys.argv[1:]
sys.path.insert(0, os.getcwd())  # the recipe's own modules
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.slow
def test_test_set_is_evaluated_with_the_best_checkpoint_by_valid_uar(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """Three epochs whose validation UAR rises then falls (the recipe's
    own validation, its UAR replaced): the test stage loads the
    checkpoint of epoch 2, its ``CKPT.yaml`` holds the best UAR and its
    epoch counter 2, and the exported weights are that checkpoint's, not
    the later one's."""
    import yaml

    driver = tmp_path / "scripted_uar.py"
    driver.write_text(SCRIPTED_UAR_DRIVER.format(uars=SCRIPTED_UAR))
    output = tmp_path / "out"
    run_train(
        ["hparams/sl_wavlm.yaml", "--number_of_epochs=3"],
        corpus,
        tiny_wavlm_dir,
        tiny_roberta_dir,
        str(output),
        launcher=[sys.executable, str(driver)],
    )
    with open(output / "train_log.txt") as f:
        uars, loaded = logged_epochs(f.read())
    assert uars == dict(enumerate(SCRIPTED_UAR, start=1))
    best = max(uars, key=uars.get)
    assert best == 2 and loaded == best
    checkpoints = {}
    for folder in sorted((output / "save").glob("CKPT+*")):
        with open(folder / "CKPT.yaml") as f:
            meta = yaml.safe_load(f)
        epoch = int((folder / "counter.ckpt").read_text())
        checkpoints[epoch] = (meta["UAR"], folder)
    # the best by UAR and the most recent are kept
    assert sorted(checkpoints) == [2, 3]
    assert checkpoints[2][0] == pytest.approx(SCRIPTED_UAR[1])
    exported = torch.load(output / "export" / "model.ckpt", weights_only=True)
    for epoch, (_, folder) in checkpoints.items():
        saved = torch.load(folder / "model.ckpt", weights_only=True)
        same = all(torch.equal(saved[k], v) for k, v in exported.items())
        assert same == (epoch == best), epoch
    # the test stage's UAR is its own: the mean of its recalls
    with open(output / "test_metrics.json") as f:
        metrics = json.load(f)
    recalls = list(metrics["per_class_recall"].values())
    assert metrics["UAR"] == pytest.approx(sum(recalls) / len(recalls))


@pytest.mark.parametrize(
    "hparams_file", sorted({r["Hparam_file"] for r in CSV_ROWS})
)
def test_unknown_override_is_an_error(hparams_file):
    """HyperPyYAML refuses an override of a key the file does not have,
    before anything is built."""
    with open(os.path.join(ROOT, hparams_file)) as fin:
        with pytest.raises(KeyError, match="Override 'learning_rat' not"):
            load_hyperpyyaml(fin, {"learning_rat": 0.1})


def test_issue_keys_are_overridable(tiny_wavlm_dir, tiny_roberta_dir, tmp_path):
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
    with open(os.path.join(RECIPE, "hparams", "ml_wavlm.yaml")) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    for key, value in overrides.items():
        assert hparams[key] == value, key
    assert hparams["epoch_counter"].limit == 7
    assert hparams["compute_cost"].alpha_e == 0.9
    assert hparams["compute_cost"].target_norm == "softmax"
    assert hparams["train_dataloader_options"]["batch_size"] == 5
    assert hparams["model"].gender_labels == ("F", "M")
    assert hparams["save_folder"] == str(tmp_path / "o" / "save")


@pytest.mark.slow
def test_cross_validate_runs_folds_and_aggregates(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    output = str(tmp_path / "cv")
    # A launcher that records how it is called, then runs the rest as
    # python would (as "torchrun --nproc_per_node=N" would)
    launcher = tmp_path / "launcher.py"
    calls = tmp_path / "launcher_calls.txt"
    launcher.write_text(
        "import os, sys\n"
        f"with open({str(calls)!r}, 'a') as f:\n"
        "    f.write(' '.join(sys.argv[1:]) + '\\n')\n"
        "os.execv(sys.executable, [sys.executable] + sys.argv[1:])\n"
    )
    command = [
        sys.executable,
        "cross_validate.py",
        "sl_wavlm.yaml",
        "--folds=1,2",
        f"--launcher={sys.executable} {launcher}",
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

    # each fold's train.py was started through the launcher
    invocations = calls.read_text().splitlines()
    assert len(invocations) == 2
    for session, line in zip((1, 2), invocations):
        assert line.startswith(os.path.join(RECIPE, "train.py") + " ")
        assert f"--test_session={session}" in line.split()
        assert f"--output_folder={output}/session{session}" in line.split()

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
    # pooled = metrics over the two test sets' predictions together,
    # counted here: UAR over the classes that have test utterances
    rows += read_predictions(f"{output}/session1/test_predictions.csv")
    correct = sum(r["true"] == r["predicted"] for r in rows)
    assert summary["pooled"]["WAR"] == pytest.approx(correct / len(rows))
    recalls = []
    for label in sorted({r["true"] for r in rows}):
        mine = [r for r in rows if r["true"] == label]
        recalls.append(sum(r["predicted"] == label for r in mine) / len(mine))
    assert summary["pooled"]["UAR"] == pytest.approx(
        sum(recalls) / len(recalls)
    )
    with open(os.path.join(output, "cv_summary.md")) as f:
        assert "| mean ± std |" in f.read()

    second = subprocess.run(
        command, cwd=RECIPE, env=env, capture_output=True, text=True
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("finished already") == 2
    assert len(calls.read_text().splitlines()) == 2


@pytest.mark.slow
def test_training_prints_neither_known_warning(
    corpus, tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """Training (WavLM attention, the label encoders) used to print
    PyTorch's key_padding_mask UserWarning and SpeechBrain's expect_len
    reminder; the inference side, and that other warnings still show, are
    in tests/test_infer_cli.py."""
    output = str(tmp_path / "quiet")
    result = run_train(
        ["hparams/sl_wavlm.yaml", "--number_of_epochs=1"],
        corpus,
        tiny_wavlm_dir,
        tiny_roberta_dir,
        output,
    )
    text = result.stdout + result.stderr
    assert "Epoch loaded: 1 - test loss" in text  # the run's log is here
    assert "key_padding_mask" not in text
    assert "expect_len" not in text


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
    # (that bf16 really runs under autocast: tests/test_precision.py)
    with open(os.path.join(output, "log.txt")) as f:
        log = f.read()
    assert "DynamicBatchSampler: Generating dynamic batches" in log
    # frozen towers: only the heads and temperatures are trained, and the
    # SSL model has no optimiser of its own
    ckpts = [d for d in os.listdir(os.path.join(output, "save")) if "CKPT" in d]
    (ckpt,) = ckpts
    files = os.listdir(os.path.join(output, "save", ckpt))
    assert "model_optimizer.ckpt" in files
    assert "ssl_optimizer.ckpt" not in files
    assert "text_optimizer.ckpt" not in files


def load_train_module():
    sys.path.insert(0, RECIPE)  # iemocap_prepare
    try:
        spec = importlib.util.spec_from_file_location(
            "gemo_clap_train", os.path.join(RECIPE, "train.py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(RECIPE)
    return module


class FourPrompts(torch.nn.Module):
    """Stands in for GEmoCLAPModel in the Brain hooks: four classes."""

    emotion_labels = ("neu", "hap", "ang", "sad")
    has_avd = False  # no dimensional head
    avd_scale = None

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def scale(self):
        return torch.tensor(5.0)


class RecordingScheduler:
    """A NewBob stand-in recording what it is given."""

    def __init__(self):
        self.received = []

    def __call__(self, value):
        self.received.append(value)
        return 0.1, 0.1


@pytest.mark.parametrize("annealing_metric", ["ce", "uar", "loss"])
def test_validation_ce_is_per_utterance_and_drives_annealing(
    annealing_metric, tmp_path
):
    from types import SimpleNamespace

    import speechbrain as sb
    from speechbrain.utils.train_logger import FileTrainLogger

    from speechbrain_gemo.losses import GEmoCLAPLoss

    train = load_train_module()
    saved = []
    checkpointer = SimpleNamespace(
        add_recoverable=lambda *args: None,
        save_and_keep_only=lambda **kwargs: saved.append(kwargs),
    )
    hparams = {
        "compute_cost": GEmoCLAPLoss("emo"),
        "gather_across_processes": False,
        "annealing_metric": annealing_metric,
        "lr_annealing": RecordingScheduler(),
        "train_logger": FileTrainLogger(str(tmp_path / "train_log.txt")),
        "avd_weight": 0.0,
        "selection_key": "UAR",
    }
    model = FourPrompts()
    brain = train.GEmoCLAPBrain(
        modules={"model": model},
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )
    brain.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    brain.train_stats = {"loss": 1.0}
    # prompts = the identity: the logits are scale * the audio rows, so
    # the cross-entropy can be computed by hand; two batches of unequal
    # size (a mean of batch means would weigh the lone utterance 3x)
    scale = torch.tensor(5.0)
    audio = [
        torch.tensor([[0.9, 0.1, 0.0, 0.0], [0.0, 0.2, 0.8, 0.0]]),
        torch.tensor([[0.1, 0.1, 0.1, 0.7], [0.5, 0.5, 0.0, 0.0]]),
        torch.tensor([[0.0, 0.0, 0.0, 1.0]]),
    ]
    labels = [torch.tensor([0, 1]), torch.tensor([3, 1]), torch.tensor([2])]
    brain.on_stage_start(sb.Stage.VALID, epoch=1)
    losses = []
    for i, (emb, emo) in enumerate(zip(audio, labels)):
        batch = SimpleNamespace(
            id=[f"b{i}u{j}" for j in range(len(emo))],
            emo_encoded=SimpleNamespace(data=emo[:, None]),
            gender_encoded=SimpleNamespace(data=torch.zeros_like(emo)[:, None]),
        )
        predictions = {
            "audio_emb": emb,
            "emotion_prompt_emb": torch.eye(4),
            "scale": scale,
        }
        losses.append(
            float(brain.compute_objectives(predictions, batch, sb.Stage.VALID))
        )
    stage_loss = sum(losses) / len(losses)
    brain.on_stage_end(sb.Stage.VALID, stage_loss, epoch=1)

    expected_ce = torch.nn.functional.cross_entropy(
        scale * torch.cat(audio), torch.cat(labels)
    ).item()
    batch_mean = sum(
        torch.nn.functional.cross_entropy(scale * a, e).item()
        for a, e in zip(audio, labels)
    ) / len(audio)
    assert abs(batch_mean - expected_ce) > 1e-3  # the test can tell them
    (meta,) = [kwargs["meta"] for kwargs in saved]
    assert meta["CE"] == pytest.approx(expected_ce, rel=1e-6)
    # predicted: neu, ang, sad, neu (tie: first), sad; recalls by hand
    assert meta["UAR"] == pytest.approx((1 + 0 + 0 + 1) / 4)
    expected_measure = {
        "ce": expected_ce,
        "uar": 1 - meta["UAR"],
        "loss": stage_loss,
    }[annealing_metric]
    (received,) = hparams["lr_annealing"].received
    assert received == pytest.approx(expected_measure, rel=1e-6)
    with open(tmp_path / "train_log.txt") as f:
        log = f.read()
    assert "valid loss:" in log and "valid CE:" in log


def test_validation_batches_are_shuffled_the_same_every_epoch(monkeypatch):
    """The recipe's validation loader (its ``valid_dataloader_options``
    from ``sl_wavlm.yaml``) gives the same shuffled order every epoch, and
    another seed another order. (With ``--dynamic_batching=True`` the
    first epoch's order differs from the later ones': SpeechBrain's
    DynamicBatchSampler permutes its batches twice after the first pass.)"""
    import re

    import speechbrain as sb
    import yaml
    from speechbrain.dataio.dataset import DynamicItemDataset
    from speechbrain.utils.seed import seed_everything

    from speechbrain_gemo.brain import RobustBrain

    monkeypatch.delenv("SB_GLOBAL_SEED", raising=False)
    train = load_train_module()
    with open(os.path.join(RECIPE, "hparams", "sl_wavlm.yaml")) as f:
        text = f.read()
    block = re.search(r"^valid_dataloader_options:\n(?:    .*\n)+", text, re.M)
    block = block.group(0).replace("!ref <batch_size>", "4")
    options = yaml.safe_load(block.replace("!ref <num_workers>", "0"))

    def epochs(seed):
        """The ids of two epochs of the validation loader, built once."""
        seed_everything(seed)
        data = {f"u{i:02d}": {"duration": 1.0 + i % 5} for i in range(24)}
        dataset = DynamicItemDataset(data, output_keys=["id"])
        hparams = {
            "dynamic_batching": False,
            "valid_dataloader_options": options["valid_dataloader_options"],
        }
        kwargs = train.loader_kwargs(hparams, dataset, sb.Stage.VALID)
        brain = RobustBrain(modules={}, run_opts={"device": "cpu"})
        loader = brain.make_dataloader(dataset, sb.Stage.VALID, **kwargs)
        return [[i for batch in loader for i in batch.id] for _ in range(2)]

    first, second = epochs(1986)
    assert first == second
    assert sorted(first) == [f"u{i:02d}" for i in range(24)]
    assert first != sorted(first)
    assert epochs(7)[0] != first


def recipe_brain(ssl_dir, text_dir, output, **run_opts):
    """The recipe's Brain on ``ml_wavlm.yaml`` (both logit scales) with
    the tiny towers, its optimisers made (``on_fit_start``)."""
    train = load_train_module()
    overrides = {
        "data_folder": "unused",
        "output_folder": output,
        "audio_source": ssl_dir,
        "text_source": text_dir,
        "embedding_dim": 16,
        "skip_prep": True,
    }
    with open(os.path.join(RECIPE, "hparams", "ml_wavlm.yaml")) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    brain = train.GEmoCLAPBrain(
        modules=hparams["modules"],
        hparams=hparams,
        run_opts={"device": "cpu", **run_opts},
        checkpointer=None,
    )
    brain.on_fit_start()
    return brain


def training_batch(seed, size=4):
    """A batch of short noise utterances with every class and gender."""
    from speechbrain.dataio.batch import PaddedBatch

    gen = torch.Generator().manual_seed(seed)
    return PaddedBatch(
        [
            {
                "id": f"utt{seed}_{i}",
                "sig": 0.1 * torch.randn(8000, generator=gen),
                "emo_encoded": torch.LongTensor([i % 4]),
                "gender_encoded": torch.LongTensor([i % 2]),
            }
            for i in range(size)
        ]
    )


def test_brain_step_brings_the_logit_scales_back_under_the_cap(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """ML-GEmo-CLAP's two stored logit scales pushed above the cap (100,
    as in CLIP): one ``fit_batch`` of the recipe's Brain steps the
    optimisers and brings both back to the cap, as CLIP clamps after each
    step (the optimiser alone leaves them there: their gradient is zero
    above the cap)."""
    import math

    brain = recipe_brain(tiny_wavlm_dir, tiny_roberta_dir, str(tmp_path))
    model = brain.model
    cap = math.log(model.max_logit_scale)
    assert cap == pytest.approx(math.log(100.0))
    with torch.no_grad():
        model.logit_scale.fill_(cap + 1.0)
        model.gender_logit_scale.fill_(cap + 2.0)
    head = model.audio_encoder.projection.layers[1].weight
    head_before = head.detach().clone()
    loss = brain.fit_batch(training_batch(0))
    assert torch.isfinite(loss)
    # a step was taken: the optimisers moved the projection head
    assert brain.optimizer_step == 1
    assert not torch.equal(head.detach(), head_before)
    assert model.logit_scale.item() == pytest.approx(cap, abs=1e-6)
    assert model.gender_logit_scale.item() == pytest.approx(cap, abs=1e-6)


def test_gradient_accumulation_steps_every_nth_batch(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """``--grad_accumulation_factor=2``: the recipe's Brain steps the
    optimisers after batches 2 and 4 only (the weights move only then),
    the gradients of batch 1 kept for the step after batch 2."""
    brain = recipe_brain(
        tiny_wavlm_dir,
        tiny_roberta_dir,
        str(tmp_path),
        grad_accumulation_factor=2,
    )
    head = brain.model.audio_encoder.projection.layers[1].weight
    steps, moved, kept = [], [], []
    for step in range(1, 5):
        before = head.detach().clone()
        brain.step = step  # as sb.Brain.fit counts the batches
        brain.fit_batch(training_batch(step))
        steps.append(brain.optimizer_step)
        moved.append(not torch.equal(head.detach(), before))
        kept.append(head.grad is not None)
    assert steps == [0, 1, 1, 2]
    assert moved == [False, True, False, True]
    assert kept == [True, False, True, False]
