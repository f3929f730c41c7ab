"""Fault tolerance of the recipe (issue 9): kill and resume, complete-only
checkpoints, reproducibility, bad data during training, long training
utterances, and no network in the tests' subprocesses.

The slow tests run ``train.py`` as a subprocess on tiny local models; the
kill-and-resume test interrupts it from outside with SIGKILL at chosen
moments: ``train.py`` is started through a small runner script (written by
the test) that wraps one function of SpeechBrain, PyTorch or the standard
library so that the process kills itself at its n-th matching call, then
runs ``train.py`` as ``__main__``. Nothing in the package or the recipe
knows about it.
"""

import glob
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_gemo.checkpoints import (
    MANIFEST_NAME,
    CompleteCheckpointer,
    checkpoint_is_complete,
)
from speechbrain_gemo.data.iemocap import prepare_iemocap
from speechbrain_gemo.testing import write_tiny_iemocap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "IEMOCAP", "gemo_clap")
KILLED = -signal.SIGKILL

# Runs a script as __main__ with one function wrapped so that the process
# kills itself (SIGKILL, as an out-of-memory killer or a pre-empted node
# would) just before the n-th call whose str/path arguments contain MATCH.
KILL_RUNNER = '''"""kill_runner.py TARGET N MATCH SCRIPT [ARGS...]: runs SCRIPT
as __main__, SIGKILLed before the N-th call of TARGET ("module:attr.path")
whose string or path arguments contain MATCH."""

import functools
import importlib
import os
import random
import runpy
import signal
import sys


def kill_at(target, count, match):
    """Wraps TARGET so that its COUNT-th matching call kills the process."""
    module_name, _, attr_path = target.partition(":")
    owner = importlib.import_module(module_name)
    *parents, name = attr_path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)
    calls = [0]

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        """Counts the matching calls; kills at the chosen one."""
        texts = [
            str(a)
            for a in list(args) + list(kwargs.values())
            if isinstance(a, (str, os.PathLike))
        ]
        if not match or any(match in t for t in texts):
            calls[0] += 1
            if calls[0] == count:
                print(f"kill_runner: SIGKILL at {target} #{count}",
                      file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


if __name__ == "__main__":
    target, count, match, script, *args = sys.argv[1:]
    kill_at(target, int(count), match)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
'''

# Runs a script as __main__ with SpeechBrain's training-loop clock (the
# ``time`` module as speechbrain.core sees it) advancing one minute and a
# second at each reading, so that --ckpt_interval_minutes=1 elapses at
# every batch; the rest of the process keeps the real clock.
CLOCK_RUNNER = '''"""clock_runner.py SCRIPT [ARGS...]: runs SCRIPT as __main__
with speechbrain.core's time.time() advancing 61 s per call."""

import os
import random
import runpy
import sys
import time
import types

import speechbrain.core

readings = [0]


def fast_time():
    """The real start time plus 61 s per reading."""
    readings[0] += 1
    return start + 61.0 * readings[0]


start = time.time()
speechbrain.core.time = types.SimpleNamespace(
    **{k: getattr(time, k) for k in dir(time) if not k.startswith("_")}
)
speechbrain.core.time.time = fast_time

if __name__ == "__main__":
    script, *args = sys.argv[1:]
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
'''

# The moments the kill-and-resume test interrupts a run at: (function
# wrapped, its matching arguments). Counts are given per run.
KILL_MOMENTS = {
    # after a training batch's update, before SpeechBrain's batch-end hook
    "train_step": ("speechbrain.core:Brain.on_fit_batch_end", ""),
    # inside a checkpoint save: the model's files written, the optimisers'
    # not yet (torch.save of model_optimizer.ckpt)
    "ckpt_save": ("torch:save", "model_optimizer.ckpt"),
    # at a validation batch
    "valid_step": ("speechbrain.core:Brain.evaluate_batch", ""),
    # the test metrics written to their temporary file, not yet renamed
    "metrics": ("os:replace", "test_metrics.json"),
    # inside the export, at its first tensor file
    "export": ("torch:save", "export"),
}

pytestmark = pytest.mark.xdist_group("fault")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("iemocap"))
    write_tiny_iemocap(folder, utterances_per_speaker=6)
    return folder


