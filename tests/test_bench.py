"""Tests of the overhead benchmark's logic (``bench/``), on tiny inputs.

The full benchmark is a benchmark (``python bench/run.py``), not a test:
these tests check, in seconds, the one timing helper (clocks, warm-up,
interleaving, reseeding, medians and ratios by hand), peak-memory
reading, how phase results become the JSON (merge, keys, goals, table),
the command line's ``--only`` and ``--out`` wiring with a fake phase, the
atomic results file, and the real inference, training and preparation
phases run on tiny models.

Authors
 * speechbrain-gemo developers 2026
"""

import doctest
import json
import os
import subprocess
import sys
import time
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import common, report, run, timing  # noqa: E402
from bench.phases import (  # noqa: E402
    features,
    inference,
    prep,
    text_layers,
    train,
)
from bench.phases import onnx as onnx_phase  # noqa: E402
from bench.phases import serve as serve_phase  # noqa: E402

LATEST = os.path.join(ROOT, "bench", "results", "latest.json")


def test_docstring_examples():
    # bench/ is outside the doctest paths of pyproject.toml
    from bench import brains, models
    from bench.phases import rss

    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    attempted = 0
    modules = (timing, common, report, run, models, brains, train, prep)
    for module in modules + (features, text_layers, onnx_phase, serve_phase):
        result = doctest.testmod(module, optionflags=flags)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 20
    assert callable(rss.run) and callable(inference.run)


# ---------------------------------------------------------------------------
# The timing helper
# ---------------------------------------------------------------------------
@pytest.fixture
def no_collections(monkeypatch):
    """Skips the garbage collections that ``time_call`` runs before each
    timed run: with PyTorch loaded each takes a large part of a second,
    which matters for real steps only, not for these logic checks."""
    calls = []
    monkeypatch.setattr(timing.gc, "collect", lambda *a: calls.append(a))
    return calls


class FakeClock:
    """A clock that only moves when the timed work advances it."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_interleaved_order_seeds_and_times(monkeypatch):
    clock = FakeClock()
    calls, seeds = [], []

    def slow_collection(*args):
        clock.now += 100.0

    # the collection before each run must stay out of the timed part
    monkeypatch.setattr(timing.gc, "collect", slow_collection)
    durations = {"a": [9.0, 2.0, 4.0, 3.0], "b": [9.0, 1.0, 1.0, 2.0]}

    def work(name):
        def fn():
            k = sum(1 for c in calls if c == name)
            calls.append(name)
            # warm-up run first (k = 0), then the timed repeats
            clock.now += durations[name][k]

        return fn

    times = timing.interleaved(
        {"a": work("a"), "b": work("b")},
        warmup=1,
        repeats=3,
        clock=clock,
        reseed=seeds.append,
    )
    # warm-up a, b; then a, b / b, a / a, b (reversed every other repeat)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert seeds == [10000, 10000, 0, 0, 1, 1, 2, 2]
    # the warm-up run (9 s) is not timed
    assert times == {"a": [2.0, 4.0, 3.0], "b": [1.0, 1.0, 2.0]}
    # medians 3 and 1; per-repeat ratios 2, 4, 1.5 -> median 2
    assert timing.ratio_of(times["a"], times["b"]) == {
        "ratio": 3.0,
        "paired_ratio": 2.0,
    }
    assert timing.summary(times["a"]) == {
        "median": 3.0,
        "min": 2.0,
        "max": 4.0,
        "n": 3,
    }


def test_summary_and_ratio_by_hand():
    assert timing.summary([5.0, 1.0, 3.0, 2.0]) == {
        "median": 2.5,
        "min": 1.0,
        "max": 5.0,
        "n": 4,
    }
    # medians 2 and 1 -> 2.0; per-repeat ratios 3, 1, 0.5 -> 1.0
    assert timing.ratio_of([3.0, 1.0, 2.0], [1.0, 1.0, 4.0]) == {
        "ratio": 2.0,
        "paired_ratio": 1.0,
    }
    # rounded to 4 decimals
    assert timing.ratio_of([1.0], [3.0])["ratio"] == 0.3333


def test_wall_and_cpu_clocks(no_collections):
    def nap():
        time.sleep(0.03)

    def no_reseed(seed):
        return None

    wall = timing.interleaved({"nap": nap}, 0, 3, reseed=no_reseed)["nap"]
    cpu = timing.interleaved({"nap": nap}, 0, 3, clock="cpu", reseed=no_reseed)[
        "nap"
    ]
    assert all(t >= 0.03 for t in wall), wall
    # sleeping uses no CPU time
    assert all(t < 0.015 for t in cpu), cpu
    naps = timing.interleaved(
        {"long": lambda: time.sleep(0.06), "short": nap}, 1, 3, reseed=no_reseed
    )
    assert timing.ratio_of(naps["long"], naps["short"])["ratio"] > 1.5
    with pytest.raises(ValueError, match="clock must be one of"):
        timing.time_call(nap, clock="sundial")


def test_reseeding_makes_random_work_repeat():
    import torch

    draws = []
    timing.interleaved(
        {"a": lambda: draws.append(torch.rand(1).item())}, 0, 2, "cpu"
    )
    timing.interleaved(
        {"b": lambda: draws.append(torch.rand(1).item())}, 0, 2, "cpu"
    )
    # repeat r is seeded with r on every side
    assert draws[0] == draws[2] and draws[1] == draws[3]
    assert draws[0] != draws[1]


# A fresh small process (no torch): 200 MiB held, then given back
RSS_CHILD = """\
import json
from bench.timing import current_rss_mb, peak_rss_mb
before = current_rss_mb()
block = b"x" * (200 * 2**20)
held = current_rss_mb()
del block
after = current_rss_mb()
print(json.dumps(dict(before=before, held=held, after=after,
                      peak=peak_rss_mb())))
