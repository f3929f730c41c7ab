"""Checkpoints that are either complete or ignored.

SpeechBrain's ``Checkpointer`` (1.1.2) writes ``CKPT.yaml`` first and the
recoverables' files after it, and takes any ``CKPT+*`` folder holding a
``CKPT.yaml`` as a checkpoint. A run killed while saving therefore leaves a
folder that looks like the newest checkpoint but lacks some files (or holds
a truncated one), and resuming from it fails; a run killed while deleting an
old checkpoint leaves part of it behind in the same way.

:class:`CompleteCheckpointer` writes, after every other file, a manifest
listing each file of the checkpoint with its size, and counts a folder as a
checkpoint only when that manifest matches the folder. Folders that do not
are never loaded nor kept: :meth:`CompleteCheckpointer.remove_incomplete`
deletes them (``speechbrain_gemo.brain.RobustBrain`` calls it when
training starts). This is the workaround listed in UPSTREAM.md.

:class:`RandomStates` is a recoverable holding every process's random
states (Python's ``random``, NumPy's global generator, torch's CPU and
CUDA generators), so that a run resumed from a checkpoint draws the same
random numbers (dropout masks, random crops) as the run that saved it.

Under DDP, every process lists the checkpoints right after a save (to
delete old ones, a collective call per checkpoint): ``save_checkpoint``
ends with a barrier, so that all see the new checkpoint's manifest.

A checkpoint also records what it was trained on: when the recipe sets
``CompleteCheckpointer.data_fingerprint`` (:func:`data_fingerprint`: the
class list and a hash of the ids and labels of the train and valid sets),
each checkpoint's ``CKPT.yaml`` holds it, and a checkpoint made on other
data or classes (or recording none) is never loaded: loading it raises
:class:`CheckpointDataMismatch`, which says what to do. A run on a
corrected CSV would otherwise resume the old run's checkpoints, train no
more epochs and export them as if trained on the corrected data.

Authors
 * speechbrain-gemo developers 2026
"""

import hashlib
import json
import logging
import os
import pathlib
import random
import shutil
import time

import numpy as np
import torch
import yaml
from speechbrain.utils.checkpoints import (
    CKPT_PREFIX,
    METAFNAME,
    Checkpointer,
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)
from speechbrain.utils.distributed import (
    ddp_barrier,
    if_main_process,
    is_distributed_initialized,
    main_process_only,
)
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.errors import UserError
from speechbrain_gemo.io import write_json_atomic

logger = get_logger(__name__)

MANIFEST_NAME = "CKPT.complete.json"
# Written as the first line of CKPT.yaml: this folder needs its manifest
MANIFEST_KEY = "complete-manifest"
# The CKPT.yaml key of the data fingerprint
DATA_KEY = "data-fingerprint"
# The sets a checkpoint's training depends on (test only measures it)
FINGERPRINT_SETS = ("train", "valid")


class CheckpointDataMismatch(UserError, ValueError):
    """A run found checkpoints (or a label encoder) made on other data or
    classes than its own in its save folder; the message says what differs
    and what to do.

    Example
    -------
    >>> isinstance(CheckpointDataMismatch("x"), ValueError)
    True
    """


def afresh_advice(folder):
    """What to do when a save folder holds a run on other data or classes.

    Arguments
    ---------
    folder : str or pathlib.Path
        The save folder (checkpoints and ``label_encoder.txt``).

    Returns
    -------
    str
        One sentence.

    Example
    -------
    >>> afresh_advice("results/x/save")[:41]
    'Train in a new output folder (--output_fo'
    """
    return (
        "Train in a new output folder (--output_folder=...), or delete the "
        f"checkpoints (CKPT+* folders) and label_encoder.txt in {folder} to "
        "train afresh there."
    )


