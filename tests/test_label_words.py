"""Labels people read: a loaded model names its classes with words
(``angry``, ``surprised``, a user's own label as written), whatever codes
its corpus used; manifests keep the codes; cross-corpus scoring still
matches; exports written before the words were recorded load and classify
with the words found from their prompts.

Authors
 * speechbrain-gemo developers 2026
"""

import csv
import json
import os
import re
import shutil

import numpy as np
import pytest
import soundfile

from speechbrain_gemo.export import save_tiny_export
from speechbrain_gemo.prompts import (
    CORPUS_CLASSES,
    CORPUS_WORDS,
    emotion_prompts,
    label_words,
)

MSP_WORDS = (
    "angry",
    "sad",
    "happy",
    "surprised",
    "fearful",
    "disgusted",
    "contemptuous",
    "neutral",
)


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _wav(path, seconds=1.0, seed=0):
    rng = np.random.default_rng(seed)
    audio = 0.1 * rng.standard_normal(int(16000 * seconds))
    soundfile.write(str(path), audio.astype("float32"), 16000)
    return str(path)


@pytest.fixture(scope="module")
def msp_export(tmp_path_factory):
    """A tiny export trained, as the MSP-Podcast recipe would, on the
    corpus' letter codes."""
    folder = tmp_path_factory.mktemp("msp") / "export"
    return save_tiny_export(str(folder), gender=False, corpus="MSP-Podcast")


