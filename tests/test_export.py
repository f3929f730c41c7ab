"""The export folder as SpeechBrain and a model hub read it."""

import json
import os

import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.parameter_transfer import Pretrainer

from speechbrain_gemo.export import export_for_inference, save_tiny_export
from speechbrain_gemo.inference import GEmoCLAP, TensorFile


def test_hyperparams_and_model_card(tmp_path):
    folder = save_tiny_export(str(tmp_path / "export"))
    with open(os.path.join(folder, "hyperparams.yaml")) as f:
        hparams = load_hyperpyyaml(f)
    pretrainer = hparams["pretrainer"]
    assert isinstance(pretrainer, Pretrainer)
    assert set(pretrainer.loadables) == {
        "model",
        "prompt_embeddings",
        "label_encoder",
    }
    assert isinstance(pretrainer.loadables["model"], TensorFile)
    assert isinstance(pretrainer.loadables["label_encoder"], CategoricalEncoder)
    for name in pretrainer.loadables:
        assert os.path.isfile(os.path.join(folder, f"{name}.ckpt"))
    assert hparams["gender_prompts"] == {
        "F": ["The speaker is female."],
        "M": ["The speaker is male."],
    }

    # SpeechBrain's own interface loads the same folder (no GEmoCLAP code
    # beyond what hyperparams.yaml names)
    plain = Pretrained.from_hparams(source=folder)
    assert plain.hparams.label_encoder.lab2ind == {
        "neu": 0,
        "hap": 1,
        "ang": 2,
        "sad": 3,
    }

    # the model card: front matter, classes, no metrics recorded
    with open(os.path.join(folder, "README.md")) as f:
        card = f.read()
    front, body = card.split("---\n")[1:3]
    assert "pipeline_tag: audio-classification" in front
    assert "license: apache-2.0" in front
    # classes named by their words, the corpus' codes beside them
    assert '| `neutral` | `neu` | "The speaker sounds neutral." |' in body
    assert '| `sad` | `sad` | "The speaker sounds sad." |' in body
    assert "2306.07848" in body and "No test metrics" in body


def test_model_card_reads_test_metrics(tmp_path):
    source = GEmoCLAP.from_hparams(
        source=save_tiny_export(str(tmp_path / "a"), gender=False)
    )
    metrics = {
        "WAR": 0.6123,
        "UAR": 0.5877,
        "per_class_recall": {"neu": 0.5, "hap": 0.25, "ang": 1.0, "sad": 0.6},
    }
    metrics_file = tmp_path / "test_metrics.json"
    metrics_file.write_text(json.dumps(metrics))
    encoder = CategoricalEncoder()
    encoder.update_from_iterable(["neu", "hap", "ang", "sad"])
    model = source.mods.model
    model.text_encoder = source._text_tower()
    hparams = {
        "objective": "emo",
        "test_metrics_file": str(metrics_file),
        "test_session": 3,
        "audio_source": "microsoft/wavlm-large",
    }
    folder = export_for_inference(model, encoder, hparams, tmp_path / "b")
    with open(os.path.join(folder, "README.md")) as f:
        card = f.read()
    assert "| WAR | 61.23 |" in card and "| UAR | 58.77 |" in card
    assert "| recall `happy` | 25.00 |" in card
    assert "session 3 held out" in card and "Emo-CLAP" in card
    # the re-export classifies as the first one
    again = GEmoCLAP.from_hparams(source=folder)
    wavs = torch.randn(2, 8000)
    torch.testing.assert_close(
        again.classify_batch(wavs)[0], source.classify_batch(wavs)[0]
    )


def test_interrupted_export_leaves_the_old_folder(tmp_path, monkeypatch):
    import glob

    import speechbrain_gemo.export as export

    folder = str(tmp_path / "export")
    save_tiny_export(folder, gender=False, seed=1)
    before = torch.load(f"{folder}/model.ckpt", weights_only=True)

    def interrupted(tmp, final):
        """Stands for a kill between writing and renaming."""
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "publish_folder", interrupted)
    try:
        save_tiny_export(folder, gender=True, seed=2)
    except KeyboardInterrupt:
        pass
    assert glob.glob(f"{folder}.tmp-*")
    after = torch.load(f"{folder}/model.ckpt", weights_only=True)
    assert after.keys() == before.keys()  # the old one, no gender scale
    monkeypatch.undo()
    save_tiny_export(folder, gender=True, seed=2)
    assert not glob.glob(f"{folder}.*-*")
    assert GEmoCLAP.from_hparams(source=folder).has_gender


