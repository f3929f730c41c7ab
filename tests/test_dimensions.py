"""Arousal, valence and dominance beside the classes: Lin's CCC and its
loss against hand-computed values and an independent numpy formula, its
gradient, masking, the batch gathered across processes, the dimensional
head of the model, the recipes' targets and checkpoint selection, the
outputs (PyTorch, ONNX, ``infer``), the synthetic corpus' ratings, and the
recipes trained end to end on IEMOCAP- and MSP-Podcast-layout trees."""

import csv
import json
import math
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from speechbrain_gemo.brain import (
    check_dimension_settings,
    dimensional_loss,
    selection_stats,
)
from speechbrain_gemo.dimensions import (
    DIMENSIONS,
    check_rating,
    from_unit,
    to_unit,
)
from speechbrain_gemo.losses import concordance_correlation, concordance_loss
from speechbrain_gemo.metrics import DimensionStats, concordance_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAN = math.nan


def numpy_ccc(x, y):
    """Lin's CCC written from the definition, in numpy: the rows where
    ``y`` is finite, population moments."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    mx, my = x.mean(), y.mean()
    cov = np.mean((x - mx) * (y - my))
    return (
        2
        * cov
        / (np.mean((x - mx) ** 2) + np.mean((y - my) ** 2) + (mx - my) ** 2)
    )


def random_problem(seed, n=37, nan_share=0.3):
    """Predictions and targets with about ``nan_share`` unrated cells."""
    rng = np.random.default_rng(seed)
    targets = rng.uniform(0, 1, (n, 3))
    predictions = 0.6 * targets + 0.3 * rng.uniform(0, 1, (n, 3)) + 0.05
    targets[rng.uniform(size=(n, 3)) < nan_share] = np.nan
    return predictions, targets


# ------------------------------------------------------ CCC and its loss


def test_ccc_hand_values():
    """Lin's CCC by hand: a shift by one (means 2 and 3, variances 2/3,
    covariance 2/3: 4/3 / (4/3 + 1) = 4/7), a swap of the middle values
    (covariance 1, variances 1.25: 2 / 2.5 = 0.8), agreement (1) and
    mirror images (-1)."""
    pred = torch.tensor(
        [[1.0, 1.0, -1.0, 1.0], [2.0, 2.0, 0.0, 2.0], [3.0, 3.0, 1.0, 3.0]]
    )
    true = torch.tensor(
        [[2.0, 1.0, 1.0, 1.0], [3.0, 2.0, 0.0, 2.0], [4.0, 3.0, -1.0, 3.0]]
    )
    ccc, counts = concordance_correlation(pred, true)
    expected = [4 / 7, 1.0, -1.0, 1.0]
    assert ccc.tolist() == pytest.approx(expected, abs=1e-6)
    assert counts.tolist() == [3, 3, 3, 3]
    four = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    ccc, _ = concordance_correlation(
        four, torch.tensor([[1.0], [3.0], [2.0], [4.0]])
    )
    assert ccc.item() == pytest.approx(0.8, abs=1e-6)


def test_ccc_against_numpy_formula():
    """Random predictions with about 30 % unrated targets: every column's
    CCC equals the numpy formula over its rated rows, and so do the
    metrics of the recipes (``concordance_metrics``)."""
    for seed in range(5):
        pred, true = random_problem(seed)
        ccc, counts = concordance_correlation(
            torch.from_numpy(pred), torch.from_numpy(true)
        )
        for k in range(3):
            assert ccc[k].item() == pytest.approx(
                numpy_ccc(pred[:, k], true[:, k]), abs=1e-12
            )
            assert counts[k] == np.isfinite(true[:, k]).sum()
        metrics = concordance_metrics(pred.tolist(), torch.from_numpy(true))
        for k, name in enumerate(DIMENSIONS):
            assert metrics[f"CCC_{name}"] == pytest.approx(
                numpy_ccc(pred[:, k], true[:, k]), abs=1e-9
            )


def test_loss_hand_value_and_dimensions_counted():
    """Mean over the dimensions of 1 - CCC: CCC 4/7 and -1 on the first two
    dimensions, the third has one rated utterance and is left out:
    ((1 - 4/7) + (1 + 1)) / 2 = 17/14."""
    pred = torch.tensor([[1.0, 1.0, 0.2], [2.0, 2.0, 0.4], [3.0, 3.0, 0.9]])
    true = torch.tensor([[2.0, 3.0, NAN], [3.0, 2.0, 0.5], [4.0, 1.0, NAN]])
    loss = concordance_loss(pred, true)
    assert loss.item() == pytest.approx(17 / 14, abs=1e-6)
    # against numpy, on random problems
    for seed in range(3):
        p, t = random_problem(seed)
        expected = np.mean([1 - numpy_ccc(p[:, k], t[:, k]) for k in range(3)])
        value = concordance_loss(torch.from_numpy(p), torch.from_numpy(t))
        assert value.item() == pytest.approx(expected, abs=1e-12)


def test_masking_leaves_unrated_utterances_out():
    """An unrated utterance counts for nothing: the loss equals the mean of
    each dimension's loss over its rated utterances alone, does not move
    when the unrated utterances' predictions change, and gives them no
    gradient."""
    pred, true = random_problem(7, n=20, nan_share=0.4)
    pred = torch.from_numpy(pred).requires_grad_(True)
    true = torch.from_numpy(true)
    loss = concordance_loss(pred, true)
    per_dimension = []
    for k in range(3):
        rated = torch.isfinite(true[:, k])
        sub = concordance_loss(
            pred[rated, k : k + 1].detach(), true[rated, k : k + 1]
        )
        per_dimension.append(sub.item())
    assert loss.item() == pytest.approx(np.mean(per_dimension), abs=1e-12)
    loss.backward()
    unrated = ~torch.isfinite(true)
    assert unrated.any() and (pred.grad[unrated] == 0).all()
    assert (pred.grad[~unrated] != 0).any()
    moved = pred.detach().clone()
    moved[unrated] = 123.0
    assert concordance_loss(moved, true).item() == pytest.approx(
        loss.item(), abs=1e-12
    )


@pytest.mark.parametrize("rated", [0, 1])
def test_fewer_than_two_rated_utterances_add_nothing(rated):
    """A batch with fewer than two rated utterances: a zero loss, tied to
    the graph, whose gradient is zero and finite (no NaN, no error)."""
    pred = torch.rand(4, 3, requires_grad=True)
    true = torch.full((4, 3), NAN)
    true[:rated] = 0.5
    loss = concordance_loss(pred, true)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(4, 3))
    ccc, counts = concordance_correlation(pred.detach(), true)
    assert counts.tolist() == [rated] * 3 and ccc.tolist() == [0.0] * 3
    metrics = concordance_metrics(pred.detach(), true)
    assert metrics["CCC_arousal"] is None and metrics["CCC"] is None
    # the recipe's objective is the contrastive loss alone then
    assert dimensional_loss(pred, true, gather=True).item() == 0.0


def test_gradient_against_finite_differences():
    """torch.autograd.gradcheck in float64, unrated cells included, of the
    loss and of each coefficient."""
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(9, 3, dtype=torch.float64, generator=gen)
    pred.requires_grad_(True)
    true = torch.rand(9, 3, dtype=torch.float64, generator=gen)
    true[[1, 4], 0] = NAN
    true[2, 2] = NAN
    assert torch.autograd.gradcheck(
        lambda p: concordance_loss(p, true), (pred,)
    )
    assert torch.autograd.gradcheck(
        lambda p: concordance_correlation(p, true)[0], (pred,)
    )


def test_half_precision_and_shape_errors():
    pred, true = random_problem(3)
    half = torch.from_numpy(pred).to(torch.bfloat16)
    loss = concordance_loss(half, torch.from_numpy(true).float())
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    with pytest.raises(ValueError, match="N x D"):
        concordance_correlation(torch.zeros(3, 3), torch.zeros(3, 2))


# ------------------------------------- the batch gathered across processes

SPLITS = (3, 5)


def _ddp_problem():
    gen = torch.Generator().manual_seed(0)
    n = sum(SPLITS)
    features = torch.randn(n, 6, generator=gen)
    targets = torch.rand(n, 3, generator=gen)
    targets[[0, 4, 7], 1] = NAN  # unrated on both processes
    targets[5, 2] = NAN
    layer = torch.nn.Linear(6, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(3, 6, generator=gen))
        layer.bias.zero_()
    return features, targets, layer


def _ddp_worker(rank, world, init_file, out_dir):
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    features, targets, layer = _ddp_problem()
    start = sum(SPLITS[:rank])
    local = slice(start, start + SPLITS[rank])
    ddp = torch.nn.parallel.DistributedDataParallel(layer)
    avd = torch.sigmoid(ddp(features[local]))
    loss = dimensional_loss(avd, targets[local], gather=True)
    loss.backward()  # DDP averages the gradients over the processes
    alone = dimensional_loss(avd.detach(), targets[local], gather=False)
    torch.save(
        {
            "loss": loss.detach(),
            "alone": alone,
            "grad": layer.weight.grad.clone(),
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_gloo_available(), reason="needs gloo")
def test_ddp_batch_ccc_and_gradients_match_single_process(tmp_path):
    """Two CPU processes (gloo) with uneven batches of 3 and 5: each
    gathers the head's outputs and targets, so its CCC loss is that of the
    global batch of one process, and DDP's averaged gradient is that
    process's gradient; the local batches alone give other losses."""
    features, targets, layer = _ddp_problem()
    avd = torch.sigmoid(layer(features))
    loss = dimensional_loss(avd, targets, gather=False)
    loss.backward()
    mp.spawn(
        _ddp_worker,
        args=(2, str(tmp_path / "init"), str(tmp_path)),
        nprocs=2,
        join=True,
    )
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert result["loss"].item() == pytest.approx(loss.item(), rel=1e-6)
        assert abs(result["alone"].item() - loss.item()) > 1e-3
        torch.testing.assert_close(
            result["grad"], layer.weight.grad, rtol=1e-5, atol=1e-6
        )


