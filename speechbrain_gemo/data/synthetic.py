"""A synthetic emotional speech corpus in the IEMOCAP release layout.

The corpus is spoken by eSpeak NG (through the ``espeakng-loader`` package)
so that the whole recipe can be exercised without the licensed IEMOCAP
data: ten speakers (a female and a male per session, each with their own
eSpeak voice variant, base pitch, speaking rate and recording channel),
four emotions rendered through prosody (speaking rate, pitch level and
range, loudness, pauses and a vocal-effort spectral tilt) with
per-utterance variation, the same sentences in every emotion so that the
wording carries no label, and a few utterances with labels outside the
four classes (and ``exc``, merged into ``hap`` by the preparation).

Each utterance is also rated for valence, activation (arousal) and
dominance on IEMOCAP's 1-5 scale, written where IEMOCAP writes them (the
label line's ``[V, A, D]``, the annotators' ``A-E<k>`` lines), so the
preparation reads them as it reads IEMOCAP's. A rating is not a copy of
the class label: it is the emotion's typical value (``VAD_BASE``), plus
the utterance's speaking style (how much faster, higher, wider in pitch
or more effortful it is spoken than its emotion's typical rendering by
that speaker: ``STYLE_WEIGHTS``), plus each of two annotators' noise
(``ANNOTATOR_NOISE``), each annotator's rating being rounded to a whole
number in 1-5 and the two averaged. Two utterances of one class thus get
different ratings, partly audible (the style) and partly not (the
noise), as in a real corpus.

The files follow the official release exactly where the preparation reads
them::

    OUT/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt
    OUT/Session{1..5}/dialog/EmoEvaluation/Categorical/<dialog>_e<k>_cat.txt
    OUT/Session{1..5}/dialog/transcriptions/<dialog>.txt
    OUT/Session{1..5}/sentences/wav/<dialog>/<utterance>.wav  (16 kHz mono)

Generation is deterministic for a seed: each utterance is synthesised by
a freshly loaded copy of the eSpeak NG library (see
:mod:`speechbrain_gemo.data.espeak`, the ctypes binding), so it does not
depend on what was synthesised before. This module plans the corpus
(speakers, emotions rendered as prosody, annotations), "records" each
utterance (tilt, silence, gain, channel noise) and writes the release
layout.

Usage::

    python -m speechbrain_gemo.data.synthetic --out DIR [--seed N]

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import functools
import json
import logging
import math
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from speechbrain_gemo.data.espeak import ESpeakNG
from speechbrain_gemo.io import write_text_atomic, write_wav_atomic

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
DEFAULT_SEED = 1986
# 2: arousal, valence and dominance follow the speaking style (audio
# unchanged)
GENERATOR_VERSION = 2
MARKER_NAME = ".synthetic_complete.json"
PROGRESS_NAME = ".synthetic_in_progress.json"
CLASSES = ("neu", "hap", "ang", "sad")
# Labels the preparation merges into a class.
MERGED_LABELS = {"exc": "hap"}
EXTRA_LABELS = ("fru", "sur", "xxx")
LABEL_FILE_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"

# Short, emotionally neutral sentences of similar length (7 to 9
# syllables), so that duration mostly reflects the speaking rate.
SENTENCES = (
    "I left the papers on the table.",
    "The train leaves at seven tonight.",
    "We talked about it yesterday.",
    "She moved into a new apartment.",
    "The store closes at nine o'clock.",
    "He wrote the number on a card.",
    "They are painting the kitchen today.",
    "My brother called me this morning.",
    "The keys are in the blue bag.",
    "I will see you after lunch.",
    "The window faces the garden.",
    "We need to fill out the form.",
)


@dataclass(frozen=True)
class Prosody:
    """How an utterance is spoken, in eSpeak NG's parameter units.

    Arguments
    ---------
    rate : float
        Speaking rate in words per minute (eSpeak: 80 to 450).
    pitch : float
        Base pitch, 0 to 100 (50 is the voice's own base pitch; the scale
        spans about an octave down and up).
    pitch_range : float
        Pitch range, 0 (monotone) to 100.
    volume : float
        Loudness, 0 to 200 (100 is normal). eSpeak NG saturates above
        about 110, so :func:`render_utterance` synthesises at a fixed safe
        level and applies this as a linear gain instead.
    word_gap : float
        Extra pause between words, in units of 10 ms.
    tilt : float
        Vocal-effort spectral tilt applied after synthesis: positive
        values brighten (pressed, loud voice), negative values darken
        (soft, lax voice); about -0.5 to 0.6.

    Example
    -------
    >>> Prosody(175, 50, 50, 100, 0, 0.0).rate
    175
    """

    rate: float
    pitch: float
    pitch_range: float
    volume: float
    word_gap: float
    tilt: float


# The emotion cues. Rate and pitch (level and range) carry each class on
# their own, since the recipe normalises every waveform (erasing volume);
# tilt and pauses add cues that survive normalisation as well.
EMOTION_PROSODY = {
    "neu": Prosody(160, 48, 40, 100, 0, 0.00),
    "hap": Prosody(195, 76, 88, 120, 0, 0.15),
    "exc": Prosody(210, 80, 92, 130, 0, 0.25),
    "ang": Prosody(240, 62, 60, 150, 0, 0.55),
    "sad": Prosody(125, 33, 12, 65, 2, -0.35),
    "fru": Prosody(185, 42, 50, 125, 1, 0.30),
    "sur": Prosody(175, 84, 95, 115, 0, 0.10),
    "fea": Prosody(215, 72, 25, 80, 1, -0.10),
    "dis": Prosody(140, 38, 45, 95, 2, 0.10),
    "oth": Prosody(170, 52, 50, 100, 0, 0.00),
    # "xxx" (no annotator agreement) blends two of the four classes.
}

# Per-utterance variation (standard deviations), so that classes overlap.
JITTER = Prosody(
    rate=0.06, pitch=4.0, pitch_range=7.0, volume=0.10, word_gap=0.7, tilt=0.08
)

# Categorical names used by annotators (and in the Categorical files).
CATEGORY_NAMES = {
    "neu": "Neutral",
    "hap": "Happiness",
    "exc": "Excited",
    "ang": "Anger",
    "sad": "Sadness",
    "fru": "Frustration",
    "sur": "Surprise",
    "fea": "Fear",
    "dis": "Disgust",
    "oth": "Other",
}
# What a dissenting annotator picks instead.
NEIGHBOURS = {
    "neu": ("Frustration", "Sadness"),
    "hap": ("Excited", "Surprise"),
    "exc": ("Happiness", "Surprise"),
    "ang": ("Frustration",),
    "sad": ("Neutral", "Frustration"),
    "fru": ("Anger", "Neutral"),
    "sur": ("Happiness", "Excited"),
    "fea": ("Surprise", "Sadness"),
    "dis": ("Anger", "Frustration"),
    "oth": ("Neutral",),
}
# Typical (valence, activation, dominance) on the 1 to 5 scale.
VAD_BASE = {
    "neu": (3.0, 2.5, 2.5),
    "hap": (4.0, 3.0, 3.0),
    "exc": (4.0, 3.5, 3.0),
    "ang": (1.5, 4.0, 4.0),
    "sad": (2.0, 2.0, 2.0),
    "fru": (2.0, 3.0, 3.0),
    "sur": (3.5, 3.5, 3.0),
    "fea": (2.0, 3.5, 2.0),
    "dis": (2.0, 3.0, 3.5),
    "oth": (3.0, 3.0, 3.0),
    "xxx": (2.5, 3.0, 3.0),
}
EVALUATORS = ("E1", "E2", "E3", "E4", "E5", "E6")

# How the speaking style moves each rating (valence, activation,
# dominance), in scale points per standard deviation of the style's
# prosodic cues (see speaking_style): faster, higher, wider and more
# effortful speech is more activated; a wider pitch range sounds more
# positive, a pressed voice less; effort and pace sound dominant, a high
# voice less so. Loudness is left out: the recipe normalises the waveform.
STYLE_WEIGHTS = {
    "valence": {"pitch_range": 0.15, "tilt": -0.10},
    "activation": {
        "rate": 0.25,
        "pitch": 0.20,
        "pitch_range": 0.10,
        "tilt": 0.20,
    },
    "dominance": {"tilt": 0.25, "rate": 0.15, "pitch": -0.10},
}
# Each annotator's rating noise (standard deviation, scale points) before
# rounding to a whole number.
ANNOTATOR_NOISE = 0.45


@dataclass(frozen=True)
class Speaker:
    """One speaker of the synthetic corpus.

    Arguments
    ---------
    session : int
        Session number, 1 to 5.
    gender : str
        ``"F"`` or ``"M"``.
    voice : str
        eSpeak NG voice name with a variant, e.g. ``"en-us+f1"``.
    pitch_offset : float
        Added to every utterance's pitch parameter (it includes the
        calibration of the voice's own base pitch).
    range_offset : float
        Added to every utterance's pitch range parameter.
    rate_factor : float
        Multiplies every utterance's speaking rate.
    gain_db : float
        Recording gain of the speaker's channel.
    noise_db : float
        RMS level of the channel's background noise, in dB full scale.

    Example
    -------
    >>> SPEAKERS[0].name
    'Ses01F'
    """

    session: int
    gender: str
    voice: str
    pitch_offset: float
    range_offset: float
    rate_factor: float
    gain_db: float
    noise_db: float

    @property
    def name(self):
        """The speaker id used in the summary, e.g. ``Ses01F``."""
        return f"Ses{self.session:02d}{self.gender}"


# The pitch offsets first calibrate each voice (eSpeak's male variants are
# low) so that neutral speech sits near 185 Hz (female) or 105 Hz (male),
# then leave the speakers of a gender about +-6 % apart. Speaker
# differences stay smaller than emotion differences: sad is about 20 %
# lower and happy 45 % higher than neutral; rates differ by +-5 % between
# speakers but span 125 to 240 words per minute between emotions.
SPEAKERS = (
    Speaker(1, "F", "en-us+f1", 6, 3, 1.00, 0.0, -62),
    Speaker(1, "M", "en-us+m1", 14, -2, 1.04, -1.5, -62),
    Speaker(2, "F", "en+f2", 0, 0, 0.96, 1.0, -58),
    Speaker(2, "M", "en+m3", 6, 4, 0.98, 0.5, -58),
    Speaker(3, "F", "en-us+f3", -2, -3, 1.03, -1.0, -64),
    Speaker(3, "M", "en-us+m2", 10, 2, 0.97, 1.5, -64),
    Speaker(4, "F", "en-us+f4", 2, 2, 1.02, 0.5, -60),
    Speaker(4, "M", "en-us+m4", 12, -4, 1.05, -0.5, -60),
    Speaker(5, "F", "en-us+linda", -8, -2, 0.98, -2.0, -56),
    Speaker(5, "M", "en-us+m6", 12, 3, 1.01, 1.0, -56),
)

# The dialogs of every session: (lead gender, dialog name). Both speakers
# of the session speak in each of them.
DIALOGS = (
    ("F", "impro01"),
    ("M", "impro02"),
    ("F", "script01_1"),
    ("M", "script01_2"),
)


@dataclass
class UtterancePlan:
    """Everything needed to render and annotate one utterance.

    Arguments
    ---------
    utt_id : str
        Utterance id, e.g. ``Ses01F_impro01_F000``.
    dialog : str
        Dialog id, e.g. ``Ses01F_impro01``.
    speaker : Speaker
        Who speaks it.
    label : str
        The emotion label written to the EmoEvaluation file.
    text : str
        The sentence.
    prosody : Prosody
        The final synthesis parameters (emotion, speaker and jitter).
    lead_silence : float
        Seconds of silence before the speech.
    tail_silence : float
        Seconds of silence after the speech.
    gap_before : float
        Seconds between the previous turn's end (or the dialog's start)
        and this turn's start.
    noise_seed : int
        Seed of the utterance's background noise.
    categories : list of (str, str)
        (evaluator, category name) of the categorical annotators.
    attributes : list of (str, tuple of int)
        (evaluator, (valence, activation, dominance)) of the attribute
        annotators.
    vad : tuple of float
        (valence, activation, dominance) averaged over annotators.

    Example
    -------
    >>> plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=0)
    >>> plan[0].utt_id.startswith("Ses01")
    True
    """

    utt_id: str
    dialog: str
    speaker: Speaker
    label: str
    text: str
    prosody: Prosody
    lead_silence: float
    tail_silence: float
    gap_before: float
    noise_seed: int
    categories: list
    attributes: list
    vad: tuple


def make_dialog_id(session, lead_gender, name):
    """Builds a dialog id in the IEMOCAP convention.

    Arguments
    ---------
    session : int
        Session number, 1 to 5.
    lead_gender : str
        ``"F"`` or ``"M"``: the dialog's lead speaker (not the gender of
        each utterance).
    name : str
        ``impro<NN>`` or ``script<NN>_<k>``.

    Returns
    -------
    str
        The dialog id.

    Example
    -------
    >>> make_dialog_id(1, "F", "impro01")
    'Ses01F_impro01'
    >>> make_dialog_id(5, "M", "script01_2")
    'Ses05M_script01_2'
    """
    if lead_gender not in ("F", "M"):
        raise ValueError(f"lead_gender must be 'F' or 'M', not {lead_gender!r}")
    return f"Ses{session:02d}{lead_gender}_{name}"


def make_utterance_id(dialog, gender, index):
    """Builds an utterance id: the dialog, the speaker's gender, a number.

    Arguments
    ---------
    dialog : str
        Dialog id, e.g. ``Ses01F_impro01``.
    gender : str
        Gender of the utterance's speaker, ``"F"`` or ``"M"``.
    index : int
        The speaker's turn number within the dialog.

    Returns
    -------
    str
        The utterance id.

    Example
    -------
    >>> make_utterance_id("Ses01F_script01_1", "M", 12)
    'Ses01F_script01_1_M012'
    """
    if gender not in ("F", "M"):
        raise ValueError(f"gender must be 'F' or 'M', not {gender!r}")
    return f"{dialog}_{gender}{index:03d}"


def format_label_line(start, end, utt_id, label, vad):
    """Formats the first line of an EmoEvaluation block.

    Arguments
    ---------
    start : float
        Start time in the dialog, in seconds.
    end : float
        End time in the dialog, in seconds.
    utt_id : str
        Utterance id.
    label : str
        Emotion label (``neu``, ``hap``, ``exc``, ``ang``, ``sad``, ...).
    vad : tuple of float
        (valence, activation, dominance).

    Returns
    -------
    str
        The tab-separated line, without a newline.

    Example
    -------
    >>> line = format_label_line(
    ...     6.2901, 8.2357, "Ses01F_impro01_F000", "neu", (2.5, 2.5, 2.5)
    ... )
    >>> print(line.replace("\\t", " | "))
    [6.2901 - 8.2357] | Ses01F_impro01_F000 | neu | [2.5000, 2.5000, 2.5000]
    """
    v, a, d = vad
    return (
        f"[{start:.4f} - {end:.4f}]\t{utt_id}\t{label}\t"
        f"[{v:.4f}, {a:.4f}, {d:.4f}]"
    )


def format_transcription_line(utt_id, start, end, text):
    """Formats one line of a ``dialog/transcriptions`` file.

    Arguments
    ---------
    utt_id : str
        Utterance id.
    start : float
        Start time in the dialog, in seconds.
    end : float
        End time in the dialog, in seconds.
    text : str
        What is said.

    Returns
    -------
    str
        The line, without a newline.

    Example
    -------
    >>> format_transcription_line(
    ...     "Ses01F_impro01_F000", 6.2901, 8.2357, "Excuse me."
    ... )
    'Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.'
    """
    return f"{utt_id} [{start:08.4f}-{end:08.4f}]: {text}"


def class_counts(n, offset=0):
    """Splits ``n`` utterances over the four classes as evenly as possible.

    Arguments
    ---------
    n : int
        Number of in-class utterances of a speaker.
    offset : int
        Rotates which classes get the remainder, so that the corpus stays
        balanced when ``n`` is not a multiple of four.

    Returns
    -------
    dict
        Maps each of ``CLASSES`` to its count.

    Example
    -------
    >>> class_counts(10, offset=1)
    {'neu': 2, 'hap': 3, 'ang': 3, 'sad': 2}
    """
    base, rest = divmod(n, len(CLASSES))
    counts = dict.fromkeys(CLASSES, base)
    for k in range(rest):
        counts[CLASSES[(offset + k) % len(CLASSES)]] += 1
    return counts


def _jittered(base, speaker, rng):
    """Applies the speaker's offsets and per-utterance jitter to a base."""
    rate = base.rate * speaker.rate_factor * math.exp(rng.gauss(0, JITTER.rate))
    pitch = base.pitch + speaker.pitch_offset + rng.gauss(0, JITTER.pitch)
    pitch_range = (
        base.pitch_range
        + speaker.range_offset
        + rng.gauss(0, JITTER.pitch_range)
    )
    volume = base.volume * math.exp(rng.gauss(0, JITTER.volume))
    word_gap = base.word_gap + rng.gauss(0, JITTER.word_gap)
    tilt = base.tilt + rng.gauss(0, JITTER.tilt)
    return Prosody(
        rate=round(min(max(rate, 80.0), 450.0)),
        pitch=round(min(max(pitch, 0.0), 100.0)),
        pitch_range=round(min(max(pitch_range, 0.0), 100.0)),
        volume=round(min(max(volume, 10.0), 170.0)),
        word_gap=round(min(max(word_gap, 0.0), 10.0)),
        tilt=round(min(max(tilt, -0.6), 0.7), 3),
    )