def test_hub_id_is_downloaded_whole_then_loaded(tmp_path, monkeypatch):
    import shutil

    import huggingface_hub

    repo = save_tiny_export(str(tmp_path / "repo"), gender=False)
    asked = []

    def snapshot_download(repo_id, local_dir=None, revision=None, **kwargs):
        """Stands for the hub: copies the repository (offline test)."""
        asked.append((repo_id, revision))
        shutil.copytree(repo, local_dir)
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    savedir = str(tmp_path / "savedir")
    model = GEmoCLAP.from_hparams(source="hf://org/gemo", savedir=savedir)
    assert asked == [("org/gemo", None)]
    assert model.export_folder == os.path.realpath(savedir)
    assert model.labels == ("neutral", "happy", "angry", "sad")
    wavs = torch.randn(1, 8000)
    torch.testing.assert_close(
        model.classify_batch(wavs)[0],
        GEmoCLAP.from_hparams(source=repo).classify_batch(wavs)[0],
    )
    # a revision after @, as in huggingface_hub's hf:// URLs
    GEmoCLAP.from_hparams(
        source="hf://org/gemo@v1.0", savedir=str(tmp_path / "savedir2")
    )
    assert asked[-1] == ("org/gemo", "v1.0")


def test_hub_source_resolves_from_a_real_hugging_face_cache(
    tmp_path, monkeypatch
):
    """``hf://owner/name`` without savedir: huggingface_hub itself resolves
    it, offline, from a cache whose snapshot is a tree of links into
    ``blobs/``; the towers are found in the snapshot, not beside the blob
    that ``model.ckpt`` resolves to."""
    import huggingface_hub

    from speechbrain_gemo.testing import save_hub_cache

    repo = save_tiny_export(str(tmp_path / "repo"), gender=False)
    cache = str(tmp_path / "hub")
    snapshot = save_hub_cache(repo, cache, "org/gemo")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", cache)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert os.path.islink(os.path.join(snapshot, "model.ckpt"))
    assert os.path.islink(os.path.join(snapshot, "ssl_model", "config.json"))

    model = GEmoCLAP.from_hparams(source="hf://org/gemo")
    assert os.path.samefile(model.export_folder, snapshot)
    reference = GEmoCLAP.from_hparams(source=repo)
    wavs, prompts = torch.randn(2, 8000), {"calm": "A calm voice."}
    torch.testing.assert_close(
        model.classify_batch(wavs)[0], reference.classify_batch(wavs)[0]
    )
    # the text tower too is read from the snapshot
    torch.testing.assert_close(
        model.classify_batch(wavs, prompts=prompts)[0],
        reference.classify_batch(wavs, prompts=prompts)[0],
    )
    # the snapshot given as a local folder, its files linked again into a
    # savedir: model.ckpt is then two links away from its blob
    again = GEmoCLAP.from_hparams(
        source=snapshot, savedir=str(tmp_path / "savedir")
    )
    assert os.path.samefile(again.export_folder, snapshot)
    # a repository the cache does not hold: the error names it
    try:
        GEmoCLAP.from_hparams(source="hf://org/other")
    except OSError as err:
        assert "hf://org/other" in str(err)
    else:
        raise AssertionError("hf://org/other is not in the cache")


def test_a_missing_local_path_is_never_sent_to_the_hub(tmp_path, monkeypatch):
    import huggingface_hub
    import pytest

    asked = []

    def snapshot_download(repo_id, **kwargs):
        """Records any hub look-up."""
        asked.append(repo_id)
        raise AssertionError(f"{repo_id} was looked up on the hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.chdir(tmp_path)
    # the README's own example, before the folder exists
    with pytest.raises(FileNotFoundError) as err:
        GEmoCLAP.from_hparams(source="exports/gemo")
    assert "exports/gemo does not exist" in str(err.value)
    assert "hf://exports/gemo" in str(err.value)  # how to ask for the hub
    with pytest.raises(FileNotFoundError, match="/no/such/export"):
        GEmoCLAP.from_hparams(source="/no/such/export")
    # an existing folder that looks like a hub id is that folder
    save_tiny_export(str(tmp_path / "org" / "gemo"), gender=False)
    assert GEmoCLAP.from_hparams(source="org/gemo").labels[0] == "neutral"
    assert asked == []
    # only hf:// reaches the hub, and only with a well-formed id
    for bad in ("hf://org/gemo/ssl_model", "hf://", "hf://org/gemo@"):
        with pytest.raises(ValueError, match="not a Hugging Face Hub model"):
            GEmoCLAP.from_hparams(source=bad)
    assert asked == []