def data_fingerprint(datasets, classes):
    """What a checkpoint is trained on: the class list, in order, and a
    hash of the ids and labels (``emo``, ``gender``) of the train and
    valid utterances, as the run uses them (after any class filter).

    The audio itself, its paths and durations, and the test set are not
    part of it: a corpus moved to another folder, or a corrected test
    label, still resumes.

    Arguments
    ---------
    datasets : dict
        ``train`` and ``valid`` to datasets with ``data_ids`` and ``data``
        (SpeechBrain's ``DynamicItemDataset``, or a filtered view of one).
    classes : list of str
        The classes, in the order of the model's prompts.

    Returns
    -------
    dict
        ``classes``, the number of ``train`` and ``valid`` utterances and
        ``sha256``, the hash of it all.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = {"a": {"emo": "sad", "gender": "F"},
    ...         "b": {"emo": "neu", "gender": None}}
    >>> valid = {"c": {"emo": "neu", "gender": "M"}}
    >>> sets = {"train": DynamicItemDataset(data),
    ...         "valid": DynamicItemDataset(valid)}
    >>> fingerprint = data_fingerprint(sets, ["neu", "sad"])
    >>> fingerprint["classes"], fingerprint["train"], fingerprint["valid"]
    (['neu', 'sad'], 2, 1)
    >>> data["b"]["emo"] = "sad"
    >>> data_fingerprint(sets, ["neu", "sad"]) == fingerprint
    False
    """
    digest = hashlib.sha256(json.dumps(list(classes)).encode())
    fingerprint = {"classes": list(classes)}
    for name in FINGERPRINT_SETS:
        dataset = datasets[name]
        rows = sorted(
            [
                utt_id,
                dataset.data[utt_id]["emo"],
                dataset.data[utt_id].get("gender"),
            ]
            for utt_id in dataset.data_ids
        )
        digest.update(json.dumps([name, rows]).encode())
        fingerprint[name] = len(rows)
    fingerprint["sha256"] = digest.hexdigest()
    return fingerprint


def checkpoint_is_complete(path):
    """Whether a checkpoint folder holds every file its manifest lists, at
    the listed sizes.

    A folder whose ``CKPT.yaml`` does not ask for a manifest was written by
    SpeechBrain's plain ``Checkpointer`` and is judged as SpeechBrain does
    (complete when ``CKPT.yaml`` is readable).

    Arguments
    ---------
    path : str or pathlib.Path
        A ``CKPT+...`` folder.

    Returns
    -------
    bool

    Example
    -------
    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> checkpoint_is_complete(folder)
    False
    >>> _ = (folder / METAFNAME).write_text(f"{MANIFEST_KEY}: true\\n")
    >>> checkpoint_is_complete(folder)
    False
    >>> write_manifest(folder)
    >>> checkpoint_is_complete(folder)
    True
    """
    path = pathlib.Path(path)
    try:
        with open(path / METAFNAME, encoding="utf-8") as fin:
            meta = yaml.safe_load(fin)
        if not isinstance(meta, dict):
            return False
        if not meta.get(MANIFEST_KEY):
            return True
        with open(path / MANIFEST_NAME, encoding="utf-8") as fin:
            files = json.load(fin)["files"]
        return all(
            (path / name).is_file() and (path / name).stat().st_size == size
            for name, size in files.items()
        )
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return False


def write_manifest(path):
    """Flushes every file of a checkpoint folder to disk, then writes the
    manifest (name to size) that marks the folder complete.

    Arguments
    ---------
    path : str or pathlib.Path
        The checkpoint folder, with all its files written.

    Example
    -------
    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "model.ckpt").write_bytes(b"1234")
    >>> write_manifest(folder)
    >>> json.loads((folder / MANIFEST_NAME).read_text())
    {'files': {'model.ckpt': 4}}
    """
    path = pathlib.Path(path)
    files = {}
    for entry in sorted(path.iterdir()):
        if entry.name == MANIFEST_NAME or not entry.is_file():
            continue
        with open(entry, "rb") as fin:
            os.fsync(fin.fileno())
        files[entry.name] = entry.stat().st_size
    write_json_atomic(str(path / MANIFEST_NAME), {"files": files})