def _old_format(export, folder):
    """A copy of ``export`` as exports were written before words were
    recorded: no ``emotion_words`` in its ``hyperparams.yaml``."""
    shutil.copytree(export, folder)
    path = os.path.join(folder, "hyperparams.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    old = re.sub(r"\nemotion_words:\n(?:[ ]+.*\n)+", "\n", text)
    assert "emotion_words" in text and "emotion_words" not in old
    with open(path, "w", encoding="utf-8") as f:
        f.write(old)
    return str(folder)


@pytest.mark.parametrize("corpus", sorted(CORPUS_CLASSES))
def test_every_corpus_reads_as_words_by_one_rule(corpus):
    """Each corpus' codes, prompted as its recipe prompts them, read as
    the corpus' words: found from the prompts alone (the rule for old
    exports) and given by the corpus (new ones) alike."""
    prompts = emotion_prompts(classes=corpus, words=corpus)
    words = CORPUS_WORDS[corpus]
    assert label_words(prompts) == words
    assert label_words(prompts, corpus) == words
    # words are not codes, except where a corpus' code is its word
    assert all(w == c or w != c for c, w in words.items())


def test_codes_shared_between_corpora_read_by_their_prompts():
    """EmoDB's ``A`` is fearful and MSP-Podcast's ``A`` angry: the prompt
    decides; a user's own label is read as written; labels that would
    read alike keep their labels."""
    assert label_words({"A": ["The speaker sounds fearful."]}) == {
        "A": "fearful"
    }
    assert label_words({"A": ["The speaker sounds angry."]}) == {"A": "angry"}
    assert label_words({"A": ["A loud voice."]}) == {"A": "A"}
    assert label_words({"Frustrated": ["Tense."]}) == {
        "Frustrated": "Frustrated"
    }
    assert label_words({"05": "An ANGRY voice.", "angry": "Mad."}) == {
        "05": "05",
        "angry": "angry",
    }
    # a word given for a label wins over the prompts
    assert label_words({"x1": ["Annoyed."]}, {"x1": "annoyed"}) == {
        "x1": "annoyed"
    }


def test_pytorch_model_reads_words_manifests_keep_codes(msp_export, tmp_path):
    """An MSP-Podcast export: ``model.labels``, ``classify_file``'s labels
    and the probabilities' order are words; the codes stay in
    ``label_codes`` and the model card shows both."""
    from speechbrain_gemo.inference import GEmoCLAP

    model = GEmoCLAP.from_hparams(source=msp_export)
    assert model.labels == MSP_WORDS
    assert model.label_codes == CORPUS_CLASSES["MSP-Podcast"]
    wav = _wav(tmp_path / "a.wav")
    probs, _, index, text_lab = model.classify_file(wav)
    assert text_lab[0] == MSP_WORDS[index.item()]
    assert probs.shape == (1, 8)
    # the stored classes, whether given by their words or their codes,
    # need no text model
    model.classify_file(wav, prompts=model.stored_prompts["emotion"])
    model.classify_file(wav, prompts=dict(model.mods.model.emotion_prompts))
    assert not model.text_model_loaded
    with open(os.path.join(msp_export, "hyperparams.yaml")) as f:
        assert "  A: angry\n" in f.read()
    with open(os.path.join(msp_export, "README.md")) as f:
        card = f.read()
    assert '| `angry` | `A` | "The speaker sounds angry." |' in card
    assert "| `surprised` | `U` |" in card


def test_old_export_loads_and_classifies_with_words(msp_export, tmp_path):
    """An export written before ``emotion_words`` existed: the words are
    found at load time from its prompts; it classifies as the new one."""
    from speechbrain_gemo.inference import GEmoCLAP

    old = _old_format(msp_export, tmp_path / "old")
    model = GEmoCLAP.from_hparams(source=old)
    new = GEmoCLAP.from_hparams(source=msp_export)
    assert model.labels == new.labels == MSP_WORDS
    wav = _wav(tmp_path / "a.wav", seed=1)
    got, want = model.classify_file(wav), new.classify_file(wav)
    assert got[3] == want[3]
    np.testing.assert_allclose(got[0].numpy(), want[0].numpy(), atol=1e-6)
    assert not model.text_model_loaded


def test_onnx_model_reads_words_old_folders_too(msp_export, tmp_path):
    """``EmotionClassifierONNX`` labels with the words of its folder; a
    folder written before ``label_codes`` (labels = codes) gets them from
    its prompts, and still accepts its stored prompts."""
    from speechbrain_gemo.onnx import export_onnx
    from speechbrain_gemo.onnx_runtime import EmotionClassifierONNX

    folder = export_onnx(msp_export, str(tmp_path / "onnx"))
    model = EmotionClassifierONNX(folder)
    assert model.labels == MSP_WORDS
    assert model.label_codes == CORPUS_CLASSES["MSP-Podcast"]
    with open(os.path.join(folder, "README.md")) as f:
        assert "angry, sad, happy, surprised" in f.read()

    old = str(tmp_path / "onnx_old")
    shutil.copytree(folder, old)
    config_path = os.path.join(old, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    codes = config.pop("label_codes")
    config["labels"] = codes
    config["emotion_prompts"] = dict(
        zip(codes, config["emotion_prompts"].values())
    )
    with open(config_path, "w") as f:
        json.dump(config, f)
    old_model = EmotionClassifierONNX(old)
    assert old_model.labels == MSP_WORDS
    wav = _wav(tmp_path / "a.wav", seed=2)
    got = old_model.classify_file(wav, prompts=config["emotion_prompts"])
    want = model.classify_file(wav)
    assert got[3] == want[3] and got[3][0] in MSP_WORDS
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)


def test_infer_columns_timeline_summary_and_report_read_words(
    msp_export, tmp_path
):
    """``infer`` on an MSP-Podcast export: the CSV's ``label`` and
    ``prob_<class>`` columns, the timeline's summary and the report of
    labels given as the corpus' codes all read words; the codes are
    scored as the classes they name."""
    from speechbrain_gemo.infer import main

    files = [_wav(tmp_path / f"f{k}.wav", seed=k) for k in range(3)]
    labels = tmp_path / "labels.csv"
    labels.write_text(
        # codes of both EmoDB and MSP-Podcast: the model's own corpus
        "path,label\n" + "".join(f"{f},{c}\n" for f, c in zip(files, "ANA"))
    )
    out = tmp_path / "out.csv"
    args = ["--model", msp_export, "--labels", str(labels)]
    assert main(args + ["--out", str(out), "--no_progress"]) == 0
    rows = _read(out)
    assert [c for c in rows[0] if c.startswith("prob_")] == [
        f"prob_{w}" for w in MSP_WORDS
    ]
    assert {r["label"] for r in rows} <= set(MSP_WORDS)
    with open(tmp_path / "out_report.json") as f:
        report = json.load(f)
    assert report["num_utterances"] == 3  # A, N, A: scored, none left out
    assert set(report["per_class"]) <= set(MSP_WORDS)
    with open(tmp_path / "out_report.txt") as f:
        text = f.read()
    assert "angry" in text and "prob_A" not in text

    timeline = tmp_path / "timeline.csv"
    plots = tmp_path / "plots"
    segments = tmp_path / "segments.csv"
    segments.write_text(f"path,start,end\n{files[0]},0,0.5\n{files[0]},0.5,1\n")
    args = ["--model", msp_export, files[0], "--segments", str(segments)]
    args += ["--out", str(timeline), "--plot", str(plots), "--no_progress"]
    assert main(args) == 0
    assert {r["label"] for r in _read(timeline)} <= set(MSP_WORDS)
    summary = _read(plots / "f0_summary.csv")
    assert [e["label"] for e in summary if e["speaker"] == "*"] == list(
        MSP_WORDS
    )


def test_recorded_words_are_the_ones_read(msp_export, tmp_path):
    """The words an export records (``emotion_words``) are the labels of
    the loaded model, even where its prompts would suggest others."""
    from speechbrain_gemo.inference import GEmoCLAP

    folder = str(tmp_path / "edited")
    shutil.copytree(msp_export, folder)
    path = os.path.join(folder, "hyperparams.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "  A: angry\n" in text
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("  A: angry\n", "  A: furious\n"))
    model = GEmoCLAP.from_hparams(source=folder)
    assert model.labels == ("furious",) + MSP_WORDS[1:]
