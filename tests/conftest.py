"""Shared fixtures: small local Hugging Face models, offline by default.

The whole suite runs with the network blocked: any attempt to open a
non-local socket fails the test that made it. Hub look-ups are also
disabled through ``HF_HUB_OFFLINE``.
"""

import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from speechbrain_gemo.testing import (  # noqa: E402
    SSL_KINDS,
    save_tiny_ssl_model,
    save_tiny_text_model,
)

_LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_real_connect = socket.socket.connect


def _guarded_connect(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if sock.family == socket.AF_UNIX or host in _LOCAL_HOSTS:
        return _real_connect(sock, address)
    raise OSError(f"Network access blocked in tests (tried {address!r})")


@pytest.fixture(autouse=True, scope="session")
def block_network():
    """Makes any non-local socket connection fail, for the whole suite."""
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(scope="session")
def tiny_ssl_dirs(tmp_path_factory):
    """Folders of small random WavLM, HuBERT, wav2vec2 and data2vec-audio
    models, keyed by kind."""
    root = tmp_path_factory.mktemp("tiny_ssl")
    return {
        kind: save_tiny_ssl_model(kind, str(root / kind)) for kind in SSL_KINDS
    }


@pytest.fixture(scope="session")
def tiny_wavlm_dir(tiny_ssl_dirs):
    """Folder of a small random WavLM."""
    return tiny_ssl_dirs["wavlm"]


@pytest.fixture(scope="session")
def tiny_roberta_dir(tmp_path_factory):
    """Folder of a small random RoBERTa with a working tokenizer."""
    return save_tiny_text_model(str(tmp_path_factory.mktemp("tiny_roberta")))


def _tolerant_lazy_getattr(self, attr):
    """SpeechBrain's lazy modules raise ImportError, not AttributeError, when
    probed for a dunder such as ``__file__`` and their optional dependency
    (k2, ...) is missing. Hypothesis probes every module in ``sys.modules``
    with ``getattr(module, "__file__", None)`` to collect constants, which
    then crashes the whole session; report such probes as missing
    attributes instead."""
    try:
        module = self.ensure_module(1)
    except ImportError as err:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr) from err
        raise
    return getattr(module, attr)


def _patch_speechbrain_lazy_modules():
    from speechbrain.utils.importutils import LazyModule

    LazyModule.__getattr__ = _tolerant_lazy_getattr


_patch_speechbrain_lazy_modules()