# --------------------------------------------------- scales and settings


def test_scale_mapping_round_trip_and_errors():
    assert to_unit(5.0, [1, 5]) == 1.0 and to_unit(1.0, [1, 7]) == 0.0
    values = np.array([1.0, 2.5, 7.0])
    assert np.allclose(from_unit(to_unit(values, [1, 7]), [1, 7]), values)
    tensor = torch.tensor([0.0, 0.5, 1.0])
    assert from_unit(tensor, (1, 5)).tolist() == [1.0, 3.0, 5.0]
    for bad in ([5, 1], [1], "15", [1, float("inf")]):
        with pytest.raises(ValueError, match="avd_scale"):
            to_unit(1.0, bad)
    assert check_rating(None, [1, 5], "x") is None
    assert check_rating(float("nan"), [1, 5], "x") is None
    with pytest.raises(ValueError, match="u7 valence: 'high' is not"):
        check_rating("high", [1, 5], "u7 valence")
    with pytest.raises(ValueError, match="u7 arousal: 0.5 lies outside"):
        check_rating(0.5, [1, 5], "u7 arousal")


def test_settings_that_cannot_work_are_refused():
    check_dimension_settings(False, 0.0, "UAR")
    check_dimension_settings(True, 0.5, "CCC")
    with pytest.raises(ValueError, match="no dimensional head"):
        check_dimension_settings(False, 0.5, "UAR")
    with pytest.raises(ValueError, match="needs the dimensional head"):
        check_dimension_settings(False, 0.0, "UAR_CCC")
    with pytest.raises(ValueError, match="avd_weight > 0"):
        check_dimension_settings(True, 0.0, "UAR")
    with pytest.raises(ValueError, match="selection_key must be one of"):
        check_dimension_settings(True, 0.5, "WAR")
    stats = selection_stats({"UAR": 0.6}, concordance_metrics([], []))
    assert stats["CCC"] is None and stats["UAR_CCC"] is None


def test_dimension_stats_keep_each_utterance():
    stats = DimensionStats()
    stats.append(
        ["a", "b"],
        torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]),
        torch.tensor([[0.0, NAN, 1.0], [1.0, NAN, 0.0]]),
    )
    stats.append(
        ["c"], torch.tensor([[0.7, 0.8, 0.9]]), torch.full((1, 3), NAN)
    )
    assert stats.targets["a"] == [0.0, None, 1.0]
    assert stats.predictions["c"] == pytest.approx([0.7, 0.8, 0.9])
    summary = stats.summarize()
    assert summary["CCC_valence"] is None
    assert summary["CCC_arousal"] == pytest.approx(
        numpy_ccc([0.1, 0.4], [0.0, 1.0])
    )


# ------------------------------------------------------------ the model


@pytest.fixture(scope="module")
def avd_model(tiny_wavlm_dir, tiny_roberta_dir):
    from speechbrain.integrations.huggingface import TextEncoder, WavLM

    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts

    torch.manual_seed(0)
    model = GEmoCLAPModel(
        SSLAudioEncoder(
            WavLM(tiny_wavlm_dir, save_path=tiny_wavlm_dir), 16, dropout=0.1
        ),
        TextPromptEncoder(
            TextEncoder(tiny_roberta_dir, save_path=tiny_roberta_dir), 16
        ),
        emotion_prompts(),
        avd_head=True,
        avd_scale=[1, 7],
        avd_hidden_size=8,
    )
    return model.eval()


def test_model_head_reads_the_pooled_features(avd_model):
    """The head is on the audio side: its outputs are the sigmoid of its
    layers applied to the audio tower's pooled features (the projection
    head's input), on [0, 1] in forward and on the 1-7 scale in predict,
    padded or not."""
    wavs, lens = torch.randn(3, 8000), torch.tensor([1.0, 0.6, 0.8])
    with torch.no_grad():
        out = avd_model(wavs, lens)
        pooled = avd_model.audio_encoder.pool(wavs, lens)
        layers = avd_model.avd_head.projection.layers
        expected = torch.sigmoid(layers(pooled))
        predicted = avd_model.predict(wavs, lens)["avd"]
        alone = avd_model.predict_avd(wavs[1:2, :4800])
    assert torch.allclose(out["avd"], expected, atol=1e-6)
    assert ((out["avd"] > 0) & (out["avd"] < 1)).all()
    assert torch.allclose(predicted, 1 + 6 * expected, atol=1e-5)
    assert torch.allclose(alone[0], predicted[1], atol=1e-4)
    names = [n for n, _ in avd_model.named_parameters() if "avd_head" in n]
    assert len(names) == 4  # two linear layers (hidden_size=8)


