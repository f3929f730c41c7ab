"""Tests of the overhead benchmark (``bench/run.py``): the ``--quick`` run
writes every key of the issue with sane values, and the synthetic corpus of
the preparation benchmark is a full-size IEMOCAP layout.

The benchmark asserts no goal (it is not a test); these tests only check
that it runs and reports.

Authors
 * speechbrain-gemo developers 2026
"""

import doctest
import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "bench", "run.py")

RATIO_KEYS = (
    "inference_overhead_ratio",
    "train_step_overhead_ratio",
    "train_step_overhead_ratio_frozen_text",
    "text_side_speedup",
    "inference_peak_rss_ratio",
)


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _positive(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def test_docstring_examples():
    # bench/ is outside the doctest paths of pyproject.toml
    bench = _load_bench()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(bench, optionflags=flags)
    assert result.attempted > 0 and result.failed == 0


def test_ratio_and_table_helpers():
    bench = _load_bench()
    ratio = bench.ratio_of([2.0, 4.0, 3.0], [1.0, 2.0, 1.0])
    assert ratio == {"ratio": 3.0, "paired_ratio": 2.0}
    table = bench.format_table(
        {
            "inference_overhead_ratio": 1.2,
            "train_step_overhead_ratio": 1.01,
            "loss_share_of_step": {"32": 0.002},
        }
    )
    assert "inference_overhead_ratio" in table
    rows = {row[0]: row for row in bench.table_rows({"loss_share_of_step": {}})}
    assert rows["inference_overhead_ratio"][1] == "n/a"
    assert bench.goal_check("inference_overhead_ratio", 1.2)[1] == "no"
    assert bench.goal_check("loss_share_of_step@32", 0.002)[1] == "yes"


def test_synthetic_corpus_is_full_size_iemocap(tmp_path):
    from speechbrain_gemo.data.iemocap import OFFICIAL_COUNTS, prepare_iemocap

    bench = _load_bench()
    corpus = str(tmp_path / "IEMOCAP_full_release")
    total = bench.write_iemocap_layout(corpus)
    assert total == 5531
    # cached: a second call does not rewrite it
    marker = os.path.join(corpus, ".bench_corpus.json")
    stamp = os.path.getmtime(marker)
    assert bench.write_iemocap_layout(corpus) == total
    assert os.path.getmtime(marker) == stamp

    paths = prepare_iemocap(corpus, str(tmp_path / "save"))
    counts = {}
    for path in paths.values():
        with open(path) as f:
            for entry in json.load(f).values():
                counts[entry["emo"]] = counts.get(entry["emo"], 0) + 1
    assert counts == OFFICIAL_COUNTS


@pytest.mark.slow
def test_quick_benchmark_writes_every_key(tmp_path):
    out = tmp_path / "results" / "latest.json"
    command = [
        sys.executable,
        RUN,
        "--quick",
        "--threads",
        "1",
        "--out",
        str(out),
        "--work",
        str(tmp_path / "work"),
    ]
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text())

    for key in RATIO_KEYS:
        assert _positive(results[key]), (key, results[key])
    assert _positive(results["prep_seconds_per_1000_utts"])
    shares = results["loss_share_of_step"]
    assert sorted(shares, key=int) == ["8", "32", "128"]
    assert all(_positive(v) and v < 1 for v in shares.values()), shares

    scaling = results["scaling"]
    for key, x_key, y_keys in (
        ("step_vs_batch", "batch_size", ("gemo_step_s", "baseline_step_s")),
        ("step_vs_length", "seconds", ("gemo_step_s", "baseline_step_s")),
        ("inference_rtf_vs_batch", "batch_size", ("rtf", "bare_rtf")),
    ):
        rows = scaling[key]
        assert len(rows) >= 2, key
        for row in rows:
            assert _positive(row[x_key]) and _positive(row["ratio"]), row
            assert all(_positive(row[y]) for y in y_keys), row

    assert results["quick"] is True
    models = results["models"]
    assert models["ssl"]["config_overrides"]["hidden_size"] < 768
    assert _positive(models["ssl"]["parameters"])
    assert results["machine"]["torch_threads"] == 1
    assert results["details"]["peak_rss"]["text_model_loaded"] is False
    assert "inference_overhead_ratio" in results["goals"]
    assert (tmp_path / "results" / "latest.png").stat().st_size > 0
    # the table is printed with each goal beside the measured value
    assert "<= 1.05" in proc.stdout
