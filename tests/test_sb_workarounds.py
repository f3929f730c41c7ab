"""The SpeechBrain 1.1.2 behaviours this project works around (UPSTREAM.md).

Each test first shows the upstream behaviour, so that it fails the day
SpeechBrain changes it (the workaround may then go), then that the
project's workaround avoids it. The last test checks that each section
links its patch in upstream/ (applying the patches needs SpeechBrain's
tree: upstream/check.sh does it).
"""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
import speechbrain as sb
import torch
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_gemo.brain import RobustBrain, trainable_parameter_groups
from speechbrain_gemo.checkpoints import CompleteCheckpointer
from speechbrain_gemo.data.labels import load_or_create_label_encoder
from speechbrain_gemo.lobes import normalize_waveforms


class Interrupted(RuntimeError):
    """Stands for a process killed in the middle of writing a file."""


def interrupted_save(obj, path):
    """A save hook that stops before writing anything (a run killed).

    Arguments
    ---------
    obj : object
        The recoverable.
    path : pathlib.Path
        Where it would be saved.
    """
    raise Interrupted(path)


def test_checkpoint_metafile_is_written_before_the_files(tmp_path):
    recoverables = {"a": torch.nn.Linear(2, 2), "b": torch.nn.Linear(2, 2)}
    hooks = {"b": interrupted_save}
    plain = Checkpointer(
        tmp_path / "plain", recoverables, custom_save_hooks=hooks
    )
    with pytest.raises(Interrupted):
        plain.save_checkpoint()
    # Upstream: the folder holds CKPT.yaml and a.ckpt only, yet it is
    # listed and would be resumed from
    (partial,) = plain.list_checkpoints()
    assert not (partial.path / "b.ckpt").exists()
    assert plain.find_checkpoint().path == partial.path

    # The workaround: a checkpoint counts only once its manifest is written
    complete = CompleteCheckpointer(
        tmp_path / "complete", recoverables, custom_save_hooks=hooks
    )
    with pytest.raises(Interrupted):
        complete.save_checkpoint()
    (folder,) = (tmp_path / "complete").iterdir()
    assert (folder / "a.ckpt").exists()
    assert complete.list_checkpoints() == []
    assert complete.find_checkpoint() is None
    assert complete.remove_incomplete() == [folder]


def test_ssl_wrapper_normalises_the_waveform_over_its_padding(
    tiny_wavlm_dir,
):
    from speechbrain.integrations.huggingface import Wav2Vec2

    wrapper = Wav2Vec2(tiny_wavlm_dir, save_path=tiny_wavlm_dir)
    assert wrapper.normalize_wav
    inputs = []
    wrapper.model.register_forward_pre_hook(
        lambda module, args: inputs.append(args[0].detach().clone())
    )
    wav = 0.5 + torch.randn(1, 4000, generator=torch.Generator().manual_seed(0))
    padded = torch.cat([wav, torch.zeros(1, 4000)], dim=1)
    with torch.no_grad():
        wrapper(wav, torch.tensor([1.0]))
        wrapper(padded, torch.tensor([0.5]))
    # Upstream: the same utterance reaches the model differently once
    # padded (mean and variance taken over the padding too)
    alone, with_padding = inputs[0][0], inputs[1][0, :4000]
    assert not torch.allclose(alone, with_padding, atol=1e-3)

    # The workaround: per utterance, over its valid samples only
    ours = normalize_waveforms(padded, torch.tensor([4000]))[0, :4000]
    torch.testing.assert_close(ours, alone, atol=1e-5, rtol=1e-5)