"""


def test_peak_rss_sees_an_allocation():
    """The current resident memory sees 200 MiB come and go; the peak,
    read once they are given back, still counts them (the kernel records
    its high-water mark just before resident memory goes down)."""
    result = subprocess.run(
        [sys.executable, "-c", RSS_CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    memory = json.loads(result.stdout)
    assert memory["held"] - memory["before"] >= 199
    assert memory["after"] - memory["before"] < 20
    # measured: the peak 0.2 MiB under the held reading (the kernel's
    # per-CPU resident-memory counters are approximate)
    assert memory["peak"] >= memory["held"] - 2


# ---------------------------------------------------------------------------
# From phase results to the JSON
# ---------------------------------------------------------------------------
def _step(ratio, gemo=2.0):
    """A training-pair measurement as the training phase records it."""
    return {
        "batch_size": 8,
        "seconds": 1.0,
        "gemo_step_s": {"median": gemo, "min": gemo, "max": gemo, "n": 1},
        "baseline_step_s": {"median": gemo / ratio},
        "ratio": ratio,
        "paired_ratio": ratio,
    }


FAKE_PHASES = {
    "rss": {
        "inference_peak_rss_ratio": 1.04,
        "details": {"peak_rss": {"ratio": 1.04}},
    },
    "inference": {
        "inference_overhead_ratio": 1.02,
        "scaling": {"inference_rtf_vs_batch": [{"batch_size": 1}]},
        "details": {"inference": {"ratio": 1.02}},
    },
    "train": train.results_of(
        {
            "fine_tuned": _step(1.12),
            "frozen": _step(1.01),
            "text_side": {"8": {"speedup": 1.5}, "16": {"speedup": 2.2}},
            "loss_share": {"8": {"share": 0.002}, "32": {"share": 0.0004}},
            "step_vs_batch": [_step(1.2), _step(1.1)],
            "step_vs_length": [_step(1.3)],
        }
    ),
    "prep": {
        "prep_seconds_per_1000_utts": 0.04,
        "details": {"prep": {"seconds_per_1000_utts": 0.04}},
    },
    "features": {
        "per_utterance_cnn_forward_ratio": 0.9,
        "per_utterance_cnn_train_ratio": 0.95,
        "batch_dependence_max_abs_old": 1.2,
        "batch_dependence_max_abs_new": 5e-7,
        "details": {"features": {"ratio": 0.9}},
    },
    "text_layers": {
        "train_step_overhead_ratio_by_text_layers": {"2": 1.01},
        "details": {"text_layers": {"2": {"ratio": 1.01}}},
    },
}


def test_train_results_by_hand():
    out = FAKE_PHASES["train"]
    assert out["train_step_overhead_ratio"] == 1.12
    assert out["train_step_overhead_ratio_frozen_text"] == 1.01
    # at the recipe's batch size 16, not the first one measured
    assert out["text_side_speedup"] == 2.2
    assert out["loss_share_of_step"] == {"8": 0.002, "32": 0.0004}
    rows = out["scaling"]["step_vs_batch"]
    assert rows[0] == {
        "batch_size": 8,
        "seconds": 1.0,
        "gemo_step_s": 2.0,
        "baseline_step_s": 2.0 / 1.2,
        "ratio": 1.2,
    }
    assert len(out["scaling"]["step_vs_length"]) == 1


def test_assembled_results_have_the_keys_of_latest_json():
    config = common.BenchConfig(quick=True, work="/nonexistent")
    measured = report.empty_results()
    for result in FAKE_PHASES.values():
        report.merge_results(measured, result)
    meta = {
        "models": {},
        "machine": {},
        "runtime_seconds": 1.0,
        "load_average": {},
        "date": "",
        "command": "",
    }
    results = report.assemble(measured, config, meta)
    with open(LATEST) as f:
        latest = json.load(f)
    # the checked-in results describe what the benchmark writes
    assert list(results) == list(latest)
    assert list(results["details"]) == list(latest["details"])
    assert list(results["scaling"]) == list(latest["scaling"])
    assert set(latest["settings"]) == set(results["settings"])
    assert results["inference_overhead_ratio"] == 1.02
    assert results["scaling"]["inference_rtf_vs_batch"] == [{"batch_size": 1}]
    assert len(results["scaling"]["step_vs_batch"]) == 2
    assert results["goals"]["inference_overhead_ratio"] == "<= 1.05"
    assert results["quick"] is True and "--quick" in results["notes"][-1]
    # only the measured phases fill keys; the others stay empty
    partial = report.assemble(
        report.merge_results(report.empty_results(), FAKE_PHASES["prep"]),
        config,
        meta,
    )
    assert partial["prep_seconds_per_1000_utts"] == 0.04
    assert partial["inference_overhead_ratio"] is None
    assert partial["scaling"]["step_vs_batch"] == []
    assert partial["details"]["inference"] is None


def test_goals_and_table():
    assert report.goal_check("inference_overhead_ratio", 1.05) == (
        "<= 1.05",
        "yes",
    )
    assert report.goal_check("inference_overhead_ratio", 1.0501)[1] == "no"
    assert report.goal_check("loss_share_of_step@32", 0.01)[1] == "no"
    assert report.goal_check("text_side_speedup", 2.0) == ("-", "-")
    rows = {
        row[0]: row
        for row in report.table_rows(
            {"train_step_overhead_ratio": 1.1234, "loss_share_of_step": {}}
        )
    }
    assert rows["train_step_overhead_ratio"][1:] == ("1.123", "<= 1.1", "no")
    assert rows["inference_overhead_ratio"][1] == "n/a"
    rows = {
        row[0]: row
        for row in report.table_rows(
            {
                "batch_dependence_max_abs_new": 2e-5,
                "per_utterance_cnn_train_ratio": 1.0412,
                "train_step_overhead_ratio_by_text_layers": {"2": 1.04},
            }
        )
    }
    row = rows["batch_dependence_max_abs_new"]
    assert row[1:] == ("2e-05", "<= 1e-05", "no")
    assert rows["per_utterance_cnn_train_ratio"][1:] == ("1.041", "-", "-")
    name = "train_step_overhead_ratio[text_trainable_layers=2]"
    assert rows[name][1:] == ("1.040", "<= 1.1", "yes")
    # keys of phases that did not run get no row
    assert "per_utterance_cnn_forward_ratio" not in rows
    table = report.format_table({"loss_share_of_step": {"32": 0.002}})
    assert "loss_share_of_step@32" in table and "0.200 %" in table
    assert "onnx" not in table  # its rows appear only when it ran


# ---------------------------------------------------------------------------
# The onnx phase (its logic; the measurement itself is bench/run.py --only
# onnx, minutes at full size)
# ---------------------------------------------------------------------------
def test_onnx_speedups_by_hand():
    times = {
        "torch": [4.0, 6.0, 5.0],
        "fp32": [2.0, 4.0, 4.0],
        "int8": [1.0, 2.0, 2.5],
    }
    out = onnx_phase.speedups(times, 1)
    # medians 5 / 4 and 5 / 2; per-repeat ratios 2, 1.5, 1.25 and 4, 3, 2
    assert out == {
        "onnx_fp32_speedup_b1": 1.25,
        "onnx_fp32_paired_speedup_b1": 1.5,
        "onnx_int8_speedup_b1": 2.5,
        "onnx_int8_paired_speedup_b1": 3.0,
    }


def test_onnx_headline_and_goals():
    measured = {
        "onnx_fp32_speedup_b1": 1.4,
        "onnx_fp32_speedup_b8": 1.1,
        "onnx_int8_speedup_b1": 2.2,
        "onnx_int8_speedup_b8": 2.9,
        "onnx_int8_agreement": 61 / 64,
        "onnx_runtime_install_mb": 160.0,
        "full_env_install_mb": 6400.0,
    }
    out = onnx_phase.headline(measured)
    # the smaller of batch 1 and 8; 160 / 6400 = 0.025
    assert out["onnx_fp32_speedup"] == 1.1
    assert out["onnx_int8_speedup"] == 2.2
    assert out["onnx_runtime_install_share"] == 0.025
    assert out["details"]["onnx"]["onnx_fp32_speedup_b1"] == 1.4
    rows = {row[0]: row for row in report.table_rows(out)}
    assert rows["onnx_fp32_speedup"][1:] == ("1.100", ">= 1.3", "no")
    assert rows["onnx_int8_speedup"][1:] == ("2.200", ">= 2", "yes")
    assert rows["onnx_int8_agreement"][1:] == ("0.953", ">= 0.95", "yes")
    assert rows["onnx_runtime_install_share"][2:] == ("<= 0.05", "yes")
    assert report.goal_check("onnx_int8_speedup", 2.0)[1] == "yes"
    assert report.goal_check("onnx_int8_speedup", 1.999)[1] == "no"


def test_onnx_floor_counts_what_torch_counts():
    # The floor's multiply-adds against PyTorch's own FLOP counter on a
    # real (small) WavLM: the count leaves out only small terms (the
    # relative-position gates, the positional convolution's extra frame)
    import torch
    import transformers
    from torch.utils.flop_counter import FlopCounterMode

    config = transformers.WavLMConfig(**common.PROFILES["quick"]["ssl_config"])
    model = transformers.WavLMModel(config).eval()
    samples = 24000
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, samples))
    counted = counter.get_total_flops() / 2
    floor = onnx_phase.encoder_macs(config, samples)
    # measured: 0.9987 of the counted multiply-adds at 48000 samples
    assert 0.99 * counted <= floor <= counted


def test_onnx_phase_missing_packages(monkeypatch, capsys):
    found = {"onnx": None, "onnxruntime": object(), "soxr": None}
    reason = onnx_phase.unavailable(found.get)
    assert reason == (
        "the onnx phase needs onnx, soxr: "
        'pip install "speechbrain-gemo[onnx-export]"'
    )
    assert onnx_phase.unavailable(lambda name: object()) is None
    # the command line stops before any phase runs
    monkeypatch.setattr(onnx_phase, "unavailable", lambda: reason)
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "prep,onnx"])
    assert "needs onnx, soxr" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="needs onnx, soxr"):
        onnx_phase.run(types.SimpleNamespace(quick=True))
    assert "onnx" not in run.DEFAULT_PHASES
    assert "onnx" in run.available_phases()


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------
RTF_ROW = {
    "batch_size": 2,
    "seconds": 1.0,
    "rtf": 0.1,
    "bare_rtf": 0.08,
    "classify_batch_s": 0.2,
    "bare_forward_s": 0.16,
    "ratio": 1.25,
}


@pytest.fixture
def fake_phases(monkeypatch):
    """Two fake phase modules, ``bench.phases.fake_a`` and ``fake_b``,
    recording the configuration and order they are run in."""
    record = []

    def make(name, result):
        module = types.ModuleType(f"bench.phases.{name}")

        def run_phase(config):
            record.append((name, config))
            return result

        module.run = run_phase
        monkeypatch.setitem(sys.modules, module.__name__, module)

    make(
        "fake_a",
        {
            "inference_overhead_ratio": 1.25,
            "scaling": {"inference_rtf_vs_batch": [RTF_ROW]},
            "details": {"inference": {"ratio": 1.25}},
        },
    )
    make("fake_b", {"onnx_speedup": 3.5, "details": {"onnx": {"n": 1}}})
    return record


@pytest.fixture
def restore_threads():
    """The command line sets torch's thread count: restore it."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_cli_only_and_out(tmp_path, fake_phases, restore_threads, capsys):
    out = tmp_path / "results" / "run.json"
    argv = ["--quick", "--threads", "1", "--clock", "cpu"]
    argv += ["--only", "fake_b,fake_a", "--out", str(out)]
    argv += ["--work", str(tmp_path / "work")]
    returned = run.main(argv)
    assert [name for name, _ in fake_phases] == ["fake_b", "fake_a"]
    config = fake_phases[0][1]
    assert (config.quick, config.device, config.threads) == (True, "cpu", 1)
    assert config.clock == "cpu" and config.profile_name == "quick"
    results = json.loads(out.read_text())
    assert results == json.loads(json.dumps(returned))
    assert results["inference_overhead_ratio"] == 1.25
    assert results["onnx_speedup"] == 3.5
    assert results["details"]["onnx"] == {"n": 1}
    assert results["details"]["inference"] == {"ratio": 1.25}
    assert results["train_step_overhead_ratio"] is None
    assert results["scaling"]["inference_rtf_vs_batch"] == [RTF_ROW]
    # no phase used the models, so none were built
    assert "models" not in results
    assert not (tmp_path / "work").exists()
    assert results["machine"]["torch_threads"] == 1
    assert results["command"].endswith("--work " + str(tmp_path / "work"))
    # the PNG beside the JSON, no temporary file left
    assert sorted(os.listdir(out.parent)) == ["run.json", "run.png"]
    assert (out.parent / "run.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "inference_overhead_ratio" in printed and "1.250" in printed
    assert "<= 1.05" in printed


def test_cli_unknown_phase(capsys):
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "prep,nonsense"])
    err = capsys.readouterr().err
    assert "unknown phase 'nonsense'" in err
    assert all(name in err for name in run.DEFAULT_PHASES)


