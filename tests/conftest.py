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


def pytest_addoption(parser):
    """``--reverse-order``: run the tests in the reverse of the collection
    order, to show that none relies on another having run first."""
    parser.addoption(
        "--reverse-order",
        action="store_true",
        default=False,
        help="collect the tests (doctests included) in reverse order",
    )


def pytest_collection_modifyitems(config, items):
    """Reverses the collected tests under ``--reverse-order``."""
    if config.getoption("--reverse-order"):
        items.reverse()


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


# The same block for every Python subprocess the tests start (train.py,
# torchrun, ...): a sitecustomize module on PYTHONPATH patches the socket
# at interpreter start-up, and HF_HUB_OFFLINE stops hub look-ups.
_OFFLINE_SITECUSTOMIZE = '''\
"""Written by tests/conftest.py: the test subprocesses have no network."""
import socket

_LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    return sock.family == socket.AF_UNIX or host in _LOCAL_HOSTS


def _guarded_connect(sock, address):
    if _allowed(sock, address):
        return _real_connect(sock, address)
    raise OSError(f"Network access blocked in tests (tried {address!r})")


def _guarded_connect_ex(sock, address):
    if _allowed(sock, address):
        return _real_connect_ex(sock, address)
    raise OSError(f"Network access blocked in tests (tried {address!r})")


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
'''


@pytest.fixture(autouse=True, scope="session")
def block_network_in_subprocesses(tmp_path_factory):
    """Makes non-local connections fail in Python subprocesses too."""
    folder = tmp_path_factory.mktemp("offline_site")
    (folder / "sitecustomize.py").write_text(_OFFLINE_SITECUSTOMIZE)
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "HF_HUB_OFFLINE")}
    paths = [str(folder)] + [p for p in [saved["PYTHONPATH"]] if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield str(folder)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