def test_model_without_the_head_is_unchanged(tiny_wavlm_dir, tiny_roberta_dir):
    from speechbrain.integrations.huggingface import TextEncoder, WavLM

    from speechbrain_gemo.lobes import SSLAudioEncoder, TextPromptEncoder
    from speechbrain_gemo.model import GEmoCLAPModel
    from speechbrain_gemo.prompts import emotion_prompts

    audio = SSLAudioEncoder(WavLM(tiny_wavlm_dir, save_path=tiny_wavlm_dir), 16)
    text = TextPromptEncoder(
        TextEncoder(tiny_roberta_dir, save_path=tiny_roberta_dir), 16
    )
    model = GEmoCLAPModel(audio, text, emotion_prompts()).eval()
    assert not model.has_avd and model.avd_scale is None
    assert not any("avd" in name for name in model.state_dict())
    with torch.no_grad():
        out = model(torch.randn(2, 8000))
    assert sorted(out) == ["audio_emb", "emotion_prompt_emb", "scale"]
    with pytest.raises(RuntimeError, match="no dimensional head"):
        model.predict_avd(torch.randn(1, 8000))
    with pytest.raises(ValueError, match="avd_head needs avd_scale"):
        GEmoCLAPModel(audio, text, emotion_prompts(), avd_head=True)


# ---------------------------------------------- recipes' targets and data


def test_targets_are_checked_and_mapped_to_the_unit_scale():
    from speechbrain.dataio.dataset import DynamicItemDataset

    from speechbrain_gemo.data.labels import add_dimension_targets

    data = {
        "a": {"emo": "x", "arousal": 7.0, "valence": 1.0, "dominance": 4.0},
        "b": {"emo": "x", "arousal": None, "valence": 2.5},
        "c": {"emo": "x"},
    }
    dataset = DynamicItemDataset(data, output_keys=["id"])
    add_dimension_targets(dataset, [1, 7], "train")
    items = {item["id"]: item["avd"] for item in dataset}
    assert items["a"].tolist() == [1.0, 0.0, 0.5]
    assert math.isnan(items["b"][0]) and items["b"][1] == pytest.approx(0.25)
    assert torch.isnan(items["c"]).all()
    data["d"] = {"emo": "x", "arousal": 7.5}
    with pytest.raises(ValueError, match="valid utterance d: arousal: 7.5"):
        add_dimension_targets(DynamicItemDataset(data), [1, 7], "valid")


def test_csv_columns_arousal_valence_dominance(tmp_path):
    import soundfile

    from speechbrain_gemo.data.csv_corpus import (
        prepare_csv_corpus,
        read_csv_corpus,
    )

    lines = ["path,emotion,speaker,Arousal,valence,dominance"]
    for k in range(6):
        soundfile.write(tmp_path / f"a{k}.wav", np.zeros(1600), 16000)
        rated = "" if k == 5 else f"{1 + k * 0.5},{2 + k * 0.1},3"
        rated = rated or ",,"
        lines.append(f"a{k}.wav,{'xy'[k % 2]},s{k % 3},{rated}")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    entries, _, _ = read_csv_corpus(str(tmp_path / "labels.csv"))
    assert entries["a2.wav"]["arousal"] == 2.0
    assert entries["a2.wav"]["valence"] == pytest.approx(2.2)
    assert entries["a5.wav"]["dominance"] is None
    paths = prepare_csv_corpus(
        str(tmp_path / "labels.csv"), str(tmp_path / "save"), num_folds=3
    )
    manifests = {}
    for path in paths.values():
        with open(path) as f:
            manifests.update(json.load(f))
    assert manifests["a1.wav"]["arousal"] == 1.5
    lines[3] = "a2.wav,x,s2,high,2,3"
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="The arousal 'high' on line 4"):
        read_csv_corpus(str(tmp_path / "labels.csv"))


# ------------------------------------------ checkpoint selection


class TwoTasks(torch.nn.Module):
    """Stands in for GEmoCLAPModel with the dimensional head in the Brain
    hooks: four classes, a 1-5 scale."""

    emotion_labels = ("neu", "hap", "ang", "sad")
    has_avd = True
    avd_scale = (1.0, 5.0)

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def scale(self):
        return torch.tensor(5.0)


def _validate(brain, epoch, good_classes, good_dimensions):
    """One validation stage of 8 utterances whose UAR is 1 or 0.5 and
    whose predictions agree with the ratings or not."""
    from types import SimpleNamespace

    import speechbrain as sb

    emo = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    guess = emo if good_classes else torch.tensor([0, 1, 2, 3, 1, 0, 3, 2])
    true = torch.linspace(0.1, 0.9, 8)[:, None].repeat(1, 3)
    avd = true if good_dimensions else true.flip(0)
    batch = SimpleNamespace(
        id=[f"u{i}" for i in range(8)],
        emo_encoded=SimpleNamespace(data=emo[:, None]),
        gender_encoded=SimpleNamespace(data=torch.zeros(8, 1).long()),
        avd=SimpleNamespace(data=true),
    )
    predictions = {
        "audio_emb": torch.eye(4)[guess],
        "emotion_prompt_emb": torch.eye(4),
        "scale": torch.tensor(5.0),
        "avd": avd,
    }
    brain.on_stage_start(sb.Stage.VALID, epoch=epoch)
    loss = brain.compute_objectives(predictions, batch, sb.Stage.VALID)
    brain.on_stage_end(sb.Stage.VALID, float(loss), epoch=epoch)


@pytest.mark.parametrize("key", ["UAR", "CCC", "UAR_CCC"])
def test_validation_selects_the_checkpoint_on_the_selection_key(key, tmp_path):
    """Epoch 1 classifies perfectly with reversed dimensions (UAR 1, CCC
    -1: UAR_CCC 0), epoch 2 the reverse of half the classes with perfect
    dimensions (UAR 0.5, CCC 1: UAR_CCC 0.75): the checkpoint the test
    stage loads (``find_checkpoint(max_key=selection_key)``, as
    ``evaluate`` does) is epoch 1 for UAR and epoch 2 for CCC and UAR_CCC;
    the logged CCCs and the loss with avd_weight follow the predictions."""
    from speechbrain.utils.epoch_loop import EpochCounter
    from speechbrain.utils.train_logger import FileTrainLogger
    from test_recipe import RecordingScheduler, load_train_module

    from speechbrain_gemo.checkpoints import CompleteCheckpointer
    from speechbrain_gemo.losses import GEmoCLAPLoss

    train = load_train_module()
    model = TwoTasks()
    counter = EpochCounter(2)
    checkpointer = CompleteCheckpointer(
        str(tmp_path / "save"), {"model": model, "counter": counter}
    )
    hparams = {
        "compute_cost": GEmoCLAPLoss("emo"),
        "gather_across_processes": False,
        "annealing_metric": "ce",
        "lr_annealing": RecordingScheduler(),
        "train_logger": FileTrainLogger(str(tmp_path / "train_log.txt")),
        "avd_weight": 0.5,
        "selection_key": key,
    }
    brain = train.GEmoCLAPBrain(
        modules={"model": model},
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )
    brain.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    brain.train_stats = {"loss": 1.0}
    saved = []
    save = checkpointer.save_and_keep_only

    def spy(**kwargs):
        saved.append(kwargs)
        return save(**kwargs)

    checkpointer.save_and_keep_only = spy
    for epoch, good in ((1, (True, False)), (2, (False, True))):
        counter.current = epoch
        _validate(brain, epoch, *good)
    first, second = (kwargs["meta"] for kwargs in saved)
    assert {kwargs["max_keys"][0] for kwargs in saved} == {key}
    assert first["UAR"] == 1.0 and second["UAR"] == 0.5
    assert first["CCC_arousal"] == pytest.approx(-1.0)
    assert first["UAR_CCC"] == pytest.approx(0.0, abs=1e-6)
    assert second["CCC"] == pytest.approx(1.0)
    assert second["UAR_CCC"] == pytest.approx(0.75)
    chosen = checkpointer.find_checkpoint(max_key=key)
    assert chosen.meta["UAR"] == (1.0 if key == "UAR" else 0.5)
    with open(tmp_path / "train_log.txt") as f:
        log = f.read()
    assert "valid CCC_arousal: -1.00e+00" in log