def test_cli_defaults_and_phase_discovery():
    args = run.parse_args([])
    assert args.only == list(run.DEFAULT_PHASES)
    assert args.out == os.path.join(ROOT, "bench", "results", "latest.json")
    assert set(run.DEFAULT_PHASES) <= set(run.available_phases())
    for name in run.available_phases():
        assert callable(run.load_phase(name).run), name


def test_results_written_atomically(
    tmp_path, fake_phases, monkeypatch, restore_threads
):
    out = tmp_path / "run.json"
    out.write_text('{"old": true}\n')
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".json"):
            # the new results were complete in the temporary file
            assert json.loads(open(src).read())["onnx_speedup"] == 3.5
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    argv = ["--quick", "--threads", "1", "--only", "fake_b"]
    with pytest.raises(OSError, match="rename failed"):
        run.main(argv + ["--out", str(out), "--work", str(tmp_path / "w")])
    assert out.read_text() == '{"old": true}\n'
    assert os.listdir(tmp_path) == ["run.json"]


# ---------------------------------------------------------------------------
# The real phases, on tiny models
# ---------------------------------------------------------------------------
TINY_PROFILE = dict(
    common.PROFILES["quick"],
    ssl_name="tiny wavlm",
    ssl_config=dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        num_buckets=32,
    ),
    text_name="tiny roberta",
    text_config=dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=512,
    ),
    batch_size=2,
    seconds=0.25,
    repeats=2,
    inference_repeats=2,
    warmup=0,
    scaling_repeats=1,
    step_batches=(1,),
    step_lengths=(0.25,),
    length_batch=1,
    rtf_batches=(1, 2),
    loss_batches=(4,),
    loss_share_seconds=0.25,
    loss_share_repeats=1,
    text_batches=(16,),
    text_layers=(None, 0, 1),
    feature_batch=3,
    feature_seconds=(0.25, 0.5),
)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    """A benchmark configuration with tiny models (built once)."""
    config = common.BenchConfig(
        quick=True, work=str(tmp_path_factory.mktemp("bench_work"))
    )
    config.profile = dict(TINY_PROFILE)
    return config