def _label_prosody(label, rng):
    """The base prosody of a label; ``xxx`` mixes two of the classes."""
    if label in EMOTION_PROSODY:
        return EMOTION_PROSODY[label]
    first, second = rng.sample(CLASSES, 2)
    w = rng.uniform(0.3, 0.7)
    a = asdict(EMOTION_PROSODY[first])
    b = asdict(EMOTION_PROSODY[second])
    return Prosody(**{key: w * a[key] + (1 - w) * b[key] for key in a})


def _annotate(label, rng):
    """Draws the annotators' categories and their rating noise.

    The majority of the three categorical annotators agrees with the label
    (except for ``xxx``, where they all disagree); the first two also rate
    valence, activation and dominance: their noise is drawn here (in
    standard units), the ratings are made by :func:`rate_attributes` once
    the utterance's prosody is known.
    """
    evaluators = sorted(rng.sample(EVALUATORS, 3))
    if label == "xxx":
        names = rng.sample(
            ["Neutral", "Frustration", "Anger", "Sadness", "Happiness"], 3
        )
    else:
        names = [CATEGORY_NAMES[label]] * 3
        if rng.random() < 0.4:
            names[rng.randrange(3)] = rng.choice(NEIGHBOURS[label])
    categories = list(zip(evaluators, names))
    noise = [
        (evaluator, tuple(rng.gauss(0, 1) for _ in range(3)))
        for evaluator in evaluators[:2]
    ]
    return categories, noise