def test_the_dimensional_loss_is_added_with_its_weight(tmp_path):
    """compute_objectives = contrastive loss + avd_weight * (mean of 1 -
    CCC), the second computed here with the numpy formula."""
    from types import SimpleNamespace

    import speechbrain as sb
    from test_recipe import load_train_module

    from speechbrain_gemo.losses import GEmoCLAPLoss

    train = load_train_module()
    hparams = {
        "compute_cost": GEmoCLAPLoss("emo"),
        "gather_across_processes": True,
        "avd_weight": 0.3,
    }
    brain = train.GEmoCLAPBrain(
        modules={"model": TwoTasks()},
        hparams=hparams,
        run_opts={"device": "cpu"},
    )
    emo = torch.tensor([0, 1, 2, 3, 0])
    pred, true = random_problem(11, n=5, nan_share=0.2)
    batch = SimpleNamespace(
        id=list("abcde"),
        emo_encoded=SimpleNamespace(data=emo[:, None]),
        gender_encoded=SimpleNamespace(data=torch.zeros(5, 1).long()),
        avd=SimpleNamespace(data=torch.from_numpy(true).float()),
    )
    predictions = {
        "audio_emb": torch.nn.functional.normalize(torch.randn(5, 4), dim=-1),
        "emotion_prompt_emb": torch.eye(4),
        "scale": torch.tensor(5.0),
        "avd": torch.from_numpy(pred).float(),
    }
    total = brain.compute_objectives(predictions, batch, sb.Stage.TRAIN)
    contrastive = GEmoCLAPLoss("emo")(
        predictions["audio_emb"], torch.eye(4), emo, 5.0
    )
    ccc = [numpy_ccc(pred[:, k], true[:, k]) for k in range(3)]
    expected = contrastive.item() + 0.3 * np.mean([1 - c for c in ccc])
    assert total.item() == pytest.approx(expected, abs=1e-5)