def test_inference_phase_on_tiny_models(tiny_config, no_collections):
    out = inference.run(tiny_config)
    main = out["details"]["inference"]
    assert out["inference_overhead_ratio"] == main["ratio"] > 0
    assert main["ratio"] == round(
        main["classify_batch_s"]["median"] / main["bare_forward_s"]["median"],
        4,
    )
    assert main["classify_batch_s"]["n"] == 2
    assert main["text_model_loaded"] is False
    rows = out["scaling"]["inference_rtf_vs_batch"]
    assert [row["batch_size"] for row in rows] == [1, 2]
    for row in rows:
        audio = row["batch_size"] * row["seconds"]
        assert row["rtf"] == pytest.approx(row["classify_batch_s"] / audio)
        assert set(row) == set(inference.RTF_ROW_KEYS)
    assert tiny_config.models_built


def test_training_phase_on_tiny_models(tiny_config, no_collections):
    out = train.run(tiny_config)
    # a collection before every timed run: 2 pairs x 2 repeats x 2 sides,
    # 2 scaling rows x 2 sides, 2 x 2 text side, 20 losses and 1 step
    assert len(no_collections) >= 8 + 4 + 4 + 21
    details = out["details"]
    fine = details["train_fine_tuned_text"]
    assert (
        out["train_step_overhead_ratio"]
        == fine["ratio"]
        == round(
            fine["gemo_step_s"]["median"] / fine["baseline_step_s"]["median"], 4
        )
    )
    assert fine["gemo_step_s"]["n"] == 2
    # both optimisers of each side were timed at every step
    assert set(fine["optimizer_step_s"]["gemo"]) >= {"ssl_optimizer"}
    frozen = details["train_frozen_text"]
    assert out["train_step_overhead_ratio_frozen_text"] == frozen["ratio"]
    assert out["text_side_speedup"] == details["text_side"]["16"]["speedup"]
    share = details["loss_share"]["4"]
    assert out["loss_share_of_step"]["4"] == share["share"]
    assert share["share"] == pytest.approx(
        share["loss_s"]["median"] / share["step_s"]["median"]
    )
    assert 0 < share["share"] < 1
    assert [r["batch_size"] for r in out["scaling"]["step_vs_batch"]] == [1]
    assert [r["seconds"] for r in out["scaling"]["step_vs_length"]] == [0.25]