class CompleteCheckpointer(Checkpointer):
    """A SpeechBrain ``Checkpointer`` that never takes a partially written
    (or partially deleted) checkpoint for a checkpoint.

    Same arguments and use as ``speechbrain.utils.checkpoints.Checkpointer``;
    each saved folder also holds ``CKPT.complete.json``, written last.

    With ``data_fingerprint`` set (see :func:`data_fingerprint`), each
    checkpoint records it in its ``CKPT.yaml``, and loading a checkpoint
    that records another one, or none, raises
    :class:`CheckpointDataMismatch` instead (it is never loaded silently).

    Example
    -------
    >>> import tempfile, torch
    >>> layer = torch.nn.Linear(2, 2)
    >>> ckpt = CompleteCheckpointer(tempfile.mkdtemp(), {"layer": layer})
    >>> saved = ckpt.save_checkpoint(meta={"UAR": 0.5})
    >>> (saved.path / MANIFEST_NAME).exists()
    True
    >>> (saved.path / "layer.ckpt").unlink()  # as if killed while deleting
    >>> ckpt.list_checkpoints(), ckpt.remove_incomplete() == [saved.path]
    ([], True)
    >>> ckpt.data_fingerprint = {"classes": ["neu"], "sha256": "a1"}
    >>> saved = ckpt.save_checkpoint(meta={"UAR": 0.5})
    >>> other = CompleteCheckpointer(ckpt.checkpoints_dir, {"layer": layer})
    >>> other.data_fingerprint = {"classes": ["sad"], "sha256": "b2"}
    >>> try:
    ...     other.recover_if_possible()
    ... except CheckpointDataMismatch as err:
    ...     print(str(err).split(" (")[1].split(")")[0])
    classes then: ['neu'], now: ['sad']
    """

    # Set by the recipe (data_fingerprint()); None: nothing is checked
    data_fingerprint = None

    def _save_checkpoint_metafile(
        self, fpath, meta_to_include=None, end_of_epoch=True
    ):
        fpath = pathlib.Path(fpath)
        # A folder reused under a custom name is incomplete until resaved
        (fpath.parent / MANIFEST_NAME).unlink(missing_ok=True)
        meta = {"unixtime": time.time(), "end-of-epoch": end_of_epoch}
        meta.update(meta_to_include or {})
        with open(fpath, "w", encoding="utf-8") as fout:
            fout.write("# yamllint disable\n")
            # First, so that any readable part of the file asks for the
            # manifest
            fout.write(f"{MANIFEST_KEY}: true\n")
            fout.write(yaml.dump(meta))
        meta[MANIFEST_KEY] = True
        return meta

    def save_checkpoint(
        self, meta=None, end_of_epoch=True, name=None, verbosity=logging.INFO
    ):
        """Saves a checkpoint (see SpeechBrain's ``Checkpointer``), then
        marks it complete.

        Arguments
        ---------
        meta : mapping, optional
            Added to ``CKPT.yaml``.
        end_of_epoch : bool
            Whether the checkpoint is at the end of an epoch.
        name : str, optional
            A custom name for the folder.
        verbosity : int
            The logging level of the message.

        Returns
        -------
        Checkpoint or None
            The checkpoint (None on processes other than the main one).
        """
        meta = dict(meta or {})
        if self.data_fingerprint is not None:
            meta[DATA_KEY] = self.data_fingerprint
        checkpoint = super().save_checkpoint(
            meta=meta,
            end_of_epoch=end_of_epoch,
            name=name,
            verbosity=verbosity,
        )
        if checkpoint is not None:
            write_manifest(checkpoint.path)
        # Other processes list the checkpoints next (save_and_keep_only's
        # deletions): without the manifest they would not see this one,
        # call the collective _delete_checkpoint a different number of
        # times than the main process, and hang
        ddp_barrier()
        return checkpoint

    def load_checkpoint(self, checkpoint):
        """Loads a checkpoint (see SpeechBrain's ``Checkpointer``) after
        checking that it was made on this run's data and classes.

        Arguments
        ---------
        checkpoint : Checkpoint
            The checkpoint to load.

        Raises
        ------
        CheckpointDataMismatch
            If ``data_fingerprint`` is set and the checkpoint records
            another one, or none.
        """
        self.check_data(checkpoint)
        super().load_checkpoint(checkpoint)

    def check_data(self, checkpoint):
        """Raises unless ``checkpoint`` was made on this run's data and
        classes (nothing is checked while ``data_fingerprint`` is None).

        Arguments
        ---------
        checkpoint : Checkpoint
            A checkpoint of this checkpointer.

        Raises
        ------
        CheckpointDataMismatch
            Saying what differs and what to do.
        """
        expected = self.data_fingerprint
        if expected is None:
            return
        found = checkpoint.meta.get(DATA_KEY)
        if isinstance(found, dict) and found.get("sha256") == expected.get(
            "sha256"
        ):
            return
        if not isinstance(found, dict):
            what = (
                f"{checkpoint.path.name} records no data fingerprint (made "
                "by an older version or another script), so it cannot be "
                "told from a checkpoint of other data"
            )
        elif found.get("classes") != expected.get("classes"):
            what = (
                f"classes then: {found.get('classes')}, now: "
                f"{expected.get('classes')}"
            )
        else:
            counts = [
                f"{name} {found.get(name)} then, {expected.get(name)} now"
                for name in FINGERPRINT_SETS
            ]
            what = (
                "the same classes, other utterances or labels in train or "
                f"valid ({'; '.join(counts)})"
            )
        raise CheckpointDataMismatch(
            f"The checkpoints in {self.checkpoints_dir} were made on other "
            f"data or classes than this run's ({what}): resuming from them "
            "would continue, or skip, training done on other data. "
            f"{afresh_advice(self.checkpoints_dir)}"
        )

    def _list_checkpoint_dirs(self):
        return [
            path
            for path in super()._list_checkpoint_dirs()
            if checkpoint_is_complete(path)
        ]

    @main_process_only
    def remove_incomplete(self):
        """Deletes the ``CKPT+*`` folders that are not complete checkpoints
        (left by a run stopped while saving or deleting one).

        Returns
        -------
        list of pathlib.Path
            The folders deleted.
        """
        removed = []
        if not self.checkpoints_dir.is_dir():
            return removed
        for path in sorted(self.checkpoints_dir.iterdir()):
            if not path.is_dir() or not path.name.startswith(CKPT_PREFIX):
                continue
            if checkpoint_is_complete(path):
                continue
            logger.warning(
                f"Removing incomplete checkpoint {path} (a run stopped while "
                "writing or deleting it); it will not be loaded"
            )
            shutil.rmtree(path)
            removed.append(path)
        return removed