def speaking_style(prosody, base, speaker):
    """How an utterance is spoken compared with its emotion's typical
    rendering by its speaker, per prosodic cue, in standard deviations of
    the per-utterance variation (``JITTER``).

    Arguments
    ---------
    prosody : Prosody
        The utterance's synthesis parameters.
    base : Prosody
        Its label's typical prosody (``EMOTION_PROSODY``).
    speaker : Speaker
        Its speaker (offsets and rate factor).

    Returns
    -------
    dict
        ``rate``, ``pitch``, ``pitch_range``, ``tilt``: positive when
        faster, higher, wider, more effortful.

    Example
    -------
    >>> base = EMOTION_PROSODY["neu"]
    >>> faster = Prosody(176, 54, 37, 100, 0, 0.0)
    >>> style = speaking_style(faster, base, SPEAKERS[0])
    >>> round(style["rate"], 2), style["pitch"]
    (1.59, 0.0)
    """
    rate = math.log(prosody.rate / (base.rate * speaker.rate_factor))
    return {
        "rate": rate / JITTER.rate,
        "pitch": (prosody.pitch - base.pitch - speaker.pitch_offset)
        / JITTER.pitch,
        "pitch_range": (
            prosody.pitch_range - base.pitch_range - speaker.range_offset
        )
        / JITTER.pitch_range,
        "tilt": (prosody.tilt - base.tilt) / JITTER.tilt,
    }