def test_prep_phase_full_size_corpus(tmp_path):
    from speechbrain_gemo.data.iemocap import OFFICIAL_COUNTS, prepare_iemocap

    config = common.BenchConfig(quick=True, work=str(tmp_path))
    config.profile = dict(config.profile, prep_repeats=1)
    out = prep.run(config)
    details = out["details"]["prep"]
    assert details["utterances"] == 5531 and details["label_lines"] == 10039
    assert out["prep_seconds_per_1000_utts"] == pytest.approx(
        details["seconds"]["median"] / 5531 * 1000
    )
    # the corpus is the official IEMOCAP layout and counts, and cached
    corpus = os.path.join(
        config.work_dir, "iemocap_synthetic", "IEMOCAP_full_release"
    )
    marker = os.path.join(corpus, ".bench_corpus.json")
    stamp = os.path.getmtime(marker)
    assert prep.write_iemocap_layout(corpus) == 5531
    assert os.path.getmtime(marker) == stamp
    paths = prepare_iemocap(corpus, str(tmp_path / "save"))
    counts = {}
    for path in paths.values():
        with open(path) as f:
            for entry in json.load(f).values():
                counts[entry["emo"]] = counts.get(entry["emo"], 0) + 1
    assert counts == OFFICIAL_COUNTS
    # each repeat's manifests were removed
    assert sorted(os.listdir(config.work_dir)) == ["iemocap_synthetic"]