class RandomStates:
    """The random states of every process, as a checkpoint recoverable.

    Saves and restores Python's ``random`` state, NumPy's global state,
    torch's CPU generator and, when CUDA is available, the generator of
    every CUDA device. Added to a ``Checkpointer``'s recoverables, it makes
    a run resumed from any checkpoint (intra-epoch ones included) draw the
    random numbers the saving run would have drawn next. The rest of an
    exact resume is SpeechBrain's: the epoch counter, the training loader's
    position (``SaveableDataLoader``) and its sampler, reseeded with the
    seed plus the epoch (``ReproducibleRandomSampler``).

    Under DDP every process's states are gathered to the main process,
    which writes them all in the one file; each process resumes with its
    own (a run resumed with another number of processes: every process
    with the main process's, and a warning). The file loads with
    ``torch.load(..., weights_only=True)``. Data loader workers seed
    themselves from the loader's base seed, not from these states (see
    ``speechbrain_gemo.brain.RobustBrain``).

    Example
    -------
    >>> import tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rng.ckpt"
    >>> states = RandomStates()
    >>> states.save(path)
    >>> first = (random.random(), np.random.rand(), torch.rand(1).item())
    >>> states.load(path, end_of_epoch=False)
    >>> first == (random.random(), np.random.rand(), torch.rand(1).item())
    True
    """

    @mark_as_saver
    def save(self, path):
        """Gathers the processes' random states and writes them to
        ``path`` (on the main process; every process must call it).

        Arguments
        ---------
        path : str or pathlib.Path
            The checkpoint file.
        """
        states = [_current_random_states()]
        if is_distributed_initialized():
            gathered = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, states[0])
            states = gathered
        if if_main_process():
            torch.save({"processes": states}, path)

    @mark_as_loader
    def load(self, path, end_of_epoch):
        """Restores this process's random states saved in ``path``.

        Arguments
        ---------
        path : str or pathlib.Path
            The checkpoint file.
        end_of_epoch : bool
            Unused: the states are restored wherever the checkpoint was
            taken.
        """
        del end_of_epoch
        saved = torch.load(path, weights_only=True)
        processes = saved.get("processes", [saved])  # one-process files
        rank, world = 0, 1
        if is_distributed_initialized():
            rank = torch.distributed.get_rank()
            world = torch.distributed.get_world_size()
        if len(processes) != world:
            if rank == 0:
                logger.warning(
                    f"{path} holds the random states of {len(processes)} "
                    f"processes, this run has {world}: every process "
                    "resumes with the main process's"
                )
            rank = 0
        _restore_random_states(processes[rank], path)


# Every process runs the saver: it gathers the states to the main process
register_checkpoint_hooks(RandomStates, save_on_main_only=False)


def _current_random_states():
    """This process's random states (see ``RandomStates``)."""
    version, state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = {
        "python": {"version": version, "state": state, "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_random_states(states, path):
    """Sets this process's random states (see ``RandomStates``) read from
    the file ``path``."""
    python = states["python"]
    random.setstate(
        (python["version"], tuple(python["state"]), python["gauss"])
    )
    numpy = states["numpy"]
    np.random.set_state(
        (
            numpy["kind"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        cuda = states["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            logger.warning(
                f"{path} holds the CUDA random states of {len(cuda)} "
                f"devices, this process sees {torch.cuda.device_count()}: "
                "CUDA random states not restored"
            )
