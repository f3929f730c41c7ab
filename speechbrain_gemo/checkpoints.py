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

Authors
 * speechbrain-gemo developers 2026
"""

import json
import logging
import os
import pathlib
import shutil
import time

import yaml
from speechbrain.utils.checkpoints import CKPT_PREFIX, METAFNAME, Checkpointer
from speechbrain.utils.distributed import main_process_only
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.io import write_json_atomic

logger = get_logger(__name__)

MANIFEST_NAME = "CKPT.complete.json"
# Written as the first line of CKPT.yaml: this folder needs its manifest
MANIFEST_KEY = "complete-manifest"


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
    """

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
        checkpoint = super().save_checkpoint(
            meta=meta or {},
            end_of_epoch=end_of_epoch,
            name=name,
            verbosity=verbosity,
        )
        if checkpoint is not None:
            write_manifest(checkpoint.path)
        return checkpoint

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