def _recipe_flag(name):
    """A boolean top-level key of the recipe's ``sl_wavlm.yaml``, read
    from its text."""
    path = os.path.join(
        ROOT, "recipes", "IEMOCAP", "gemo_clap", "hparams", "sl_wavlm.yaml"
    )
    with open(path) as f:
        (value,) = [
            line.split(":", 1)[1].strip()
            for line in f
            if line.startswith(f"{name}:")
        ]
    return {"True": True, "False": False}[value]


@pytest.mark.parametrize("choice", ["recipe", "fused", "default"])
def test_cli_adamw_and_word_embeddings_options(choice):
    """``--adamw`` and ``--text-word-embeddings``: ``recipe`` follows the
    recipe's hparams file, the other choices override it."""
    words = {"recipe": "recipe", "fused": "frozen", "default": "trained"}
    args = ["--quick", "--adamw", choice, "--text-word-embeddings"]
    config = run.make_config(run.parse_args(args + [words[choice]]))
    expected = {
        "recipe": (
            _recipe_flag("fused_adamw"),
            _recipe_flag("freeze_text_word_embeddings"),
        ),
        "fused": (True, True),
        "default": (False, False),
    }[choice]
    assert (config.fused_adamw, config.freeze_text_word_embeddings) == (
        expected
    )


