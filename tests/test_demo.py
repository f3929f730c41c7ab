"""The demo's whole path (corpus, recipe, export, inference) on a tiny
corpus and two epochs; the real demo's numbers are measured by make demo."""

import json
import os

import pytest

from speechbrain_gemo.demo import DEMO_OVERRIDES, demo_overrides, run_demo

pytestmark = pytest.mark.xdist_group("demo")


def test_overrides_are_recipe_keys():
    import ruamel.yaml

    hparams = os.path.join(
        os.path.dirname(os.path.dirname(__file__)),
        "recipes/IEMOCAP/gemo_clap/hparams/sl_wavlm.yaml",
    )
    with open(hparams) as f:
        keys = set(ruamel.yaml.YAML().load(f))
    args = demo_overrides("out", "w", "t")
    given = {a[2:].split("=")[0] for a in args}
    assert given <= keys
    assert set(DEMO_OVERRIDES) <= given


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    summary = run_demo(
        str(tmp_path / "demo"),
        threads=1,
        utterances_per_speaker=4,
        number_of_epochs=2,
        batch_size=8,
    )
    out = capsys.readouterr().out
    assert "test WAR" in out and "predicted" in out
    folder = tmp_path / "demo"
    with open(folder / "test_metrics.json") as f:
        metrics = json.load(f)
    assert summary["WAR"] == metrics["WAR"]
    assert metrics["num_utterances"] == 8  # 2 speakers x 4 utterances
    assert os.path.isfile(folder / "export" / "model.ckpt")
    assert summary["example"]["predicted"] in (
        "neutral",
        "happy",
        "angry",
        "sad",
    )
    probs = summary["example"]["probabilities"]
    # four probabilities rounded to 4 decimals: at most 4 x 5e-5 off
    assert sum(probs.values()) == pytest.approx(1.0, abs=2.1e-4)
    with open(folder / "demo_summary.json") as f:
        assert json.load(f)["overrides"]["number_of_epochs"] == 2


def test_command_line_seed_and_telephone_prob_reach_the_recipe(monkeypatch):
    from speechbrain_gemo import demo

    calls = []
    monkeypatch.setattr(
        demo, "run_demo", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    demo.main(["--out", "x", "--seed", "7", "--telephone_prob", "0.5"])
    demo.main(["--out", "y"])
    assert calls[0] == (
        ("x",),
        {"threads": None, "avd": False, "seed": 7, "telephone_prob": 0.5},
    )
    assert calls[1] == (("y",), {"threads": None, "avd": False})
    args = demo_overrides("out", "w", "t", seed=7, telephone_prob=0.5)
    assert "--seed=7" in args and "--telephone_prob=0.5" in args