def rate_attributes(label, style, noise):
    """The annotators' valence, activation and dominance ratings of an
    utterance, and their average (the label line's ``[V, A, D]``).

    Arguments
    ---------
    label : str
        The utterance's label (its ``VAD_BASE`` row).
    style : dict
        Its speaking style (:func:`speaking_style`).
    noise : list of (str, tuple of float)
        (evaluator, standard normal noise of each dimension), from
        ``_annotate``.

    Returns
    -------
    attributes : list of (str, tuple of int)
        (evaluator, (valence, activation, dominance)), whole numbers 1-5.
    vad : tuple of float
        The ratings averaged over the annotators.

    Example
    -------
    >>> still = dict.fromkeys(("rate", "pitch", "pitch_range", "tilt"), 0.0)
    >>> rate_attributes("ang", still, [("E1", (0, 0, 0)), ("E2", (1, 0, 0))])
    ([('E1', (2, 4, 4)), ('E2', (2, 4, 4))], (2.0, 4.0, 4.0))
    """
    expected = [
        base
        + sum(w * style[cue] for cue, w in STYLE_WEIGHTS[dimension].items())
        for base, dimension in zip(
            VAD_BASE[label], ("valence", "activation", "dominance")
        )
    ]
    attributes = [
        (
            evaluator,
            tuple(
                int(min(max(round(x + ANNOTATOR_NOISE * z), 1), 5))
                for x, z in zip(expected, draws)
            ),
        )
        for evaluator, draws in noise
    ]
    vad = tuple(
        sum(scores[i] for _, scores in attributes) / len(attributes)
        for i in range(3)
    )
    return attributes, vad