def test_cli_repeats_and_no_scaling():
    """``--repeats`` replaces the profile's timed repeats; ``--no-scaling``
    reaches the phases' config."""
    default = run.make_config(run.parse_args(["--quick"]))
    assert not default.no_scaling
    assert default.profile["repeats"] == common.PROFILES["quick"]["repeats"]
    args = ["--quick", "--repeats", "2", "--no-scaling"]
    config = run.make_config(run.parse_args(args))
    assert config.no_scaling
    assert config.profile["repeats"] == 2
    assert config.profile["inference_repeats"] == 2
    assert common.PROFILES["quick"]["repeats"] != 2


def test_features_phase_on_tiny_models(tiny_config, no_collections):
    out = features.run(tiny_config)
    details = out["details"]["features"]
    # the tiny WavLM has the group-norm CNN of WavLMConfig's defaults
    assert details["feat_extract_norm"] == "group"
    assert details["per_utterance_cnn_by_default"] is True
    assert details["lengths_s"] == [0.5, 0.375, 0.25]
    for name in ("forward", "train"):
        row = details[name]
        assert row["batched_s"]["n"] == row["per_utterance_s"]["n"] == 2
        assert row["ratio"] == round(
            row["per_utterance_s"]["median"] / row["batched_s"]["median"], 4
        )
        assert out[f"per_utterance_cnn_{name}_ratio"] == row["ratio"] > 0
    # the batched group-norm CNN sees the padding; the per-utterance one
    # does not (issue 17: within 1e-5)
    assert out["batch_dependence_max_abs_old"] > 1e-3
    assert out["batch_dependence_max_abs_new"] < 1e-5
    dependence = details["batch_dependence"]
    assert dependence["batched"] == out["batch_dependence_max_abs_old"]


