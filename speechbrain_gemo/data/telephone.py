"""Telephone audio: the chain that turns wideband speech into what a call
recorder stores, a command that writes a test set as telephone audio, and
the recipes' training augmentation with it.

The chain (``telephone_audio``), as a telephone network treats a call:

1. the channels' mean, resampled to 8 kHz (``speechbrain_gemo.audio_format``,
   the resampler every reader of the project uses);
2. band-limited to 300-3400 Hz (the telephone band of ITU-T G.712): an
   8th-order Butterworth band-pass (-3 dB at the band's edges, 24 dB per
   octave outside), causal as a real channel's filter;
3. clipped to full scale and coded with a telephone codec: G.711 mu-law
   (``mulaw``), G.711 A-law (``alaw``) or GSM 06.10 full rate (``gsm``),
   the WAV subtypes ``ULAW``, ``ALAW`` and ``GSM610`` of libsndfile.

Telephone version of a test set (``make_telephone_test_set``)::

    python -m speechbrain_gemo.data.telephone --manifest test.json \\
        --data_root ROOT --out DIR [--codec mulaw|alaw|gsm] [--seed S]

writes every utterance of the manifest as an 8 kHz WAV file of the codec
(``DIR/<utterance id>.wav``) and the manifest of those files
(``DIR/<manifest name>``, ``{data_root}`` = ``DIR``), so that any model is
measured on telephone audio with ``python -m speechbrain_gemo.infer
--model M --labels DIR/test.json --data_root DIR``. Without ``--codec``,
each utterance's codec is drawn from the three with the seed (the same
draw for the same utterance id and seed, whatever else is in the
manifest). Files are written to a temporary name and renamed; a run
started again skips the files already written and retries the others; a
source file that cannot be read is left out, listed in
``DIR/skipped.csv``, and the exit status is 1.

Training (``telephone_augment``): the recipes' ``telephone_prob`` sends each
training utterance, with that probability, through the chain (codec drawn
from the three), then back to the model's rate with the readers' resampler,
exactly what reading a telephone file gives at inference. The draws come
from Python's ``random`` (as the random crops do), so a run is
deterministic for its seed and resumes exactly (``RandomStates``); with
``telephone_prob`` 0 nothing is drawn and training is unchanged.

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import functools
import glob
import io
import json
import os
import random
import sys

import numpy as np
import soundfile

from speechbrain_gemo.audio_format import resample, to_mono_at
from speechbrain_gemo.io import (
    write_json_atomic,
    write_text_atomic,
    write_wav_atomic,
)

TELEPHONE_RATE = 8000
# The telephone band (ITU-T G.712), Hz
TELEPHONE_BAND = (300.0, 3400.0)
# Butterworth order per edge: a band-pass of order 2 * BAND_ORDER
BAND_ORDER = 4
# Codec name -> libsndfile WAV subtype
CODECS = {"mulaw": "ULAW", "alaw": "ALAW", "gsm": "GSM610"}
OPTS_FILE = "telephone_opts.json"
SKIPPED_FILE = "skipped.csv"
DEFAULT_SEED = 1986


@functools.cache
def _band_filter(sample_rate):
    """Second-order sections of the band-pass at ``sample_rate``."""
    from scipy.signal import butter

    return butter(
        BAND_ORDER,
        TELEPHONE_BAND,
        btype="bandpass",
        fs=sample_rate,
        output="sos",
    )


def band_limit(signal, sample_rate=TELEPHONE_RATE):
    """Band-limits to the telephone band (``TELEPHONE_BAND``) with a
    causal 8th-order Butterworth band-pass (-3 dB at the edges).

    Arguments
    ---------
    signal : numpy.ndarray
        Mono samples.
    sample_rate : int
        Their rate.

    Returns
    -------
    numpy.ndarray
        float32 samples, as many.

    Example
    -------
    >>> t = np.arange(16000) / 8000
    >>> def gain(hz):  # of a sine, once the filter has settled
    ...     y = band_limit(np.sin(2 * np.pi * hz * t))[8000:]
    ...     return round(float(np.sqrt(2 * np.mean(y**2))), 2)
    >>> gain(100), gain(300), gain(1000), gain(3400), gain(3800)
    (0.01, 0.71, 1.0, 0.71, 0.01)
    """
    from scipy.signal import sosfilt

    filtered = sosfilt(_band_filter(sample_rate), np.asarray(signal))
    return filtered.astype(np.float32)


def telephone_audio(signal, sample_rate):
    """Steps 1 and 2 of the chain and the clipping of step 3: what the
    codec is given (``code`` codes it).

    Arguments
    ---------
    signal : numpy.ndarray
        ``(time,)`` or ``(time, channels)`` samples.
    sample_rate : int
        Their rate.

    Returns
    -------
    numpy.ndarray
        float32 mono samples at ``TELEPHONE_RATE``, within [-1, 1].

    Example
    -------
    >>> telephone_audio(np.zeros((16000, 2)), 16000).shape
    (8000,)
    """
    narrow = band_limit(to_mono_at(signal, sample_rate, TELEPHONE_RATE))
    return np.clip(narrow, -1.0, 1.0)


def check_codec(codec):
    """Checks a codec name.

    Arguments
    ---------
    codec : str
        One of ``CODECS``.

    Returns
    -------
    str
        The libsndfile WAV subtype.

    Example
    -------
    >>> check_codec("gsm")
    'GSM610'
    >>> check_codec("opus")
    Traceback (most recent call last):
    ...
    ValueError: codec 'opus': expected one of mulaw, alaw, gsm
    """
    if codec not in CODECS:
        raise ValueError(
            f"codec {codec!r}: expected one of {', '.join(CODECS)}"
        )
    return CODECS[codec]


def code(narrow, codec):
    """Codes and decodes 8 kHz samples with a telephone codec, in memory:
    written as a WAV file of the codec's subtype and read back, so the
    samples are exactly those a file of that codec holds.

    (SpeechBrain's ``CodecAugment`` does the same round trip through
    soundfile, then cuts or pads the result to the input's length; a GSM
    06.10 file holds whole blocks of 320 samples, more than the input, and
    the chain must give what a reader of such a file gets.)

    Arguments
    ---------
    narrow : numpy.ndarray
        Output of ``telephone_audio``.
    codec : str
        One of ``CODECS``.

    Returns
    -------
    numpy.ndarray
        float32 samples: as many for G.711, whole blocks for GSM.

    Example
    -------
    >>> x = 0.5 * np.sin(np.arange(800) / 5).astype(np.float32)
    >>> y = code(x, "mulaw")
    >>> y.shape, bool(np.abs(y - x).max() < 0.02), bool((y != x).any())
    ((800,), True, True)
    >>> gsm = code(x, "gsm")
    >>> len(gsm) % 320, len(gsm) >= len(x)
    (0, True)
    """
    subtype = check_codec(codec)
    buffer = io.BytesIO()
    soundfile.write(
        buffer, narrow, TELEPHONE_RATE, format="WAV", subtype=subtype
    )
    buffer.seek(0)
    return soundfile.read(buffer, dtype="float32")[0]


def telephone_augment(sig, sample_rate, prob, rng=random):
    """The recipes' training augmentation: with probability ``prob``, the
    waveform through the chain with a codec drawn from ``CODECS``, back at
    ``sample_rate`` (resampled as every reader resamples an 8 kHz file).

    Arguments
    ---------
    sig : torch.Tensor
        A mono waveform, ``(time,)``.
    sample_rate : int
        Its rate (the model's).
    prob : float
        The probability, 0 to 1; with 0 nothing is drawn from ``rng``.
    rng : random.Random
        Where the draws come from (default: Python's ``random``, seeded by
        the recipe and saved in its checkpoints).

    Returns
    -------
    torch.Tensor
        ``sig`` itself, or its telephone version, as many samples.

    Example
    -------
    >>> import torch
    >>> sig = torch.randn(16000) * 0.1
    >>> telephone_augment(sig, 16000, 0.0) is sig
    True
    >>> out = telephone_augment(sig, 16000, 1.0, random.Random(0))
    >>> out.shape, out.dtype, bool((out != sig).any())
    (torch.Size([16000]), torch.float32, True)
    """
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"telephone_prob {prob}: expected 0 to 1")
    if prob == 0.0 or rng.random() >= prob:
        return sig
    import torch

    codec = rng.choice(list(CODECS))
    samples = sig.detach().cpu().numpy()
    coded = code(telephone_audio(samples, sample_rate), codec)
    back = resample(coded, TELEPHONE_RATE, sample_rate)
    # the resampled length can differ from the original's by a sample
    out = np.zeros(len(samples), dtype=np.float32)
    out[: min(len(out), len(back))] = back[: len(out)]
    return torch.from_numpy(out).to(sig.device, sig.dtype)


def utterance_codec(utt_id, codec, seed):
    """The codec of one utterance of a telephone test set: ``codec`` when
    given, else drawn from ``CODECS`` with the seed and the utterance id
    (the same draw whatever else the manifest holds).

    Arguments
    ---------
    utt_id : str
        The utterance id.
    codec : str or None
        A fixed codec.
    seed : int
        The seed of the draw.

    Returns
    -------
    str
        A codec name.

    Example
    -------
    >>> utterance_codec("u1", "alaw", 1)
    'alaw'
    >>> utterance_codec("u1", None, 1) == utterance_codec("u1", None, 1)
    True
    """
    if codec is not None:
        return codec
    return random.Random(f"{seed}:{utt_id}").choice(list(CODECS))


def telephone_path(out, utt_id):
    """Where a telephone test set keeps an utterance: ``out/<id>.wav``
    (an id with ``/`` gets subfolders).

    Arguments
    ---------
    out : str
        The output folder.
    utt_id : str
        The utterance id.

    Returns
    -------
    str
        The path relative to ``out``, with ``/``.

    Example
    -------
    >>> telephone_path("tel", "Ses01F_impro01_F000")
    'Ses01F_impro01_F000.wav'
    >>> telephone_path("tel", "../x")
    Traceback (most recent call last):
    ...
    ValueError: utterance id '../x' cannot name a file inside tel
    """
    parts = str(utt_id).replace("\\", "/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"utterance id {utt_id!r} cannot name a file inside {out}"
        )
    return "/".join(parts) + ".wav"


def _read_manifest(manifest):
    """The entries of a JSON manifest, with clear errors."""
    try:
        with open(manifest, encoding="utf-8") as f:
            entries = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"manifest {manifest} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"manifest {manifest} is not JSON: {err}") from None
    if not isinstance(entries, dict) or not entries:
        raise ValueError(
            f"manifest {manifest}: expected a JSON object of utterances "
            '({"<id>": {"wav": ..., ...}}), found '
            + ("an empty one" if entries == {} else type(entries).__name__)
        )
    for utt_id, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("wav"), str):
            raise ValueError(
                f"manifest {manifest}: utterance {utt_id!r} has no 'wav' path"
            )
    return entries


def _source_path(wav, data_root, manifest, utt_id):
    """The source file of an entry (``{data_root}`` replaced)."""
    if "{data_root}" in wav:
        if data_root is None:
            raise ValueError(
                f"manifest {manifest}: utterance {utt_id!r} is under "
                "{data_root}: give --data_root (the folder it stands for)"
            )
        wav = wav.replace("{data_root}", data_root)
    return wav


def _check_options(out, opts):
    """Refuses an output folder that a run with other options wrote to;
    records the options otherwise."""
    path = os.path.join(out, OPTS_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            earlier = json.load(f)
        if earlier != opts:
            changed = sorted(
                k
                for k in set(opts) | set(earlier)
                if opts.get(k) != earlier.get(k)
            )
            raise ValueError(
                f"{out} holds a telephone test set made with other options "
                f"({', '.join(f'{k}={earlier.get(k)!r}' for k in changed)}); "
                "give another --out or delete it"
            )
    else:
        write_json_atomic(path, opts)


def _remove_stale_temporaries(path):
    """Removes the temporary files of ``path`` that a killed run left
    (``speechbrain_gemo.io`` writes ``.<name>.<random>.tmp`` beside it)."""
    folder, name = os.path.split(path)
    for stale in glob.glob(os.path.join(folder, f".{glob.escape(name)}.*.tmp")):
        os.remove(stale)


def _is_written(path, codec):
    """Whether a file of a previous run is there in the expected format
    (files are renamed into place only once complete)."""
    try:
        info = soundfile.info(path)
    except Exception:  # libsndfile raises several error types
        return False
    return (
        info.samplerate == TELEPHONE_RATE
        and info.subtype == CODECS[codec]
        and info.channels == 1
    )


def make_telephone_test_set(
    manifest, out, data_root=None, codec=None, seed=DEFAULT_SEED
):
    """Writes a manifest's utterances as telephone audio, and their
    manifest (see the module docstring).

    Arguments
    ---------
    manifest : str
        A JSON manifest (``{"<id>": {"wav": ..., ...}}``).
    out : str
        The output folder.
    data_root : str, optional
        The folder ``{data_root}`` stands for in the manifest.
    codec : str, optional
        One of ``CODECS`` for every utterance; None draws each one's.
    seed : int
        The seed of those draws.

    Returns
    -------
    dict
        ``manifest`` (the written manifest), ``written`` and ``done``
        (files written now, files found from an earlier run), ``skipped``
        (``(utt_id, path, reason)`` of each unreadable source) and
        ``codecs`` (utterances per codec).

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> soundfile.write(tmp / "a.wav", np.zeros(16000), 16000)
    >>> _ = (tmp / "m.json").write_text(
    ...     '{"a": {"wav": "{data_root}/a.wav", "emo": "neu"}}')
    >>> result = make_telephone_test_set(
    ...     str(tmp / "m.json"), str(tmp / "tel"), str(tmp), codec="alaw")
    >>> result["written"], result["codecs"]
    (1, {'alaw': 1})
    >>> json.load(open(result["manifest"]))["a"]
    {'wav': '{data_root}/a.wav', 'duration': 1.0, 'emo': 'neu', 'codec': 'alaw'}
    """
    if codec is not None:
        check_codec(codec)
    entries = _read_manifest(manifest)
    if data_root is not None and not os.path.isdir(data_root):
        raise FileNotFoundError(f"--data_root {data_root} is not a folder")
    out_manifest = os.path.join(out, os.path.basename(manifest))
    if os.path.abspath(out_manifest) == os.path.abspath(manifest):
        raise ValueError(
            f"--out {out} would overwrite the manifest {manifest}: give "
            "another folder"
        )
    # every entry checked before anything is written
    plan = [
        (
            utt_id,
            entry,
            telephone_path(out, utt_id),
            _source_path(entry["wav"], data_root, manifest, utt_id),
        )
        for utt_id, entry in entries.items()
    ]
    os.makedirs(out, exist_ok=True)
    _check_options(out, {"codec": codec, "seed": seed})
    result = {"written": 0, "done": 0, "skipped": [], "codecs": {}}
    telephone = {}
    for utt_id, entry, relative, source in plan:
        target = os.path.join(out, *relative.split("/"))
        chosen = utterance_codec(utt_id, codec, seed)
        if _is_written(target, chosen):
            result["done"] += 1
        else:
            try:
                samples, rate = soundfile.read(
                    source, dtype="float32", always_2d=True
                )
                if len(samples) == 0:
                    raise ValueError("no samples")
            except Exception as err:  # libsndfile raises several types
                reason = str(err).replace("\n", " ")
                print(f"skipped {utt_id}: {source}: {reason}", file=sys.stderr)
                result["skipped"].append((utt_id, source, reason))
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _remove_stale_temporaries(target)
            write_wav_atomic(
                target,
                telephone_audio(samples, rate),
                TELEPHONE_RATE,
                subtype=CODECS[chosen],
            )
            result["written"] += 1
        fields = {
            k: v for k, v in entry.items() if k not in ("wav", "duration")
        }
        telephone[utt_id] = {
            "wav": "{data_root}/" + relative,
            "duration": soundfile.info(target).duration,
            **fields,
            "codec": chosen,
        }
        result["codecs"][chosen] = result["codecs"].get(chosen, 0) + 1
    skipped_path = os.path.join(out, SKIPPED_FILE)
    if result["skipped"]:
        lines = ["utt_id,path,reason"] + [
            ",".join(json.dumps(str(v)) for v in row)
            for row in result["skipped"]
        ]
        write_text_atomic(skipped_path, "\n".join(lines) + "\n")
    elif os.path.exists(skipped_path):
        os.remove(skipped_path)
    write_json_atomic(out_manifest, telephone)
    result["manifest"] = out_manifest
    return result


def main(argv=None):
    """Command-line entry point (see the module docstring).

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, or 1 when some source files were left out.
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.data.telephone",
        description=(
            "Write a test set as telephone audio (8 kHz, 300-3400 Hz, a "
            "telephone codec) with its manifest, to measure a model on it "
            "with python -m speechbrain_gemo.infer --labels."
        ),
    )
    parser.add_argument("--manifest", required=True, help="a JSON manifest")
    parser.add_argument(
        "--data_root", help="the folder {data_root} stands for in it"
    )
    parser.add_argument("--out", required=True, help="the output folder")
    parser.add_argument(
        "--codec",
        choices=list(CODECS),
        help="one codec for every file (default: drawn per file)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the codec draws",
    )
    args = parser.parse_args(argv)
    try:
        result = make_telephone_test_set(
            args.manifest, args.out, args.data_root, args.codec, args.seed
        )
    except (OSError, ValueError) as err:
        parser.exit(2, f"error: {err}\n")
    codecs = ", ".join(f"{k} {v}" for k, v in sorted(result["codecs"].items()))
    print(
        f"{result['written']} files written, {result['done']} already done "
        f"({codecs}); manifest {result['manifest']}"
    )
    if result["skipped"]:
        print(
            f"{len(result['skipped'])} source files could not be read and "
            f"are left out: see {os.path.join(args.out, SKIPPED_FILE)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