def format_annotations(categories, attributes):
    """Formats the annotator lines that follow a label line.

    Arguments
    ---------
    categories : list of (str, str)
        (evaluator, category name) pairs, e.g. ``("E2", "Neutral")``.
    attributes : list of (str, tuple of int)
        (evaluator, (valence, activation, dominance)) pairs.

    Returns
    -------
    list of str
        The lines, without newlines.

    Example
    -------
    >>> lines = format_annotations([("E2", "Neutral")], [("E3", (3, 2, 2))])
    >>> [line.replace("\\t", " | ") for line in lines]
    ['C-E2: | Neutral; | ()', 'A-E3: | val 3; act 2; dom  2; | ()']
    """
    lines = [f"C-{e}:\t{name};\t()" for e, name in categories]
    lines += [
        f"A-{e}:\tval {v}; act {a}; dom  {d};\t()"
        for e, (v, a, d) in attributes
    ]
    return lines


def plan_corpus(
    seed=DEFAULT_SEED,
    utterances_per_speaker=32,
    extra_per_speaker=2,
    extra_labels=EXTRA_LABELS,
    sentences=SENTENCES,
):
    """Plans the whole corpus (ids, labels, texts, prosody) without audio.

    Every speaker says the same sentences in each of the four classes, so
    that the wording carries no label. All randomness comes from
    ``random.Random(seed)``.

    Arguments
    ---------
    seed : int
        Random seed.
    utterances_per_speaker : int
        In-class utterances per speaker (neu, hap or exc, ang, sad).
    extra_per_speaker : int
        Utterances per speaker with a label outside the four classes.
    extra_labels : sequence of str
        The labels used for those, in turn (any of fru, sur, fea, dis, oth,
        xxx).
    sentences : sequence of str
        The sentences to speak.

    Returns
    -------
    list of UtterancePlan
        In session, dialog and time order.

    Example
    -------
    >>> plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=1)
    >>> len(plan)
    50
    >>> sorted(Counter(p.label for p in plan).items())[:3]
    [('ang', 10), ('exc', 3), ('fru', 4)]
    """
    _check_options(utterances_per_speaker, extra_per_speaker, extra_labels)
    sentences = _check_sentences(sentences)
    rng = random.Random(seed)
    n_sent = len(sentences)
    plan = []
    for session in range(1, 6):
        items = []
        for speaker in (s for s in SPEAKERS if s.session == session):
            k = SPEAKERS.index(speaker)
            offset = k * 5
            counts = class_counts(utterances_per_speaker, offset=k)
            for cls in CLASSES:
                for i in range(counts[cls]):
                    label = cls
                    # Some happy ones are "excited", to exercise the merge.
                    if cls == "hap" and (i + k) % 3 == 2:
                        label = "exc"
                    items.append((speaker, label, (offset + i) % n_sent))
            for j in range(extra_per_speaker):
                label = extra_labels[
                    (k * extra_per_speaker + j) % len(extra_labels)
                ]
                items.append((speaker, label, (offset + j) % n_sent))
        rng.shuffle(items)
        # Deal the utterances to the session's dialogs, round robin.
        per_dialog = [items[d :: len(DIALOGS)] for d in range(len(DIALOGS))]
        for (lead, name), dialog_items in zip(DIALOGS, per_dialog):
            dialog = make_dialog_id(session, lead, name)
            turns = Counter()
            for speaker, label, sentence in dialog_items:
                base = _label_prosody(label, rng)
                categories, noise = _annotate(label, rng)
                prosody = _jittered(base, speaker, rng)
                attributes, vad = rate_attributes(
                    label, speaking_style(prosody, base, speaker), noise
                )
                plan.append(
                    UtterancePlan(
                        utt_id=make_utterance_id(
                            dialog, speaker.gender, turns[speaker.gender]
                        ),
                        dialog=dialog,
                        speaker=speaker,
                        label=label,
                        text=sentences[sentence],
                        prosody=prosody,
                        lead_silence=round(rng.uniform(0.08, 0.25), 3),
                        tail_silence=round(rng.uniform(0.10, 0.30), 3),
                        gap_before=round(rng.uniform(0.3, 2.0), 4),
                        noise_seed=rng.getrandbits(32),
                        categories=categories,
                        attributes=attributes,
                        vad=vad,
                    )
                )
                turns[speaker.gender] += 1
    return plan