def test_batch_dependence_by_hand():
    import torch

    class ToyEncoder(torch.nn.Module):
        """Pools by summing the padded row: the padding changes nothing,
        but adding the batch's longest length does (a known dependence)."""

        def pool(self, wavs, wav_lens):
            return wavs.sum(dim=1, keepdim=True) + wavs.shape[1]

    wavs, lens = features.mixed_batch([4, 2], "cpu")
    # alone, row 1 has 2 samples: its pooled value is 2 lower
    assert features.batch_dependence(ToyEncoder(), wavs, lens, [4, 2]) == (
        pytest.approx(2.0)
    )


def test_text_layers_phase_on_tiny_models(tiny_config, no_collections):
    out = text_layers.run(tiny_config)
    rows = out["details"]["text_layers"]
    assert list(rows) == ["all", "0", "1"]
    ratios = out["train_step_overhead_ratio_by_text_layers"]
    assert ratios == {label: row["ratio"] for label, row in rows.items()}
    for row in rows.values():
        assert row["ratio"] == round(
            row["gemo_step_s"]["median"] / row["baseline_step_s"]["median"], 4
        )
        assert row["gemo_step_s"]["n"] == 2
    # the tiny RoBERTa: 2 layers of 4 * (32 * 32 + 32) attention weights,
    # 2 * 32 * 64 + 64 + 32 feed-forward weights and 2 * 2 * 32 layer norms
    layer = 4 * (32 * 32 + 32) + (32 * 64 + 64) + (64 * 32 + 32) + 4 * 32
    assert rows["1"]["trainable_text_parameters"] == layer
    assert rows["0"]["trainable_text_parameters"] == 0
    # all: both layers and the embedding layer less the fixed word
    # embeddings (the recipe's setting), pooler fixed
    assert rows["all"]["trainable_text_parameters"] > 2 * layer
    # no text optimiser when the text model is fixed
    assert "text_optimizer" not in rows["0"]["optimizer_step_s"]["gemo"]
    assert "text_optimizer" in rows["1"]["optimizer_step_s"]["gemo"]


def test_train_phase_follows_text_trainable_layers(tmp_path):
    recipe = dict(common.recipe_settings(), text_trainable_layers=1)
    config = common.BenchConfig(quick=True, recipe=recipe, work=str(tmp_path))
    assert config.text_trainable_layers == 1
    # the command line overrides the recipe's value
    override = run.make_config(
        run.parse_args(["--quick", "--text-trainable-layers", "all"])
    )
    assert override.text_trainable_layers is None
    with pytest.raises(SystemExit):
        run.parse_args(["--text-trainable-layers", "-1"])


def test_recipe_settings_fall_back_by_key(tmp_path, capsys):
    path = tmp_path / "flat.yaml"
    path.write_text("lr: 0.003\ntext_trainable_layers: 2\n")
    settings = common.recipe_settings(str(path))
    assert settings["lr"] == 0.003 and settings["text_trainable_layers"] == 2
    assert settings["embedding_dim"] == common.RECIPE_DEFAULTS["embedding_dim"]
    assert "has no lr_ssl" in capsys.readouterr().err
    path.write_text("lr: 0.003\n")
    assert common.recipe_settings(str(path))["text_trainable_layers"] is None
    missing = common.recipe_settings(str(tmp_path / "absent.yaml"))
    assert missing == common.RECIPE_DEFAULTS
    assert "cannot read" in capsys.readouterr().err