def run_train(
    corpus,
    models,
    output,
    *extra,
    epochs=2,
    kill_at=None,
    fast_clock=False,
    num_workers=0,
    processes=1,
):
    """Runs train.py; with ``kill_at=(moment, n)`` (see KILL_MOMENTS),
    through the kill runner, killed at the n-th call of that moment (in
    every process); with ``fast_clock``, through the clock runner (see
    CLOCK_RUNNER); with ``processes > 1``, under torchrun (gloo)."""
    ssl_dir, text_dir = models
    launcher = [sys.executable]
    if processes > 1:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        launcher += ["-m", "torch.distributed.run"]
        launcher += [f"--nproc_per_node={processes}", f"--master_port={port}"]
        extra = extra + ("--distributed_backend=gloo",)
    if fast_clock:
        runner = os.path.join(output + ".clock_runner.py")
        with open(runner, "w") as f:
            f.write(CLOCK_RUNNER)
        launcher.append(runner)
    if kill_at:
        moment, count = kill_at
        target, match = KILL_MOMENTS[moment]
        runner = os.path.join(output + ".kill_runner.py")
        with open(runner, "w") as f:
            f.write(KILL_RUNNER)
        launcher += [runner, target, str(count), match]
    command = [
        *launcher,
        "train.py",
        "hparams/sl_wavlm.yaml",
        f"--data_folder={corpus}",
        f"--output_folder={output}",
        f"--audio_source={ssl_dir}",
        f"--text_source={text_dir}",
        "--expected_utterances=null",
        "--embedding_dim=16",
        "--batch_size=8",
        f"--num_workers={num_workers}",
        f"--number_of_epochs={epochs}",
        "--device=cpu",
        "--noprogressbar",
        *extra,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # A hang (e.g. processes calling different collectives) fails the test
    result = subprocess.run(
        command,
        cwd=RECIPE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # SpeechBrain logs to stdout, errors go to stderr
    result.log = result.stdout + result.stderr
    return result


def prepare(corpus, output):
    """The manifests train.py would write (the hparams' defaults)."""
    return prepare_iemocap(
        corpus,
        os.path.join(output, "save"),
        test_session=1,
        valid_ratio=0.1,
        seed=1986,
        expected_utterances=None,
    )


def first_train_utterance(paths, data):
    with open(paths["train"]) as f:
        utt_id, entry = sorted(json.load(f).items())[0]
    return utt_id, entry["wav"].replace("{data_root}", data)


def checkpoint_dirs(output):
    return sorted(glob.glob(os.path.join(output, "save", "CKPT+*")))


def epochs_logged(output):
    with open(os.path.join(output, "train_log.txt")) as f:
        return [
            int(line.split(",")[0].split(":")[1])
            for line in f
            if line.startswith("epoch:")
        ]


@pytest.fixture
def models(tiny_wavlm_dir, tiny_roberta_dir):
    return tiny_wavlm_dir, tiny_roberta_dir


# ---------------------------------------------------------------- checkpoints


def test_partial_checkpoints_are_never_loaded(tmp_path):
    layer = torch.nn.Linear(3, 3)
    counter = EpochCounter(5)
    recoverables = {"layer": layer, "counter": counter}
    ckpt = CompleteCheckpointer(tmp_path, recoverables)
    good = ckpt.save_checkpoint(meta={"UAR": 0.5})

    # What a run killed at various moments of a later save (or of a
    # deletion) leaves: the manifest not yet written; a truncated file; an
    # empty CKPT.yaml; no CKPT.yaml at all
    plain = Checkpointer(tmp_path, recoverables)
    partial = []
    for damage in ("no_manifest", "truncated", "empty_meta", "no_meta"):
        saved = ckpt.save_checkpoint(meta={"UAR": 0.9}, name=damage)
        if damage == "no_manifest":
            (saved.path / MANIFEST_NAME).unlink()
        elif damage == "truncated":
            data = (saved.path / "layer.ckpt").read_bytes()
            (saved.path / "layer.ckpt").write_bytes(data[: len(data) // 2])
            # SpeechBrain's own Checkpointer would resume from it
            assert plain.find_checkpoint().path == saved.path
            assert plain.find_checkpoint(max_key="UAR").path != good.path
        elif damage == "empty_meta":
            (saved.path / "CKPT.yaml").write_text("")
        else:
            (saved.path / "CKPT.yaml").unlink()
        partial.append(saved.path)

    assert [c.path for c in ckpt.list_checkpoints()] == [good.path]
    assert ckpt.find_checkpoint(max_key="UAR").path == good.path
    assert ckpt.recover_if_possible().path == good.path
    assert sorted(ckpt.remove_incomplete()) == sorted(partial)
    assert [p.name for p in tmp_path.iterdir()] == [good.path.name]

    # a checkpoint written by SpeechBrain's Checkpointer is still valid
    legacy = plain.save_checkpoint(meta={"UAR": 0.7})
    assert checkpoint_is_complete(legacy.path)
    assert ckpt.find_checkpoint(max_key="UAR").path == legacy.path


def _fingerprint_sets(train, valid):
    """Datasets of ``{id: (emo, gender)}`` as the recipe builds them."""
    from speechbrain.dataio.dataset import DynamicItemDataset

    def dataset(rows):
        return DynamicItemDataset(
            {
                i: {"wav": f"{{data_root}}/{i}.wav", "emo": e, "gender": g}
                for i, (e, g) in rows.items()
            }
        )

    return {"train": dataset(train), "valid": dataset(valid)}


def test_data_fingerprint_follows_the_training_data():
    """The fingerprint changes with the classes (and their order) and with
    the ids, emotion and gender labels of train and valid; not with the
    audio's folder, nor with an utterance filtered out of the run."""
    from speechbrain_gemo.checkpoints import data_fingerprint
    from speechbrain_gemo.data.labels import keep_classes

    train = {"a": ("sad", "F"), "b": ("neu", "M"), "c": ("neu", None)}
    valid = {"d": ("sad", "M")}
    classes = ["neu", "sad"]
    reference = data_fingerprint(_fingerprint_sets(train, valid), classes)
    assert reference["classes"] == classes
    assert (reference["train"], reference["valid"]) == (3, 1)
    changed = [
        (train, valid, ["sad", "neu"]),
        (train, valid, ["neu", "sad", "ang"]),
        ({**train, "b": ("sad", "M")}, valid, classes),
        ({**train, "b": ("neu", "F")}, valid, classes),
        ({**train, "e": ("neu", "F")}, valid, classes),
        (train, {"e": ("sad", "M")}, classes),
        ({**train, "d": ("sad", "M")}, {"b": ("neu", "M")}, classes),
    ]
    for new_train, new_valid, new_classes in changed:
        sets = _fingerprint_sets(new_train, new_valid)
        other = data_fingerprint(sets, new_classes)
        assert other["sha256"] != reference["sha256"], (new_train, new_valid)
    moved = _fingerprint_sets(train, valid)
    for dataset in moved.values():
        for entry in dataset.data.values():
            entry["wav"] = entry["wav"].replace("{data_root}", "/elsewhere")
    assert data_fingerprint(moved, classes) == reference
    # an utterance outside the run's classes (dropped) changes nothing
    extra = _fingerprint_sets({**train, "x": ("hap", "F")}, valid)
    extra["train"] = keep_classes(extra["train"], classes, "train")
    assert data_fingerprint(extra, classes) == reference


def test_checkpoints_of_other_data_are_never_loaded(tmp_path):
    """With a data fingerprint set, every checkpoint records it; a
    checkpoint made on other data or classes, or recording none, is
    refused when loaded (latest or best), naming what differs and what to
    do; one of the same data loads."""
    from speechbrain_gemo.checkpoints import (
        CheckpointDataMismatch,
        data_fingerprint,
    )

    train = {"a": ("sad", "F"), "b": ("neu", "M")}
    valid = {"c": ("sad", "M")}
    layer = torch.nn.Linear(3, 3)
    made = CompleteCheckpointer(tmp_path, {"layer": layer})
    made.data_fingerprint = data_fingerprint(
        _fingerprint_sets(train, valid), ["neu", "sad"]
    )
    saved = made.save_checkpoint(meta={"UAR": 0.5})
    with open(saved.path / "CKPT.yaml") as f:
        assert made.data_fingerprint["sha256"] in f.read()
    before = layer.weight.detach().clone()

    def fresh(train, valid, classes):
        with torch.no_grad():
            layer.weight.zero_()
        ckpt = CompleteCheckpointer(tmp_path, {"layer": layer})
        ckpt.data_fingerprint = data_fingerprint(
            _fingerprint_sets(train, valid), classes
        )
        return ckpt

    ckpt = fresh(train, valid, ["neu", "sad"])
    assert ckpt.recover_if_possible(max_key="UAR").path == saved.path
    assert torch.equal(layer.weight, before)

    cases = [
        (
            train,
            valid,
            ["neu", "sad", "ang"],
            "classes then: ['neu', 'sad'], now: ['neu', 'sad', 'ang']",
        ),
        (
            {**train, "b": ("sad", "M")},
            valid,
            ["neu", "sad"],
            "the same classes, other utterances or labels in train or valid "
            "(train 2 then, 2 now; valid 1 then, 1 now)",
        ),
    ]
    for new_train, new_valid, classes, what in cases:
        ckpt = fresh(new_train, new_valid, classes)
        with pytest.raises(CheckpointDataMismatch) as err:
            ckpt.recover_if_possible()
        assert f"The checkpoints in {tmp_path} were made on other data" in (
            str(err.value)
        )
        assert f"({what})" in str(err.value)
        assert "--output_folder=" in str(err.value)
        with pytest.raises(CheckpointDataMismatch):
            ckpt.recover_if_possible(max_key="UAR")
        assert not layer.weight.any()  # nothing was loaded

    # a checkpoint recording no fingerprint (an older version's)
    (tmp_path / saved.path.name).rename(tmp_path / "kept")
    CompleteCheckpointer(tmp_path, {"layer": layer}).save_checkpoint()
    ckpt = fresh(train, valid, ["neu", "sad"])
    with pytest.raises(CheckpointDataMismatch, match="records no data"):
        ckpt.recover_if_possible()
    # without a fingerprint set, nothing is checked (any other use)
    assert CompleteCheckpointer(
        tmp_path, {"layer": layer}
    ).recover_if_possible()


def test_nonfinite_batches_are_skipped_up_to_the_patience():
    from speechbrain_gemo.brain import RobustBrain

    class NaNBrain(RobustBrain):
        def compute_forward(self, batch, stage):
            return {}

        def compute_objectives(self, predictions, batch, stage):
            return torch.tensor(float("nan"), requires_grad=True)

    brain = NaNBrain(
        modules={"layer": torch.nn.Linear(2, 2)},
        hparams={},
        run_opts={"device": "cpu", "nonfinite_patience": 2},
    )
    brain.skipped_batches = brain.nonfinite_count = 0
    batch = SimpleNamespace(id=["utt1", "utt2"])
    for expected in (1, 2):
        assert not torch.isfinite(brain.fit_batch(batch))
        assert brain.skipped_batches == brain.nonfinite_count == expected
    with pytest.raises(ValueError, match="patience is exhausted"):
        brain.fit_batch(batch)


# ----------------------------------------------------------------- audio data


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


def test_max_train_seconds_bounds_batches_and_missing_wavs_raise(tmp_path):
    from speechbrain.dataio.batch import PaddedBatch

    data = str(tmp_path / "data")
    write_tiny_iemocap(data, utterances_per_speaker=6)
    paths = prepare(data, str(tmp_path))
    long_id, long_wav = first_train_utterance(paths, data)
    # a 3-minute training utterance after preparation
    soundfile.write(long_wav, np.zeros(180 * 16000, "float32"), 16000)
    train = load_train_module()
    hparams = {
        "max_train_seconds": 0.5,
        "telephone_prob": 0.0,
        "avd_head": False,
        "sample_rate": 16000,
        "data_folder": data,
        "save_folder": str(tmp_path / "save"),
        **{f"{s}_annotation": paths[s] for s in ("train", "valid", "test")},
    }
    datasets, _ = train.dataio_prep(hparams, ["neu", "hap", "ang", "sad"])
    items = [datasets["train"][i] for i in range(len(datasets["train"]))]
    batch = PaddedBatch(items)
    assert batch.sig.data.shape[1] == 8000
    assert max(len(item["sig"]) for item in items) == 8000
    # validation and test utterances are never cropped
    hparams["max_train_seconds"] = None
    datasets, _ = train.dataio_prep(hparams, ["neu", "hap", "ang", "sad"])
    sizes = {item["id"]: len(item["sig"]) for item in datasets["train"]}
    assert sizes[long_id] == 180 * 16000

    os.remove(long_wav)
    with pytest.raises(FileNotFoundError, match="Audio file missing") as err:
        [item["sig"] for item in datasets["train"]]
    assert long_wav in str(err.value) and long_id in str(err.value)


# -------------------------------------------------------------------- offline


def test_subprocesses_have_no_network():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = (
        "import os, socket\n"
        f"socket.create_connection(('127.0.0.1', {port})).close()\n"
        "print('local ok', os.environ['HF_HUB_OFFLINE'])\n"
        "socket.create_connection(('192.0.2.1', 443), timeout=5)\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True
        )
    finally:
        server.close()
    assert result.stdout.strip() == "local ok 1"
    assert result.returncode != 0
    assert "Network access blocked in tests" in result.stderr


# -------------------------------------------------------- end-to-end: kills


def assert_same_test_outputs(output, reference):
    """The test metrics and predictions of two runs are byte-identical."""
    for name in ("test_metrics.json", "test_predictions.csv"):
        with open(os.path.join(output, name)) as f:
            got = f.read()
        with open(os.path.join(reference, name)) as f:
            assert got == f.read(), name


def epoch_lines(output):
    """The last train_log.txt line of each epoch (a redone epoch is
    logged again)."""
    with open(os.path.join(output, "train_log.txt")) as f:
        lines = {
            line.split(",")[0]: line for line in f if line.startswith("epoch:")
        }
    return [lines[key] for key in sorted(lines)]


@pytest.mark.slow
def test_killed_runs_resume_and_finish(corpus, models, tmp_path):
    output = str(tmp_path / "run")
    # Random crops and telephone audio (Python's random) and dropout (torch)
    # make every step depend on the random states: the resumed chain must
    # end exactly as an uninterrupted run does
    args = [
        "--ckpt_interval_steps=2",
        "--max_train_seconds=0.5",
        "--telephone_prob=0.5",
    ]

    def run(kill_at=None, folder=output):
        result = run_train(corpus, models, folder, *args, kill_at=kill_at)
        expected = KILLED if kill_at else 0
        assert result.returncode == expected, result.log[-3000:]
        return result.log

    # 35 training utterances: 5 batches per epoch; intra-epoch checkpoints
    # every 2 steps. Killed in the middle of epoch 1 (after step 3)
    run(("train_step", 3))
    [intra] = checkpoint_dirs(output)
    assert checkpoint_is_complete(intra)
    with open(os.path.join(intra, "CKPT.yaml")) as f:
        assert "end-of-epoch: false" in f.read()

    # resumed after step 2; killed while saving the end-of-epoch checkpoint
    # (after the model files, before the optimisers' and the manifest)
    log = run(("ckpt_save", 2))
    assert "Resuming epoch 1 after batch 2" in log
    partial = [
        p for p in checkpoint_dirs(output) if not checkpoint_is_complete(p)
    ]
    assert len(partial) == 1
    assert os.path.isfile(os.path.join(partial[0], "model.ckpt"))
    assert not os.path.exists(os.path.join(partial[0], "model_optimizer.ckpt"))
    # the epoch went on where it stopped: the step-4 checkpoint has the
    # data loader 4 batches into the epoch, not 2
    [intra] = [p for p in checkpoint_dirs(output) if p not in partial]
    with open(os.path.join(intra, "dataloader-TRAIN.ckpt")) as f:
        assert f.read() == "4"
    with open(os.path.join(intra, "brain.ckpt")) as f:
        assert "step: 4" in f.read()

    # the partial checkpoint is removed, not loaded: resumed after step 4
    # (the last complete one); killed during validation
    log = run(("valid_step", 1))
    assert f"Removing incomplete checkpoint {partial[0]}" in log
    assert "Resuming epoch 1 after batch 4" in log

    # training finishes; killed after the predictions, before the metrics
    run(("metrics", 1))
    assert os.path.isfile(os.path.join(output, "test_predictions.csv"))
    assert not os.path.exists(os.path.join(output, "test_metrics.json"))

    # killed inside the export: no export folder appears half-written
    log = run(("export", 1))
    assert "kill_runner: SIGKILL at torch:save #1" in log
    assert os.path.isfile(os.path.join(output, "test_metrics.json"))
    assert not os.path.exists(os.path.join(output, "export"))

    log = run()
    assert "Resuming" not in log
    assert not glob.glob(os.path.join(output, "export.*"))
    for name in ("hyperparams.yaml", "model.ckpt", "prompt_embeddings.ckpt"):
        assert os.path.isfile(os.path.join(output, "export", name))
    with open(os.path.join(output, "test_metrics.json")) as f:
        assert json.load(f)["num_utterances"] == 10
    # epoch 1 was logged, then redone after the kill inside its save
    assert epochs_logged(output) == [1, 1, 2]
    assert all(checkpoint_is_complete(p) for p in checkpoint_dirs(output))

    # the best checkpoint loads into a freshly built model
    with open(os.path.join(RECIPE, "hparams", "sl_wavlm.yaml")) as fin:
        overrides = {
            "data_folder": corpus,
            "output_folder": output,
            "audio_source": models[0],
            "text_source": models[1],
            "embedding_dim": 16,
            "number_of_epochs": 2,
        }
        hparams = load_hyperpyyaml(fin, overrides)
    best = hparams["checkpointer"].recover_if_possible(max_key="UAR")
    assert best is not None and hparams["epoch_counter"].current in (1, 2)
    latest = hparams["checkpointer"].find_checkpoint()
    assert latest.paramfiles["counter"].read_text() == "2"
    # every tensor file of a checkpoint loads with weights_only=True (the
    # others are text: step counters and the data loader's position)
    text_files = {"brain", "counter", "dataloader-TRAIN"}
    for name, path in latest.paramfiles.items():
        if name not in text_files:
            assert torch.load(path, weights_only=True), name
    assert "random_states" in latest.paramfiles

    # exact resume: the run killed in a training step, inside a checkpoint
    # save and in validation ends as an uninterrupted run with its seed
    reference = str(tmp_path / "uninterrupted")
    run(folder=reference)
    assert_same_test_outputs(output, reference)
    # so do both epochs' training and validation statistics, epoch 1's
    # (resumed within the epoch) included
    assert epoch_lines(output) == epoch_lines(reference)
    assert len(epoch_lines(reference)) == 2


@pytest.mark.slow
def test_killed_run_with_workers_resumes_exactly_at_epoch_boundaries(
    corpus, models, tmp_path
):
    """Two data loader workers (random crops and telephone audio drawn in
    the workers): killed in epoch 2, the run resumes from the end of epoch
    1 and ends exactly as an uninterrupted run with workers does."""

    def run(folder, *extra, kill_at=None, telephone_prob=0.5):
        result = run_train(
            corpus,
            models,
            folder,
            "--max_train_seconds=0.5",
            f"--telephone_prob={telephone_prob}",
            *extra,
            kill_at=kill_at,
            num_workers=2,
        )
        assert result.returncode == (KILLED if kill_at else 0), result.log[
            -3000:
        ]
        return result.log

    output = str(tmp_path / "run")
    # 35 training utterances: 5 batches an epoch; step 7 is in epoch 2
    run(output, kill_at=("train_step", 7))
    assert epochs_logged(output) == [1]
    assert "Resuming" not in run(output)  # at the epoch boundary
    reference = str(tmp_path / "uninterrupted")
    run(reference)
    assert_same_test_outputs(output, reference)
    assert epoch_lines(output) == epoch_lines(reference)
    # the crops are random: another seed trains to other statistics
    other = str(tmp_path / "other_seed")
    run(other, "--seed=7")
    assert epoch_lines(other) != epoch_lines(reference)
    # and so does the same seed without telephone audio
    wideband = str(tmp_path / "wideband")
    run(wideband, telephone_prob=0.0)
    assert epoch_lines(wideband) != epoch_lines(reference)


@pytest.mark.slow
def test_killed_ddp_run_resumes_exactly(corpus, models, tmp_path):
    """Two processes (torchrun, gloo), killed in a step of epoch 2: both
    resume from the main process's checkpoint within the epoch and the
    run ends exactly as an uninterrupted two-process run."""

    def run(folder, kill_at=None):
        result = run_train(
            corpus,
            models,
            folder,
            "--ckpt_interval_steps=2",
            "--max_train_seconds=0.5",
            kill_at=kill_at,
            processes=2,
        )
        assert (result.returncode == 0) != bool(kill_at), result.log[-3000:]
        return result.log

    output = str(tmp_path / "run")
    # 35 training utterances over 2 processes: 3 steps an epoch each
    log = run(output, kill_at=("train_step", 6))
    assert "kill_runner: SIGKILL" in log
    assert epochs_logged(output) == [1]
    log = run(output)
    assert "Resuming epoch 2 after batch 2" in log
    reference = str(tmp_path / "uninterrupted")
    run(reference)
    assert_same_test_outputs(output, reference)
    assert epoch_lines(output) == epoch_lines(reference)


@pytest.mark.slow
def test_killed_run_resumes_within_the_epoch_by_minutes(
    corpus, models, tmp_path
):
    """--ckpt_interval_minutes (the README's other intra-epoch option):
    with a clock that advances a minute per reading, one minute elapses
    at every batch, so a checkpoint follows each batch."""
    output = str(tmp_path / "run")
    flag = "--ckpt_interval_minutes=1"
    killed = run_train(
        corpus,
        models,
        output,
        flag,
        epochs=1,
        kill_at=("train_step", 4),
        fast_clock=True,
    )
    assert killed.returncode == KILLED, killed.log[-3000:]
    # killed before the checkpoint of step 4: the one of step 3 is kept
    [intra] = checkpoint_dirs(output)
    with open(os.path.join(intra, "CKPT.yaml")) as f:
        assert "end-of-epoch: false" in f.read()
    with open(os.path.join(intra, "dataloader-TRAIN.ckpt")) as f:
        assert f.read() == "3"

    resumed = run_train(corpus, models, output, flag, epochs=1, fast_clock=True)
    assert resumed.returncode == 0, resumed.log[-3000:]
    assert "Resuming epoch 1 after batch 3" in resumed.log
    assert epochs_logged(output) == [1]
    assert os.path.isfile(os.path.join(output, "test_metrics.json"))


# ------------------------------------------------ end-to-end: determinism, data


@pytest.mark.slow
def test_same_seed_same_results_with_a_nan_batch_skipped(models, tmp_path):
    # one training wav holds NaN samples; training crops are random
    data = str(tmp_path / "data")
    write_tiny_iemocap(data, utterances_per_speaker=6)
    paths = prepare(data, str(tmp_path / "prep"))
    _, wav = first_train_utterance(paths, data)
    nan = np.full(soundfile.info(wav).frames, np.nan, dtype="float32")
    soundfile.write(wav, nan, 16000, subtype="FLOAT")

    outputs = []
    for name in ("a", "b"):
        output = str(tmp_path / name)
        result = run_train(
            data, models, output, "--max_train_seconds=0.5", epochs=1
        )
        assert result.returncode == 0, result.log[-3000:]
        # the batch with the NaN wav is skipped, counted and logged
        assert "Non-finite loss on batch" in result.log
        with open(os.path.join(output, "train_log.txt")) as f:
            assert "train skipped_batches: 1 " in f.read()
        outputs.append(output)

    for name in ("test_metrics.json", "test_predictions.csv", "train_log.txt"):
        contents = []
        for output in outputs:
            with open(os.path.join(output, name)) as f:
                contents.append(f.read())
        assert contents[0] == contents[1], name


@pytest.mark.slow
def test_wav_removed_after_preparation_stops_the_run(models, tmp_path):
    data = str(tmp_path / "data")
    write_tiny_iemocap(data, utterances_per_speaker=6)
    output = str(tmp_path / "run")
    utt_id, wav = first_train_utterance(prepare(data, output), data)
    os.remove(wav)
    result = run_train(data, models, output, "--skip_prep=True")
    assert result.returncode == 1
    assert f"Audio file missing: {wav} (utterance {utt_id})" in result.log
    assert not checkpoint_dirs(output)


def test_random_states_of_another_process_count(tmp_path, caplog):
    """A file of two processes' states read by one process: the main
    process's states, with a warning; a one-process file of an earlier
    version (the states alone) still loads."""
    from speechbrain_gemo.checkpoints import RandomStates

    def draws():
        return (random.random(), np.random.rand(), torch.rand(1).item())

    states = []
    for seed in (1, 2):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        path = tmp_path / f"process{seed}.ckpt"
        RandomStates().save(path)
        states.append(torch.load(path, weights_only=True)["processes"][0])
    expected = [None, None]
    for k, seed in enumerate((1, 2)):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        expected[k] = draws()
    assert expected[0] != expected[1]
    both = tmp_path / "two_processes.ckpt"
    torch.save({"processes": states}, both)
    with caplog.at_level("WARNING"):
        RandomStates().load(both, end_of_epoch=False)
    assert draws() == expected[0]
    assert "random states of 2 processes, this run has 1" in caplog.text
    single = tmp_path / "states_alone.ckpt"
    torch.save(states[1], single)
    RandomStates().load(single, end_of_epoch=False)
    assert draws() == expected[1]