class TwoParameters(torch.nn.Module):
    """Two scalar parameters, ``a`` and ``b``."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.zeros(1))
        self.b = torch.nn.Parameter(torch.zeros(1))


def test_gradient_clipping_covers_the_first_parameter_group_only():
    module = TwoParameters()

    def two_groups(params):
        """One SGD optimiser, one parameter group per parameter."""
        return torch.optim.SGD(
            [{"params": [module.a]}, {"params": [module.b]}], lr=1.0
        )

    brain = sb.Brain(
        modules={"m": module},
        opt_class=two_groups,
        run_opts={"device": "cpu", "max_grad_norm": 1.0},
    )
    brain.init_optimizers()
    module.a.grad = torch.tensor([10.0])
    module.b.grad = torch.tensor([10.0])
    brain.optimizers_step()
    # Upstream: a's gradient is clipped to norm 1, b's is used as it is
    assert module.a.item() == pytest.approx(-1.0)
    assert module.b.item() == pytest.approx(-10.0)


def test_one_optimiser_per_tower_gets_every_gradient_clipped():
    model = torch.nn.Module()
    model.audio_encoder = torch.nn.Module()
    model.audio_encoder.ssl_model = TwoParameters()
    model.text_encoder = torch.nn.Module()
    model.text_encoder.text_model = TwoParameters()
    model.head = TwoParameters()
    groups = trainable_parameter_groups(model)
    assert {k: len(v) for k, v in groups.items()} == {
        "ssl": 2,
        "text": 2,
        "other": 2,
    }
    brain = sb.Brain(
        modules={"model": model},
        run_opts={"device": "cpu", "max_grad_norm": 1.0},
    )
    brain.optimizers_dict = {
        name: torch.optim.SGD(params, lr=1.0) for name, params in groups.items()
    }
    for param in model.parameters():
        param.grad = torch.tensor([10.0])
    brain.optimizers_step()
    # each optimiser's two gradients are clipped to a joint norm of 1
    for param in model.parameters():
        # measured: 1.0e-7 off (clip_grad_norm_ divides by the norm + 1e-6)
        assert param.item() == pytest.approx(-(0.5**0.5), rel=5e-7)


class NaNLossBrain(sb.Brain):
    """A Brain whose loss is NaN whatever the batch."""

    def compute_forward(self, batch, stage):
        """Applies the layer.

        Arguments
        ---------
        batch : torch.Tensor
            Inputs.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
        """
        return self.modules.layer(batch)

    def compute_objectives(self, predictions, batch, stage):
        """A loss that is NaN but depends on the weights.

        Arguments
        ---------
        predictions : torch.Tensor
            Outputs.
        batch : torch.Tensor
            Inputs.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
        """
        return predictions.sum() * float("nan")


def test_backward_and_step_run_on_a_non_finite_loss():
    def sgd(params):
        """Plain SGD."""
        return torch.optim.SGD(params, lr=0.1)

    upstream = NaNLossBrain(
        modules={"layer": torch.nn.Linear(2, 1)},
        opt_class=sgd,
        run_opts={"device": "cpu"},
    )
    upstream.init_optimizers()
    upstream.nonfinite_count = 0
    upstream.fit_batch(torch.ones(3, 2))
    # Upstream: the NaN gradient reaches the weights
    assert torch.isnan(upstream.modules.layer.weight).all()

    class Robust(RobustBrain, NaNLossBrain):
        """The same Brain with the workaround."""

    robust = Robust(
        modules={"layer": torch.nn.Linear(2, 1)},
        opt_class=sgd,
        run_opts={"device": "cpu"},
    )
    robust.init_optimizers()
    robust.on_fit_start()
    robust.nonfinite_count = 0
    before = robust.modules.layer.weight.detach().clone()
    robust.fit_batch(torch.ones(3, 2))
    assert torch.equal(robust.modules.layer.weight, before)
    assert robust.skipped_batches == 1


class UnprintableLabel:
    """A label whose ``repr`` fails, which stops a save half-way."""

    def __repr__(self):
        raise Interrupted("label")


def test_label_encoder_is_saved_in_place(tmp_path):
    path = tmp_path / "label_encoder.txt"
    encoder = CategoricalEncoder()
    encoder.update_from_iterable(["neu", UnprintableLabel()])
    with pytest.raises(Interrupted):
        encoder.save(path)
    # Upstream: a partial file, which the next run would load
    assert path.read_text().startswith("'neu' => 0")

    os.remove(path)
    # (load_or_create's own ``finally: load`` turns it into a missing file)
    with pytest.raises((Interrupted, FileNotFoundError)):
        load_or_create_label_encoder(str(path), ["neu", UnprintableLabel()])
    assert os.listdir(tmp_path) == []


def test_read_audio_info_fails_on_an_empty_file(tmp_path):
    from speechbrain.dataio.dataio import read_audio_info

    path = str(tmp_path / "empty.wav")
    soundfile.write(path, np.zeros(0, dtype="float32"), 16000)
    # Upstream: its fallback for 0 frames assigns a read-only property
    with pytest.raises(AttributeError, match="num_frames"):
        read_audio_info(path)
    # The header reader it wraps reports the empty file (what data
    # preparation uses to name it)
    from speechbrain.dataio.audio_io import info

    assert info(path).num_frames == 0


def tiny_dataset(size=6):
    """A DynamicItemDataset of ``size`` items with a duration each."""
    from speechbrain.dataio.dataset import DynamicItemDataset

    data = {f"u{i}": {"x": float(i), "duration": 1.0 + i} for i in range(size)}
    return DynamicItemDataset(data, output_keys=["id", "x"])


def test_training_loader_draws_from_the_global_generator_and_no_state_saved(
    tmp_path,
):
    class Plain(sb.Brain):
        """A Brain with nothing to train."""

    checkpointer = Checkpointer(tmp_path)
    brain = Plain(modules={}, run_opts={"device": "cpu"}, hparams={})
    brain.checkpointer = checkpointer
    loader = brain.make_dataloader(
        tiny_dataset(), sb.Stage.TRAIN, batch_size=2, shuffle=True
    )
    # upstream: starting an epoch consumes torch's global generator (the
    # workers' base seed), so a run resumed within an epoch and given back
    # its random states would still draw differently from there on...
    torch.manual_seed(0)
    iter(loader)
    after_iter = torch.rand(1)
    torch.manual_seed(0)
    assert not torch.equal(after_iter, torch.rand(1))
    # ...and no checkpoint holds the random states
    assert set(checkpointer.recoverables) == {"dataloader-TRAIN"}

    # workaround: the training loader has a generator of its own
    brain = RobustBrain(modules={}, run_opts={"device": "cpu"}, hparams={})
    loader = brain.make_dataloader(
        tiny_dataset(),
        sb.Stage.TRAIN,
        ckpt_prefix=None,
        batch_size=2,
        shuffle=True,
    )
    assert loader.generator is brain.train_loader_generator
    torch.manual_seed(0)
    iter(loader)
    after_iter = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(after_iter, torch.rand(1))


def test_dynamic_batch_sampler_epoch_is_never_set():
    from speechbrain.dataio.sampler import DynamicBatchSampler

    def sampler():
        """A shuffling dynamic batch sampler over six items."""
        return DynamicBatchSampler(
            tiny_dataset(),
            max_batch_length=8,
            num_buckets=2,
            length_func=lambda x: x["duration"],
            shuffle=True,
            batch_ordering="random",
        )

    # upstream: outside DDP a batch_sampler is not the Brain's
    # train_sampler, so fit() never calls its set_epoch: every epoch gets
    # the batches of epoch 0
    brain = sb.Brain(modules={}, run_opts={"device": "cpu"}, hparams={})
    brain.make_dataloader(
        tiny_dataset(), sb.Stage.TRAIN, batch_sampler=sampler()
    )
    assert brain.train_sampler is None

    # workaround: RobustBrain makes it the train_sampler
    batch_sampler = sampler()
    brain = RobustBrain(modules={}, run_opts={"device": "cpu"}, hparams={})
    brain.make_dataloader(
        tiny_dataset(), sb.Stage.TRAIN, batch_sampler=batch_sampler
    )
    assert brain.train_sampler is batch_sampler
    epoch0 = [list(b) for b in batch_sampler]
    brain.train_sampler.set_epoch(1)
    # (the sampler's seed is fixed: these orders are too)
    assert [list(b) for b in batch_sampler] != epoch0


def test_length_to_mask_fixes_the_batch_axis_when_traced():
    from speechbrain.dataio.dataio import length_to_mask

    from speechbrain_gemo.lobes import lengths_to_mask

    def upstream(lengths, x):
        return length_to_mask(lengths, x.shape[1], dtype=torch.bool)

    def ours(lengths, x):
        return lengths_to_mask(lengths, x.shape[1])

    example = (torch.tensor([1, 3]), torch.zeros(2, 3))
    other = (torch.tensor([2, 4, 1]), torch.zeros(3, 4))
    expected = torch.tensor(
        [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool
    )
    with pytest.warns(torch.jit.TracerWarning):
        traced_upstream = torch.jit.trace(upstream, example)
    # upstream: the traced graph keeps the example's batch size of 2
    with pytest.raises(RuntimeError):
        traced_upstream(*other)
    traced_ours = torch.jit.trace(ours, example)
    assert torch.equal(traced_ours(*other), expected)


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    """A small export folder (``save_tiny_export``)."""
    from speechbrain_gemo.export import save_tiny_export

    folder = tmp_path_factory.mktemp("sb_workarounds") / "export"
    return save_tiny_export(str(folder), gender=False)


def test_fetch_refuses_a_symlinked_file_in_place(tmp_path, tiny_export):
    import shutil

    from speechbrain.utils.fetching import FetchConfig, fetch

    from speechbrain_gemo.inference import GEmoCLAP

    # A folder whose files are links to a store of blobs (the Hugging Face
    # cache, DVC, git-annex)
    folder = tmp_path / "linked"
    shutil.copytree(tiny_export, folder)
    blob = tmp_path / "blobs" / "3f9a"
    blob.parent.mkdir()
    os.replace(folder / "hyperparams.yaml", blob)
    (folder / "hyperparams.yaml").symlink_to(blob)
    # upstream: fetched in place with overwrite, the link is refused
    with pytest.raises(ValueError, match="pointing to itself"):
        fetch(
            "hyperparams.yaml",
            str(folder),
            savedir=str(folder),
            fetch_config=FetchConfig(overwrite=True),
        )
    # workaround: from_hparams reads a savedir that is the source in place
    model = GEmoCLAP.from_hparams(source=str(folder), savedir=str(folder))
    assert model.export_folder == str(folder)
    assert (folder / "hyperparams.yaml").resolve() == blob


def test_fetch_keeps_a_link_to_another_local_source(tmp_path, tiny_export):
    import shutil

    from speechbrain.utils.fetching import fetch

    from speechbrain_gemo.inference import GEmoCLAP

    other = tmp_path / "other"
    shutil.copytree(tiny_export, other)
    savedir = tmp_path / "savedir"
    fetch("hyperparams.yaml", tiny_export, savedir=str(savedir))
    # upstream: the same savedir for another source keeps the first's link
    path = fetch("hyperparams.yaml", str(other), savedir=str(savedir))
    assert path.resolve() == Path(tiny_export, "hyperparams.yaml").resolve()
    # workaround: from_hparams relinks (FetchConfig(overwrite=True))
    model = GEmoCLAP.from_hparams(source=str(other), savedir=str(savedir))
    assert model.export_folder == str(other)
    assert path.resolve() == other / "hyperparams.yaml"


REPO = Path(__file__).resolve().parent.parent


def upstream_sections():
    """UPSTREAM.md's numbered sections: number to text."""
    import re

    text = (REPO / "UPSTREAM.md").read_text()
    parts = re.split(r"^## (\d+)\. ", text, flags=re.MULTILINE)
    return {int(n): body for n, body in zip(parts[1::2], parts[2::2])}