def _check_options(utterances_per_speaker, extra_per_speaker, extra_labels):
    """Raises a ValueError for options that cannot make a corpus."""
    for name, value in (
        ("utterances_per_speaker", utterances_per_speaker),
        ("extra_per_speaker", extra_per_speaker),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
    if utterances_per_speaker + extra_per_speaker == 0:
        raise ValueError("the corpus would have no utterances")
    known = set(EMOTION_PROSODY) - set(CLASSES) - set(MERGED_LABELS)
    known.add("xxx")
    if extra_per_speaker and not extra_labels:
        raise ValueError("extra_per_speaker > 0 needs some extra_labels")
    for label in extra_labels:
        if label not in known:
            raise ValueError(
                f"extra label {label!r} is not one of {sorted(known)} (labels "
                "outside the four classes, which the preparation drops)"
            )


def _check_sentences(sentences):
    """Returns the sentences as a tuple, after checking them."""
    if isinstance(sentences, str):
        raise ValueError("sentences must be a list of strings, not a string")
    sentences = tuple(sentences)
    if not sentences:
        raise ValueError("at least one sentence is needed")
    for sentence in sentences:
        if not sentence.strip() or any(c in sentence for c in "\t\r\n"):
            raise ValueError(
                f"sentence {sentence!r} must be non-empty and on one line"
            )
    return sentences


# eSpeak NG's level for synthesis (no saturation), and the level of a
# normal-loudness utterance relative to it after recording, so that loud
# utterances rarely reach the limiter.
_ESPEAK_VOLUME = 50
_HEADROOM_DB = -6.0


def _trim(x, threshold=1e-3):
    """Cuts the synthesiser's leading and trailing silence."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return x
    return x[loud[0] : loud[-1] + 1]


@functools.lru_cache(maxsize=4)
def _resampler(orig_freq, new_freq):
    """A resampler whose filter is computed once (it dominates the cost)."""
    import torchaudio

    return torchaudio.transforms.Resample(orig_freq, new_freq).double()


def render_utterance(plan, tts, sample_rate=SAMPLE_RATE):
    """Synthesises one planned utterance as it was "recorded".

    The eSpeak output is trimmed, given the vocal-effort spectral tilt,
    resampled, padded with silence, scaled by the utterance's loudness and
    the speaker's channel gain, mixed with the channel's background noise
    and kept below full scale.

    Arguments
    ---------
    plan : UtterancePlan
        The utterance.
    tts : ESpeakNG
        The synthesiser.
    sample_rate : int
        Output sample rate.

    Returns
    -------
    numpy.ndarray
        float32 samples in [-1, 1] at ``sample_rate``.

    Example
    -------
    >>> plan = plan_corpus(utterances_per_speaker=4, extra_per_speaker=0)
    >>> with ESpeakNG() as tts:
    ...     wav = render_utterance(plan[0], tts)
    >>> wav.dtype.name, 0.8 < len(wav) / SAMPLE_RATE < 4.0
    ('float32', True)
    """
    import torch

    prosody = plan.prosody
    raw = tts.synthesize(
        plan.text,
        plan.speaker.voice,
        rate=prosody.rate,
        volume=_ESPEAK_VOLUME,
        pitch=prosody.pitch,
        pitch_range=prosody.pitch_range,
        word_gap=prosody.word_gap,
        seed=plan.noise_seed,
    )
    x = _trim(raw.astype(np.float64) / 32768.0)
    # First-order tilt: x + t * (x - x[n-1]) brightens (t > 0), as a
    # pressed, effortful voice does, or darkens (t < 0) a soft voice.
    previous = np.concatenate(([0.0], x[:-1]))
    x = x + plan.prosody.tilt * (x - previous)
    x = _resampler(tts.sample_rate, sample_rate)(torch.from_numpy(x)).numpy()
    lead = np.zeros(int(round(plan.lead_silence * sample_rate)))
    tail = np.zeros(int(round(plan.tail_silence * sample_rate)))
    gain = (plan.prosody.volume / _ESPEAK_VOLUME) * 10 ** (
        (plan.speaker.gain_db + _HEADROOM_DB) / 20
    )
    x = np.concatenate((lead, x, tail)) * gain
    # The room noise level is fixed per channel, so louder speech has a
    # higher signal-to-noise ratio, as in a real recording.
    rng = np.random.default_rng(plan.noise_seed)
    noise = rng.standard_normal(len(x) + 1)
    noise = (noise[1:] + noise[:-1]) / math.sqrt(2)
    x = x + noise * 10 ** (plan.speaker.noise_db / 20)
    peak = np.abs(x).max()
    if peak > 0.89:
        x = x * (0.89 / peak)
    return x.astype(np.float32)


def _category_state(name):
    """Category names as the Categorical files spell them."""
    return "Neutral state" if name == "Neutral" else name


def _write_dialog(root, dialog, utterances, audio, sample_rate):
    """Writes a dialog's wavs, label file, Categorical and transcriptions.

    Returns the utterances' durations in seconds.
    """
    session = utterances[0].speaker.session
    session_dir = root / f"Session{session}"
    wav_dir = session_dir / "sentences" / "wav" / dialog
    evaluation_dir = session_dir / "dialog" / "EmoEvaluation"
    categorical_dir = evaluation_dir / "Categorical"
    transcription_dir = session_dir / "dialog" / "transcriptions"
    for folder in (wav_dir, categorical_dir, transcription_dir):
        folder.mkdir(parents=True, exist_ok=True)

    blocks, transcripts, durations = [], [], []
    per_evaluator = {}
    t = 0.0
    for plan, samples in zip(utterances, audio):
        write_wav_atomic(wav_dir / f"{plan.utt_id}.wav", samples, sample_rate)
        duration = len(samples) / sample_rate
        durations.append(duration)
        start = round(t + plan.gap_before, 4)
        end = round(start + duration, 4)
        t = end
        blocks.append(
            [format_label_line(start, end, plan.utt_id, plan.label, plan.vad)]
            + format_annotations(plan.categories, plan.attributes)
        )
        transcripts.append(
            format_transcription_line(plan.utt_id, start, end, plan.text)
        )
        for evaluator, name in plan.categories:
            per_evaluator.setdefault(evaluator, []).append(
                f"{plan.utt_id} :{_category_state(name)}; ()"
            )

    lines = [LABEL_FILE_HEADER, ""]
    for block in blocks:
        lines += block + [""]
    write_text_atomic(evaluation_dir / f"{dialog}.txt", "\n".join(lines))
    for evaluator, cat_lines in sorted(per_evaluator.items()):
        name = f"{dialog}_{evaluator.lower()}_cat.txt"
        write_text_atomic(categorical_dir / name, "\n".join(cat_lines) + "\n")
    write_text_atomic(
        transcription_dir / f"{dialog}.txt", "\n".join(transcripts) + "\n"
    )
    return durations


def summarize(plan, durations=None):
    """Counts a planned corpus the way the preparation will see it.

    Arguments
    ---------
    plan : list of UtterancePlan
        The corpus.
    durations : list of float, optional
        Each utterance's duration in seconds, to report totals.

    Returns
    -------
    dict
        ``utterances`` (all labels), ``labels`` (raw label counts),
        ``classes`` (the four classes, ``exc`` merged into ``hap``),
        ``genders``, ``sessions`` and ``speakers`` (in-class utterances
        only), ``dialogs``, and with durations ``hours`` and
        ``mean_duration_s`` (in-class utterances).

    Example
    -------
    >>> summary = summarize(plan_corpus(utterances_per_speaker=4))
    >>> summary["classes"], summary["genders"]
    ({'neu': 10, 'hap': 10, 'ang': 10, 'sad': 10}, {'F': 20, 'M': 20})
    """
    labels = Counter(p.label for p in plan)
    in_class = [
        (i, p)
        for i, p in enumerate(plan)
        if MERGED_LABELS.get(p.label, p.label) in CLASSES
    ]
    classes = Counter(MERGED_LABELS.get(p.label, p.label) for _, p in in_class)
    genders = Counter(p.speaker.gender for _, p in in_class)
    sessions = Counter(p.speaker.session for _, p in in_class)
    speakers = Counter(p.speaker.name for _, p in in_class)
    summary = {
        "utterances": len(plan),
        "labels": dict(sorted(labels.items())),
        "classes": {c: classes[c] for c in CLASSES},
        "genders": {g: genders[g] for g in ("F", "M")},
        "sessions": {f"Session{s}": sessions[s] for s in range(1, 6)},
        "speakers": {s.name: speakers[s.name] for s in SPEAKERS},
        "dialogs": len({p.dialog for p in plan}),
    }
    if durations is not None:
        total = sum(durations[i] for i, _ in in_class)
        summary["hours"] = round(total / 3600, 4)
        summary["mean_duration_s"] = round(total / max(len(in_class), 1), 3)
    return summary


def _session_dirs(root):
    """The Session folders a corpus owns."""
    return [root / f"Session{s}" for s in range(1, 6)]


def generate_corpus(
    out_dir,
    seed=DEFAULT_SEED,
    utterances_per_speaker=32,
    extra_per_speaker=2,
    extra_labels=EXTRA_LABELS,
    sentences=SENTENCES,
    force=False,
):
    """Generates the synthetic corpus in the IEMOCAP release layout.

    Wav and label files are written under temporary names and renamed, so
    an interruption leaves no half-written file; a finished corpus gets the
    marker file ``OUT/.synthetic_complete.json`` with its options. Running
    again with the same options skips the work; other options (or
    ``force``) regenerate it. A folder that already holds Session folders
    not made by this generator is never touched.

    Arguments
    ---------
    out_dir : str or Path
        Where to write the corpus (the ``IEMOCAP_full_release`` folder).
    seed : int
        Random seed; the corpus is identical for identical options.
    utterances_per_speaker : int
        In-class utterances (neu, hap or exc, ang, sad) per speaker; ten
        speakers.
    extra_per_speaker : int
        Utterances per speaker with labels outside the four classes.
    extra_labels : sequence of str
        The labels used for those (fru, sur, fea, dis, oth, xxx).
    sentences : sequence of str
        The sentences, each spoken in every emotion.
    force : bool
        Regenerate even if a complete corpus with these options exists.

    Returns
    -------
    dict
        The :func:`summarize` counts, plus ``out_dir``, ``seed``,
        ``skipped`` (True when an existing corpus was reused) and
        ``elapsed_s``.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> summary = generate_corpus(
    ...     out, utterances_per_speaker=0, extra_per_speaker=1
    ... )
    >>> summary["utterances"], summary["classes"]["neu"], summary["skipped"]
    (10, 0, False)
    >>> generate_corpus(
    ...     out, utterances_per_speaker=0, extra_per_speaker=1
    ... )["skipped"]
    True
    >>> shutil.rmtree(out)
    """
    begin = time.time()
    sentences = _check_sentences(sentences)
    extra_labels = tuple(extra_labels)
    _check_options(utterances_per_speaker, extra_per_speaker, extra_labels)
    options = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "utterances_per_speaker": utterances_per_speaker,
        "extra_per_speaker": extra_per_speaker,
        "extra_labels": list(extra_labels),
        "sentences": list(sentences),
        "sample_rate": SAMPLE_RATE,
    }
    root = Path(out_dir)
    marker = root / MARKER_NAME
    progress = root / PROGRESS_NAME
    ours = marker.exists() or progress.exists()
    if marker.exists():
        try:
            stored = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
        if stored.get("options") == options and not force:
            logger.info(
                "Synthetic corpus already complete in %s with these options; "
                "skipping generation.",
                root,
            )
            summary = dict(stored["summary"])
            summary.update(skipped=True, elapsed_s=0.0)
            return summary
    if not ours and any(d.exists() for d in _session_dirs(root)):
        raise FileExistsError(
            f"{root} already holds Session folders that were not made by the "
            "synthetic generator; choose an empty or new folder"
        )
    if ours:
        logger.info("Regenerating the synthetic corpus in %s", root)
        marker.unlink(missing_ok=True)
        for folder in _session_dirs(root):
            shutil.rmtree(folder, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(progress, json.dumps({"options": options}, indent=1))

    plan = plan_corpus(
        seed=seed,
        utterances_per_speaker=utterances_per_speaker,
        extra_per_speaker=extra_per_speaker,
        extra_labels=extra_labels,
        sentences=sentences,
    )
    dialogs = {}
    for p in plan:
        dialogs.setdefault(p.dialog, []).append(p)
    durations = {}
    with ESpeakNG() as tts:
        for dialog, utterances in dialogs.items():
            audio = [render_utterance(p, tts) for p in utterances]
            lengths = _write_dialog(
                root, dialog, utterances, audio, SAMPLE_RATE
            )
            for p, duration in zip(utterances, lengths):
                durations[p.utt_id] = duration

    summary = summarize(plan, [durations[p.utt_id] for p in plan])
    summary.update(out_dir=str(root), seed=seed)
    write_text_atomic(
        marker, json.dumps({"options": options, "summary": summary}, indent=1)
    )
    progress.unlink(missing_ok=True)
    summary.update(skipped=False, elapsed_s=round(time.time() - begin, 2))
    logger.info(
        "Wrote %d utterances (%s) to %s in %.1f s",
        summary["utterances"],
        summary["classes"],
        root,
        summary["elapsed_s"],
    )
    return summary


def main(argv=None):
    """Command-line entry point: generates the corpus, prints its summary.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        The summary of :func:`generate_corpus`.

    Example
    -------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> summary = main(
    ...     ["--out", out, "--utterances-per-speaker", "0",
    ...      "--extra-per-speaker", "1"]
    ... )
    {...}
    >>> summary["labels"]
    {'fru': 4, 'sur': 3, 'xxx': 3}
    >>> shutil.rmtree(out)
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_gemo.data.synthetic",
        description=(
            "Generate a synthetic emotional speech corpus (spoken by eSpeak "
            "NG) in the IEMOCAP release layout."
        ),
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--utterances-per-speaker",
        type=int,
        default=32,
        help="in-class utterances per speaker (ten speakers)",
    )
    parser.add_argument(
        "--extra-per-speaker",
        type=int,
        default=2,
        help="utterances per speaker with labels outside the four classes",
    )
    parser.add_argument(
        "--extra-labels",
        default=",".join(EXTRA_LABELS),
        help="comma-separated labels for those (fru, sur, fea, dis, oth, xxx)",
    )
    parser.add_argument(
        "--sentences-file",
        help="text file with one sentence per line (default: built-in list)",
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate even if complete"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sentences = SENTENCES
    if args.sentences_file:
        text = Path(args.sentences_file).read_text(encoding="utf-8")
        sentences = [line.strip() for line in text.splitlines() if line.strip()]
    extra_labels = [
        x.strip() for x in args.extra_labels.split(",") if x.strip()
    ]
    try:
        summary = generate_corpus(
            args.out,
            seed=args.seed,
            utterances_per_speaker=args.utterances_per_speaker,
            extra_per_speaker=args.extra_per_speaker,
            extra_labels=extra_labels,
            sentences=sentences,
            force=args.force,
        )
    except (ValueError, FileExistsError, RuntimeError) as e:
        parser.exit(2, f"error: {e}\n")
    if summary["skipped"]:
        print(f"Corpus already complete in {args.out}; skipped (use --force).")
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