# -------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A tiny export with the dimensional head (no gender) and its ONNX
    folder, and one without the head."""
    from speechbrain_gemo.export import save_tiny_export
    from speechbrain_gemo.onnx import export_onnx

    root = tmp_path_factory.mktemp("avd_exports")
    with_head = save_tiny_export(str(root / "avd"), gender=False, avd=True)
    without = save_tiny_export(str(root / "plain"), gender=False)
    return {
        "avd": with_head,
        "avd_onnx": export_onnx(with_head, str(root / "avd_onnx")),
        "plain": without,
        "plain_onnx": export_onnx(without, str(root / "plain_onnx")),
    }


def test_pytorch_values_against_plain_math(exports):
    """``predict_file`` gives the head of the export's weights applied to
    the mean of the SSL model's frames (the Hugging Face model called
    directly), mapped to 1-5: 1 + 4 * sigmoid(W pooled + b)."""
    import soundfile
    import transformers

    from speechbrain_gemo.inference import GEmoCLAP

    folder = exports["avd"]
    heads = torch.load(f"{folder}/model.ckpt", weights_only=True)
    ssl = transformers.AutoModel.from_pretrained(f"{folder}/ssl_model").eval()
    model = GEmoCLAP.from_hparams(source=folder)
    assert model.has_avd and model.avd_scale == (1.0, 5.0)
    rng = np.random.default_rng(0)
    wav = (0.1 * rng.standard_normal(12000)).astype("float32")
    path = os.path.join(folder, "..", "one.wav")
    soundfile.write(path, wav, 16000, subtype="FLOAT")
    out = model.predict_file(path)
    x = torch.from_numpy(wav)
    x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-5)
    with torch.no_grad():
        pooled = ssl(x[None]).last_hidden_state[0].mean(0)
    weight = heads["avd_head.projection.layers.1.weight"]
    bias = heads["avd_head.projection.layers.1.bias"]
    expected = 1 + 4 * torch.sigmoid(pooled @ weight.T + bias)
    for k, name in enumerate(DIMENSIONS):
        assert float(out[name][0]) == pytest.approx(
            float(expected[k]), abs=1e-5
        )
    with open(f"{folder}/README.md") as f:
        assert "arousal, valence and dominance" in f.read()


def test_onnx_parity_of_the_three_values(exports):
    """The ONNX graph and EmotionClassifierONNX give PyTorch's arousal,
    valence and dominance within 1e-4, on a padded batch and on a long
    item cut in windows; config.json names the scale."""
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    ref = GEmoCLAP.from_hparams(source=exports["avd"])
    onnx_model = EmotionClassifierONNX(exports["avd_onnx"], precision="fp32")
    assert onnx_model.has_avd and onnx_model.avd_scale == (1.0, 5.0)
    gen = torch.Generator().manual_seed(3)
    wavs = torch.randn(3, 12000, generator=gen)
    lens = torch.tensor([1.0, 0.55, 0.8])
    cases = [
        ((wavs, lens), {}),
        (
            (torch.randn(2, 40000, generator=gen), torch.tensor([1.0, 0.3])),
            {"window_seconds": 1.0, "overlap_seconds": 0.25},
        ),
    ]
    for (w, lengths), kwargs in cases:
        expected = ref.predict_batch(w, lengths, **kwargs)
        got = onnx_model.predict_batch(w.numpy(), lengths.numpy(), **kwargs)
        for name in DIMENSIONS:
            np.testing.assert_allclose(
                got[name], expected[name].numpy(), atol=1e-4
            )
            assert ((got[name] >= 1) & (got[name] <= 5)).all()
    with open(os.path.join(exports["avd_onnx"], "config.json")) as f:
        config = json.load(f)
    assert config["avd_scale"] == [1.0, 5.0]
    assert config["dimensions"] == list(DIMENSIONS)


def test_exports_without_the_head_behave_as_before(exports, tmp_path):
    """No dimension in either backend's outputs, the ONNX config or the
    ``infer`` CSV; an export written before the head existed (its
    hyperparams.yaml without the avd keys) loads and predicts the same."""
    import shutil

    import soundfile

    from speechbrain_gemo.infer import main
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    wav = torch.randn(1, 8000)
    model = GEmoCLAP.from_hparams(source=exports["plain"])
    out = model.predict_batch(wav)
    assert not model.has_avd and not set(DIMENSIONS) & set(out)
    onnx_model = EmotionClassifierONNX(exports["plain_onnx"])
    assert not onnx_model.has_avd
    assert not set(DIMENSIONS) & set(onnx_model.predict_batch(wav.numpy()))
    with open(os.path.join(exports["plain_onnx"], "config.json")) as f:
        assert "avd_scale" not in json.load(f)
    old = tmp_path / "old"
    shutil.copytree(exports["plain"], old)
    text = (old / "hyperparams.yaml").read_text()
    kept = [line for line in text.splitlines() if "avd_" not in line]
    assert len(kept) < len(text.splitlines()) - 7
    (old / "hyperparams.yaml").write_text("\n".join(kept) + "\n")
    before = GEmoCLAP.from_hparams(source=str(old)).predict_batch(wav)
    assert torch.allclose(before["probs"], out["probs"], atol=1e-6)
    path = str(tmp_path / "a.wav")
    soundfile.write(path, wav[0].numpy(), 16000)
    main(
        [
            "--model",
            exports["plain"],
            path,
            "--out",
            str(tmp_path / "p.csv"),
            "--no-progress",
        ]
    )
    with open(tmp_path / "p.csv") as f:
        header = next(csv.reader(f))
    assert not set(DIMENSIONS) & set(header)


def test_infer_csv_carries_the_three_values(exports, tmp_path):
    """Per-file rows of both backends have ``arousal``, ``valence``,
    ``dominance``, those of each backend's ``predict_file`` (16 kHz, 8 kHz
    and 44.1 kHz stereo files), within 1e-4 of each other on the 16 kHz
    file (each backend resamples with its own library); a file that fails
    has them empty."""
    import soundfile

    from speechbrain_gemo.infer import main
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    rng = np.random.default_rng(1)
    paths = []
    for k, (rate, channels) in enumerate([(16000, 1), (8000, 1), (44100, 2)]):
        path = str(tmp_path / f"f{k}.wav")
        audio = 0.1 * rng.standard_normal((rate, channels))
        soundfile.write(path, audio.astype("float32"), rate)
        paths.append(path)
    broken = str(tmp_path / "broken.wav")
    with open(broken, "wb") as f:
        f.write(b"not audio")
    rows = {}
    for backend, folder in (("pytorch", "avd"), ("onnx", "avd_onnx")):
        out = str(tmp_path / f"{backend}.csv")
        args = ["--model", exports[folder], *paths, broken, "--out", out]
        assert main(args + ["--backend", backend, "--no-progress"]) == 0
        with open(out, newline="") as f:
            rows[backend] = {r["path"]: r for r in csv.DictReader(f)}
    models = {
        "pytorch": GEmoCLAP.from_hparams(source=exports["avd"]),
        "onnx": EmotionClassifierONNX(exports["avd_onnx"]),
    }
    for backend, model in models.items():
        for path in paths:
            expected = model.predict_file(path)
            for name in DIMENSIONS:
                value = float(rows[backend][path][name])
                assert value == pytest.approx(
                    float(expected[name][0]), abs=1e-6
                )
    for name in DIMENSIONS:
        assert float(rows["onnx"][paths[0]][name]) == pytest.approx(
            float(rows["pytorch"][paths[0]][name]), abs=1e-4
        )
    for backend in rows:
        failed = rows[backend][broken]
        assert failed["error"] and all(failed[n] == "" for n in DIMENSIONS)


# ----------------------------------------------------- timelines and plots

# Segments of the test recordings: two speakers, gaps wider than
# --merge_gap so that each stays a segment of its own
SEGMENTS = [(0.0, 1.5, "A"), (2.25, 3.5, "B"), (4.25, 6.0, "A")]


def _recordings(folder):
    """A 16 kHz mono, an 8 kHz mu-law and a 44.1 kHz stereo recording
    (7 s of noise whose loudness and colour change along the way, so that
    the segments differ), a broken file, and a segment list of them all."""
    import soundfile

    rng = np.random.default_rng(5)
    paths = []
    for name, rate, channels, subtype in (
        ("mono16k.wav", 16000, 1, "FLOAT"),
        ("mulaw8k.wav", 8000, 1, "ULAW"),
        ("stereo44k.wav", 44100, 2, "PCM_16"),
    ):
        t = np.arange(7 * rate) / rate
        noise = rng.standard_normal((len(t), channels))
        colour = np.cumsum(noise, axis=0) / np.sqrt(rate)
        loud = (0.05 + 0.2 * (t > 2.0) + 0.1 * (t > 4.0))[:, None]
        audio = loud * (noise + 20 * colour * (t > 4.0)[:, None])
        path = os.path.join(folder, name)
        soundfile.write(path, np.clip(audio, -0.9, 0.9), rate, subtype=subtype)
        paths.append(path)
    broken = os.path.join(folder, "broken.wav")
    with open(broken, "wb") as f:
        f.write(b"RIFF not audio")
    listing = os.path.join(folder, "segments.csv")
    with open(listing, "w") as f:
        f.write("path,start,end,speaker\n")
        for path in paths + [broken]:
            for start, end, who in SEGMENTS:
                f.write(f"{path},{start},{end},{who}\n")
    return paths, broken, listing


def _timeline_models(exports, key):
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    return {
        "pytorch": GEmoCLAP.from_hparams(source=exports[key]),
        "onnx": EmotionClassifierONNX(exports[f"{key}_onnx"]),
    }


def _segment_list():
    from speechbrain_gemo.segments import Segment

    return [Segment(start, end, who) for start, end, who in SEGMENTS]


def test_timelines_carry_the_three_values_on_both_backends(exports, tmp_path):
    """The Python timeline's segment rows carry arousal, valence and
    dominance on both backends: each backend's values are its own
    ``predict_batch`` on the segment cut out of the file, and the two
    backends agree within 1e-4; ``infer --timeline`` writes them before
    ``error`` (16 kHz, 8 kHz mu-law and 44.1 kHz stereo recordings), empty
    for a recording that fails."""
    import soundfile

    from speechbrain_gemo.infer import main
    from speechbrain_gemo.timeline import recording_timeline

    paths, broken, listing = _recordings(str(tmp_path))
    models = _timeline_models(exports, "avd")
    timelines = {
        backend: {p: recording_timeline(m, p, _segment_list()) for p in paths}
        for backend, m in models.items()
    }
    audio, rate = soundfile.read(paths[0], dtype="float32")
    for backend, model in models.items():
        rows = timelines[backend][paths[0]]
        assert [(r["start"], r["end"]) for r in rows] == [
            (s, e) for s, e, _ in SEGMENTS
        ]
        for row in rows:
            cut = audio[int(row["start"] * rate) : int(row["end"] * rate)]
            alone = model.predict_batch(cut[None])
            for name in DIMENSIONS:
                assert 1.0 <= row[name] <= 5.0
                assert row[name] == pytest.approx(
                    float(alone[name][0]), abs=1e-5
                )
    for one, other in zip(
        timelines["pytorch"][paths[0]], timelines["onnx"][paths[0]]
    ):
        for name in DIMENSIONS:
            assert one[name] == pytest.approx(other[name], abs=1e-4)
    # the segments differ: the values are the segments', not one file's
    arousal = [r["arousal"] for r in timelines["pytorch"][paths[0]]]
    assert max(arousal) - min(arousal) > 1e-3
    for backend in models:
        out = str(tmp_path / f"{backend}.csv")
        folder = exports["avd" if backend == "pytorch" else "avd_onnx"]
        args = ["--model", folder, "--segments", listing, "--out", out]
        args += ["--no-progress"]
        assert main(args + ["--backend", backend]) == 0
        with open(out, newline="") as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames[-4:] == [*DIMENSIONS, "error"]
            assert reader.fieldnames[:4] == ["path", "start", "end", "speaker"]
            rows = list(reader)
        for path in paths:
            mine = [r for r in rows if r["path"] == path]
            assert len(mine) == len(SEGMENTS)
            for got, expected in zip(mine, timelines[backend][path]):
                assert not got["error"]
                for name in DIMENSIONS:
                    assert float(got[name]) == pytest.approx(
                        expected[name], abs=1e-6
                    )
        (failed,) = [r for r in rows if r["path"] == broken]
        assert failed["error"] and all(failed[n] == "" for n in DIMENSIONS)


def test_timeline_csv_without_the_head_is_as_before(exports, tmp_path):
    """A model without the head: no dimension in the timeline rows and
    the ``infer --timeline`` CSV byte for byte the layout it had before
    the head existed (written out here by hand from the rows)."""
    from speechbrain_gemo.infer import main
    from speechbrain_gemo.timeline import recording_timeline

    paths, broken, listing = _recordings(str(tmp_path))
    for backend, model in _timeline_models(exports, "plain").items():
        expected = [
            "path,start,end,speaker,label,score,"
            + ",".join(f"prob_{c}" for c in model.labels)
            + ",error"
        ]
        for path in paths:
            for row in recording_timeline(model, path, _segment_list()):
                assert not set(DIMENSIONS) & set(row)
                cells = [path, f"{row['start']:.3f}", f"{row['end']:.3f}"]
                cells += [row["speaker"], row["label"], f"{row['score']:.6f}"]
                cells += [f"{row['probs'][c]:.6f}" for c in model.labels]
                expected.append(",".join(cells) + ",")
        out = tmp_path / f"{backend}.csv"
        folder = exports["plain" if backend == "pytorch" else "plain_onnx"]
        args = ["--model", folder, "--segments", listing, "--out", str(out)]
        assert main(args + ["--backend", backend, "--no-progress"]) == 0
        text = out.read_text()
        (failed,) = [line for line in text.splitlines() if broken in line]
        (cells,) = csv.reader([failed])
        assert len(cells) == 7 + len(model.labels)
        assert cells[-1].startswith("AudioReadError") and not any(cells[1:-1])
        kept = [line for line in text.splitlines() if broken not in line]
        assert "\n".join(kept) + "\n" == "\n".join(expected) + "\n"


@pytest.mark.parametrize("backend", ["pytorch", "onnx"])
def test_plots_draw_a_panel_of_the_three_values(
    exports, tmp_path, monkeypatch, backend
):
    """``--plot``: a head model's figure has, under the speakers' class
    lanes, a panel with a line per dimension and speaker holding each
    segment's value over its time, on the model's scale (its limits and
    label); a model without the head has the class lanes only."""
    from speechbrain_gemo import plotting
    from speechbrain_gemo.infer import main

    paths, _, _ = _recordings(str(tmp_path))
    listing = tmp_path / "one.csv"
    listing.write_text(
        "path,start,end,speaker\n"
        + "".join(f"{paths[0]},{s},{e},{who}\n" for s, e, who in SEGMENTS)
    )
    figures = []
    draw = plotting.timeline_figure

    def keep(*args, **kwargs):
        figures.append(draw(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(plotting, "timeline_figure", keep)
    suffix = "" if backend == "pytorch" else "_onnx"
    for key in ("avd", "plain"):
        out, plots = tmp_path / f"{key}.csv", tmp_path / f"{key}_plots"
        args = ["--model", exports[key + suffix], "--segments", str(listing)]
        args += ["--out", str(out), "--plot", str(plots), "--no-progress"]
        assert main(args + ["--backend", backend]) == 0
        assert (plots / "mono16k.png").read_bytes()[:4] == b"\x89PNG"
    with_head, without = figures
    assert len(without.axes) == 2  # the lanes of A and B
    assert [ax.get_ylabel() for ax in without.axes] == [
        "A\np(class)",
        "B\np(class)",
    ]
    assert len(with_head.axes) == 3
    assert [ax.get_ylabel() for ax in with_head.axes[:2]] == [
        "A\np(class)",
        "B\np(class)",
    ]
    panel = with_head.axes[2]
    assert panel.get_ylim() == (1.0, 5.0)
    assert "1-5" in panel.get_ylabel()
    assert panel.get_xlabel() == "time (s)"
    with open(tmp_path / "avd.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lines = {line.get_label(): line for line in panel.get_lines()}
    assert sorted(lines) == sorted(
        f"{name} ({who})" for name in DIMENSIONS for who in "AB"
    )
    for name in DIMENSIONS:
        for who in "AB":
            ys = np.asarray(lines[f"{name} ({who})"].get_ydata(), float)
            xs = np.asarray(lines[f"{name} ({who})"].get_xdata(), float)
            mine = [r for r in rows if r["speaker"] == who]
            np.testing.assert_allclose(
                ys[np.isfinite(ys)],
                np.repeat([float(r[name]) for r in mine], 2),
                atol=1e-6,
            )
            np.testing.assert_allclose(
                xs[np.isfinite(xs)],
                [float(r[k]) for r in mine for k in ("start", "end")],
                atol=1e-3,
            )


@pytest.mark.parametrize("backend", ["pytorch", "onnx"])
def test_call_summary_carries_the_speakers_duration_weighted_means(
    exports, tmp_path, backend
):
    """``--summary``: per recording and speaker, ``mean_arousal``,
    ``mean_valence``, ``mean_dominance`` are the speaker's segment values
    weighted by segment seconds (computed here from the Python timeline's
    rows; a plain mean would differ); a model without the head has no
    such column."""
    from speechbrain_gemo.infer import main
    from speechbrain_gemo.segments import Segment
    from speechbrain_gemo.timeline import recording_timeline

    paths, _, _ = _recordings(str(tmp_path))
    spans = [(0.0, 1.0, "A"), (1.5, 3.5, "B"), (4.0, 7.0, "A")]
    listing = tmp_path / "calls.csv"
    listing.write_text(
        "path,start,end,speaker\n"
        + "".join(f"{p},{s},{e},{w}\n" for p in paths for s, e, w in spans)
    )
    models = _timeline_models(exports, "avd")
    suffix = "" if backend == "pytorch" else "_onnx"
    tables = {}
    for key in ("avd", "plain"):
        out, summary = tmp_path / f"{key}.csv", tmp_path / f"{key}_sum.csv"
        args = ["--model", exports[key + suffix], "--segments", str(listing)]
        args += ["--out", str(out), "--summary", str(summary)]
        assert main(args + ["--backend", backend, "--no-progress"]) == 0
        with open(summary, newline="") as f:
            tables[key] = list(csv.DictReader(f))
    assert not any(k.startswith("mean_") for k in tables["plain"][0])
    assert len(tables["avd"]) == 2 * len(paths)
    for path in paths:
        rows = recording_timeline(
            models[backend], path, [Segment(*span) for span in spans]
        )
        for who in "AB":
            mine = [r for r in rows if r["speaker"] == who]
            seconds = np.array([r["end"] - r["start"] for r in mine])
            (entry,) = [
                e
                for e in tables["avd"]
                if e["path"] == path and e["speaker"] == who
            ]
            for name in DIMENSIONS:
                values = np.array([r[name] for r in mine])
                weighted = float((values * seconds).sum() / seconds.sum())
                assert float(entry[f"mean_{name}"]) == pytest.approx(
                    weighted, abs=1e-4
                )
                if who == "A" and name == "arousal" and path == paths[0]:
                    assert abs(weighted - values.mean()) > 3e-4


def test_sliding_windows_and_events_carry_the_three_values(exports, tmp_path):
    """``--sliding_window`` rows (``timeline.sliding_timeline``, per
    channel as roles) of a head model carry arousal, valence and dominance
    on both backends: each window's values are the model's on the window
    cut out of its channel; the server's ``emotion`` event of a row
    (``rows.emotion_event``) carries the row's values, and ``infer
    --sliding_window`` writes them before ``error``."""
    import soundfile

    from speechbrain_gemo.infer import main
    from speechbrain_gemo.rows import emotion_event
    from speechbrain_gemo.testing import two_party_call
    from speechbrain_gemo.timeline import sliding_timeline

    call = two_party_call(utterances=3, seed=1)
    path = str(tmp_path / "call.wav")
    soundfile.write(path, call, 16000, subtype="FLOAT")
    roles = ["agent", "customer"]
    options = {"window": 3.0, "hop": 1.0, "channels": roles}
    models = _timeline_models(exports, "avd")
    for backend, model in models.items():
        rows = sliding_timeline(model, path, dict(options))
        done = [r for r in rows if not r["error"]]
        assert len(done) >= 4 and {r["speaker"] for r in done} == set(roles)
        for row in done:
            channel = roles.index(row["speaker"])
            first, last = round(row["start"] * 16000), round(row["end"] * 16000)
            alone = model.predict_batch(call[first:last, channel][None])
            event = emotion_event(row)
            for name in DIMENSIONS:
                assert row[name] == pytest.approx(
                    float(alone[name][0]), abs=1e-5
                )
                assert event[name] == row[name]
        out = str(tmp_path / f"{backend}.csv")
        folder = exports["avd" if backend == "pytorch" else "avd_onnx"]
        args = ["--model", folder, "--timeline", path, "--out", out]
        args += ["--sliding_window", "3", "--hop", "1", "--channels"]
        args += [",".join(roles), "--backend", backend, "--no-progress"]
        assert main(args) == 0
        with open(out, newline="") as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames[-4:] == [*DIMENSIONS, "error"]
            written = list(reader)
        assert len(written) == len(rows)
        for got, row in zip(written, rows):
            for name in DIMENSIONS:
                assert float(got[name]) == pytest.approx(row[name], abs=1e-6)


def test_server_timeline_and_call_files_carry_the_three_values(
    exports, tmp_path
):
    """The server with a head model: ``POST /v1/timeline`` records carry
    each window's arousal, valence and dominance (those of
    ``sliding_timeline`` on the same upload), and a finished call's files
    (``serve.calls.write_call``) have the three columns before ``error``
    and the summary's per-role means."""
    import io

    import soundfile
    from starlette.testclient import TestClient

    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.serve.app import Server, ServerOptions, build_app
    from speechbrain_gemo.serve.calls import write_call
    from speechbrain_gemo.summaries import call_summary
    from speechbrain_gemo.testing import two_party_call
    from speechbrain_gemo.timeline import sliding_timeline

    buffer = io.BytesIO()
    soundfile.write(
        buffer, two_party_call(utterances=3, seed=2), 16000, format="WAV"
    )
    data = buffer.getvalue()
    model = GEmoCLAP.from_hparams(source=exports["avd"])
    server = Server(model, ServerOptions())
    with TestClient(build_app(server)) as client:
        reply = client.post(
            "/v1/timeline?channels=agent,customer&name=call.wav", content=data
        )
    assert reply.status_code == 200, reply.text
    records = reply.json()["rows"]
    options = {"window": 3.0, "hop": 1.0, "channels": ["agent", "customer"]}
    options.update(threshold=0.5, crosstalk_db=10.0, max_batch_size=8)
    rows = sliding_timeline(model, "call.wav", options, io.BytesIO(data))
    done = [r for r in rows if not r["error"]]
    assert len(records) == len(rows) and len(done) >= 4
    for record, row in zip(records, rows):
        assert list(record)[-4:] == [*DIMENSIONS, "error"]
        for name in DIMENSIONS:
            assert record[name] == pytest.approx(row.get(name), abs=1e-5)
    from types import SimpleNamespace

    engine = SimpleNamespace(
        roles=["agent", "customer"],
        channels=2,
        window_seconds=3.0,
        hop_seconds=1.0,
        seconds=10.0,
    )
    session = SimpleNamespace(
        call_id="c1",
        source="stream",
        engine=engine,
        sample_rate=16000,
        encoding="pcm_s16le",
        windows=len(rows),
        events=len(rows),
        dropped=0,
        outbox=SimpleNamespace(qsize=lambda: 0),
        ended=True,
        started_at=0.0,
        ended_at=1.0,
    )
    labels = list(model.labels)
    summary = call_summary(rows, labels)
    files = write_call(
        str(tmp_path), session, rows, summary, labels, False, True
    )
    with open(files[0], newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[-4:] == [*DIMENSIONS, "error"]
        written = list(reader)
    assert len(written) == len(rows)
    for got, row in zip(written, done):
        assert (float(got["start"]), got["speaker"]) == (
            pytest.approx(row["start"], abs=1e-3),
            row["speaker"],
        )
        for name in DIMENSIONS:
            assert float(got[name]) == pytest.approx(row[name], abs=1e-6)
    with open(files[1], newline="") as f:
        table = list(csv.DictReader(f))
    assert {e["speaker"] for e in table} == {"agent", "customer"}
    assert all(e[f"mean_{name}"] for e in table for name in DIMENSIONS)


def test_streamed_call_events_and_files_carry_the_three_values(
    exports, tmp_path
):
    """A call streamed to the server (in process) with a head model: every
    ``emotion`` event carries arousal, valence and dominance, the summary
    event their per-role means, and the call's CSV in ``--out_dir`` the
    three columns with the events' values."""
    import json

    from starlette.testclient import TestClient

    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.serve.app import Server, ServerOptions, build_app
    from speechbrain_gemo.testing import two_party_call

    call = two_party_call(utterances=3, seed=4)
    data = (np.clip(call, -1, 1) * 32767).astype("<i2").tobytes()
    model = GEmoCLAP.from_hparams(source=exports["avd"])
    server = Server(model, ServerOptions(out_dir=str(tmp_path / "calls")))
    start = {
        "type": "start",
        "sample_rate": 16000,
        "encoding": "pcm_s16le",
        "channels": 2,
        "roles": ["agent", "customer"],
        "call_id": "c1",
    }
    events = []
    with TestClient(build_app(server)) as client:
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_text(json.dumps(start))
            for first in range(0, len(data), 6400):
                ws.send_bytes(data[first : first + 6400])
            ws.send_text(json.dumps({"type": "stop"}))
            while not events or events[-1]["type"] != "summary":
                events.append(json.loads(ws.receive_text()))
    emotions = [e for e in events if e["type"] == "emotion"]
    assert len(emotions) >= 4
    for event in emotions:
        assert all(1.0 <= event[name] <= 5.0 for name in DIMENSIONS)
    speakers = events[-1]["speakers"]
    assert set(speakers) == {"agent", "customer"}
    for fields in speakers.values():
        assert set(fields["means"]) == set(DIMENSIONS)
        assert all(1.0 <= v <= 5.0 for v in fields["means"].values())
    with open(tmp_path / "calls" / "c1.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[-4:] == [*DIMENSIONS, "error"]
        written = [r for r in reader if not r["error"]]
    assert len(written) == len(emotions)
    for got, event in zip(written, emotions):
        assert got["speaker"] == event["speaker"]
        for name in DIMENSIONS:
            assert float(got[name]) == pytest.approx(event[name], abs=1e-6)


# --------------------------------------------------- the synthetic corpus


def test_synthetic_ratings_follow_emotion_and_speaking_style():
    """The demo corpus' ratings (the label line's [V, A, D]) are not a
    copy of the class label: within a class, activation varies and rises
    with the speaking style's activation cues; across classes it follows
    the emotion (angry above sad)."""
    from speechbrain_gemo.data import synthetic

    plan = synthetic.plan_corpus(utterances_per_speaker=32)
    by_class = {}
    for p in plan:
        if p.label not in synthetic.CLASSES:
            continue
        style = synthetic.speaking_style(
            p.prosody, synthetic.EMOTION_PROSODY[p.label], p.speaker
        )
        weights = synthetic.STYLE_WEIGHTS["activation"]
        cue = sum(w * style[name] for name, w in weights.items())
        by_class.setdefault(p.label, []).append((cue, p.vad[1]))
    for label, pairs in by_class.items():
        cues, arousal = np.array(pairs).T
        assert arousal.std() > 0.2, label
        assert np.corrcoef(cues, arousal)[0, 1] > 0.2, label
    mean = {k: np.mean([a for _, a in v]) for k, v in by_class.items()}
    assert mean["ang"] > mean["neu"] > mean["sad"]


def test_synthetic_style_and_rating_rules():
    from speechbrain_gemo.data import synthetic

    speaker = synthetic.SPEAKERS[3]
    base = synthetic.EMOTION_PROSODY["hap"]
    typical = synthetic.Prosody(
        base.rate * speaker.rate_factor,
        base.pitch + speaker.pitch_offset,
        base.pitch_range + speaker.range_offset,
        base.volume,
        base.word_gap,
        base.tilt,
    )
    style = synthetic.speaking_style(typical, base, speaker)
    assert all(abs(v) < 1e-9 for v in style.values())
    # no noise: the emotion's typical value; noise moves each annotator
    quiet = [("E1", (0.0, 0.0, 0.0)), ("E2", (0.0, 0.0, 0.0))]
    assert synthetic.rate_attributes("sad", style, quiet)[1] == (2.0, 2.0, 2.0)
    noisy = [("E1", (0.0, 2 / synthetic.ANNOTATOR_NOISE, 0.0)), quiet[1]]
    attributes, vad = synthetic.rate_attributes("sad", style, noisy)
    assert attributes[0][1] == (2, 4, 2) and vad == (2.0, 3.0, 2.0)
    # ratings stay whole numbers within 1-5
    wild = [("E1", (-99.0, 99.0, 0.0))]
    assert synthetic.rate_attributes("ang", style, wild)[0][0][1][:2] == (1, 5)


# ------------------------------------------------------------ end to end


def _recompute_ccc(rows, name):
    pred = [float(r[name]) for r in rows]
    true = [
        float(r[f"true_{name}"]) if r[f"true_{name}"] else NAN for r in rows
    ]
    return numpy_ccc(pred, true)


def _check_run(output, scale, manifest):
    """test_metrics.json's CCCs equal those recomputed from
    test_predictions.csv, whose true values are the manifest's; the model
    card gives them; returns the prediction rows."""
    with open(os.path.join(output, "test_metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(output, "test_predictions.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(manifest) as f:
        test = json.load(f)
    assert sorted(r["ID"] for r in rows) == sorted(test)
    for r in rows:
        for name in DIMENSIONS:
            assert scale[0] <= float(r[name]) <= scale[1]
            assert float(r[f"true_{name}"]) == pytest.approx(
                test[r["ID"]][name]
            )
    with open(os.path.join(output, "export", "README.md")) as f:
        card = f.read()
    for name in DIMENSIONS:
        ccc = metrics[f"CCC_{name}"]
        assert ccc == pytest.approx(_recompute_ccc(rows, name), abs=1e-4)
        assert f"| CCC {name} | {ccc:.3f} |" in card
    with open(os.path.join(output, "train_log.txt")) as f:
        assert "valid CCC_arousal" in f.read()
    return rows


@pytest.mark.slow
@pytest.mark.xdist_group("recipe")
def test_iemocap_avd_recipe_trains_tests_exports_and_predicts(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """``train.py hparams/sl_wavlm_avd.yaml`` on an IEMOCAP-layout tree
    (ratings from the label lines' [V, A, D]): trains, tests and exports
    with the CCCs; the export predicts the test utterances' values through
    PyTorch (as in test_predictions.csv), ONNX (within 1e-4) and infer."""
    from test_recipe import run_train

    from speechbrain_gemo.infer import main
    from speechbrain_gemo.inference import GEmoCLAP
    from speechbrain_gemo.onnx import export_onnx
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX
    from speechbrain_gemo.testing import write_tiny_iemocap

    corpus = str(tmp_path / "iemocap")
    write_tiny_iemocap(corpus, utterances_per_speaker=6)
    output = str(tmp_path / "out")
    run_train(
        ["hparams/sl_wavlm_avd.yaml", "--number_of_epochs=1"],
        corpus,
        tiny_wavlm_dir,
        tiny_roberta_dir,
        output,
    )
    rows = _check_run(output, (1, 5), os.path.join(output, "save", "test.json"))
    with open(os.path.join(output, "save", "test.json")) as f:
        test = json.load(f)
    wavs = [
        test[r["ID"]]["wav"].replace("{data_root}", corpus) for r in rows[:3]
    ]
    model = GEmoCLAP.from_hparams(source=os.path.join(output, "export"))
    onnx_dir = export_onnx(
        os.path.join(output, "export"), str(tmp_path / "onnx")
    )
    onnx_model = EmotionClassifierONNX(onnx_dir)
    csv_out = str(tmp_path / "infer.csv")
    assert (
        main(
            [
                "--model",
                os.path.join(output, "export"),
                *wavs,
                "--out",
                csv_out,
                "--no-progress",
            ]
        )
        == 0
    )
    with open(csv_out, newline="") as f:
        inferred = {r["path"]: r for r in csv.DictReader(f)}
    for row, wav in zip(rows, wavs):
        torch_out = model.predict_file(wav)
        onnx_out = onnx_model.predict_file(wav)
        for name in DIMENSIONS:
            value = float(torch_out[name][0])
            assert value == pytest.approx(float(row[name]), abs=1e-4)
            assert float(onnx_out[name][0]) == pytest.approx(value, abs=1e-4)
            assert float(inferred[wav][name]) == pytest.approx(value, abs=1e-5)


@pytest.mark.slow
@pytest.mark.xdist_group("recipe")
def test_msp_podcast_avd_recipe_on_its_1_to_7_scale(
    tiny_wavlm_dir, tiny_roberta_dir, tmp_path
):
    """``train.py hparams/sl_wavlm_avd.yaml`` on an MSP-Podcast-layout tree
    (EmoAct, EmoVal, EmoDom on 1-7; unknown speakers and genders): trains,
    tests and exports with the CCCs; the export's predictions are on
    1-7."""
    from test_corpus_recipes import msp_rows, run_script, tiny_args
    from test_msp_podcast_prepare import build_tree

    from speechbrain_gemo.inference import GEmoCLAP

    rows = []
    for k, row in enumerate(msp_rows()):
        act, val, dom = (f"{1 + (k * c) % 13 / 2:.1f}" for c in (3, 5, 7))
        rows.append(row[:2] + (act, val, dom) + row[5:])
    data = tmp_path / "MSP-Podcast"
    data.mkdir()
    build_tree(str(data), rows=rows)
    output = str(tmp_path / "out")
    run_script(
        "MSP-Podcast",
        "train.py",
        [
            "hparams/sl_wavlm_avd.yaml",
            f"--data_folder={data}",
            f"--output_folder={output}",
            "--test_set=Test1",
            *tiny_args(tiny_wavlm_dir, tiny_roberta_dir),
        ],
    )
    _check_run(output, (1, 7), os.path.join(output, "save", "test.json"))
    model = GEmoCLAP.from_hparams(source=os.path.join(output, "export"))
    assert model.avd_scale == (1.0, 7.0)
    out = model.predict_batch(0.1 * torch.randn(2, 16000))
    for name in DIMENSIONS:
        assert ((out[name] >= 1) & (out[name] <= 7)).all()


def test_demo_avd_runs_the_avd_hparams():
    """``python -m speechbrain_gemo.demo --avd`` trains with
    ``hparams/sl_wavlm_avd.yaml``, whose keys the demo's overrides are."""
    from unittest import mock

    import ruamel.yaml

    from speechbrain_gemo import demo

    hparams = os.path.join(
        ROOT, "recipes/IEMOCAP/gemo_clap/hparams/sl_wavlm_avd.yaml"
    )
    with open(hparams) as f:
        keys = set(ruamel.yaml.YAML().load(f))
    given = {a[2:].split("=")[0] for a in demo.demo_overrides("o", "w", "t")}
    assert given <= keys
    with mock.patch.object(demo, "run_demo") as run:
        demo.main(["--avd", "--seed", "7", "--out", "x"])
    assert run.call_args.kwargs["avd"] is True
    assert run.call_args.kwargs["seed"] == 7