def test_every_upstream_section_links_its_patch():
    import re

    sections = upstream_sections()
    patches = sorted(p.name for p in (REPO / "upstream").glob("*.patch"))
    linked = {}
    for number, body in sections.items():
        names = re.findall(r"\(upstream/([^)]+\.patch)\)", body)
        assert len(names) == 1, f"section {number} links {names}"
        assert names[0].startswith(f"{number:02d}-"), names[0]
        linked[names[0]] = number
    assert sorted(linked) == patches

    text = (REPO / "UPSTREAM.md").read_text()
    check = (REPO / "upstream" / "check.sh").read_text()
    (commit,) = re.findall(r"^SB_COMMIT=([0-9a-f]{40})$", check, re.M)
    assert commit in text  # the commit the patches are made against
    assert os.access(REPO / "upstream" / "check.sh", os.X_OK)
    for name in patches:
        patch = (REPO / "upstream" / name).read_text()
        assert patch.startswith("From ") and "\nSubject: [PATCH] " in patch
        files = re.findall(r"^diff --git a/(\S+) b/\1$", patch, re.M)
        tests = [f for f in files if "tests/" in f]
        assert tests and set(files) - set(tests), f"{name}: {files}"
        assert re.search(r"^\+def test_\w+", patch, re.M), name
        # check.sh's result, pasted in UPSTREAM.md, covers this patch
        assert f"PASS {name[: -len('.patch')]}: " in text, name


def test_lazy_module_raises_import_error_for_a_dunder():
    import importlib.util

    import speechbrain.utils.importutils as importutils

    missing = "a_module_that_is_not_installed"
    # upstream, in a fresh copy of SpeechBrain's module (tests/conftest.py
    # patches the imported one): getattr with a default only catches an
    # AttributeError, so probing sys.modules for "__file__" (as Hypothesis
    # does) crashes on the lazy modules of missing optional dependencies
    spec = importlib.util.spec_from_file_location(
        "speechbrain_importutils_copy", importutils.__file__
    )
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    with pytest.raises(ImportError):
        getattr(copy.LazyModule("lazy", missing, None), "__file__", None)

    # workaround: tests/conftest.py makes it an AttributeError
    lazy = importutils.LazyModule("lazy", missing, None)
    assert getattr(lazy, "__file__", None) is None
    with pytest.raises(ImportError):
        _ = lazy.some_function
