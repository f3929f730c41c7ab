"""The one place that defines the classes and their text prompts.

Each corpus labels its emotions with its own codes (``CORPUS_CLASSES``):
IEMOCAP's manifests use ``neu``, ``hap``, ``ang``, ``sad``, CREMA-D's
``ANG``, ``DIS``..., RAVDESS' the two-digit emotion field of its file
names, EmoDB's the German initial letter, MSP-Podcast's its ``EmoClass``
letter. Those codes are what the manifests' ``emo`` holds. Each code has an
English word (``CORPUS_WORDS``), and prompts are made by filling that word
into one or more templates; several templates per class are averaged at
inference time (prompt ensembling). A label with no word (a user's own
label, say ``frustrated``) is its own word.

A recipe takes its class set from its hyperparameters, e.g.::

    corpus: CREMA-D
    emotion_classes: !ref <corpus>    # or any list: [HAP, SAD, calm]
    emotion_prompts: !apply:speechbrain_gemo.prompts.emotion_prompts
        templates: !ref <emotion_templates>
        classes: !ref <emotion_classes>
        words: !ref <corpus>          # the words of that corpus' codes

and its classes, in order, are the keys of ``emotion_prompts`` (the
model's ``emotion_labels``). Overriding ``emotion_classes`` (e.g.
``--emotion_classes=[HAP,SAD]``) changes the class set; the data pipeline
then keeps the utterances of those classes only
(``speechbrain_gemo.data.labels.keep_classes``).

What a person reads names each class with its word, by one rule for every
corpus (:func:`label_words`): a trained model's classes are its corpus'
codes (``A``, ``05``, ``ang``...: the manifests keep them), and the model
a user loads (``GEmoCLAP``, ``EmotionClassifierONNX``) labels its classes
with their words (``angry``), so that ``classify_file``, ``model.labels``,
the CSV columns of ``infer``, timelines, plots, summaries, reports and the
model card read ``angry``, ``happy``, ``neutral``, ``surprised`` or the
user's own label as written. An export records the words it was trained
with (``emotion_words`` of its ``hyperparams.yaml``); for an export
written before, they are found from its prompts.

Gender labels are ``F`` and ``M`` for every corpus (unknown gender is
``null`` in the manifests).

Authors
 * speechbrain-gemo developers 2026
"""

EMOTIONS = ("neu", "hap", "ang", "sad")
EMOTION_WORDS = {
    "neu": "neutral",
    "hap": "happy",
    "ang": "angry",
    "sad": "sad",
}
GENDERS = ("F", "M")
GENDER_WORDS = {"F": "female", "M": "male"}

# Corpus name -> its class codes, in class order.
CORPUS_CLASSES = {
    "IEMOCAP": EMOTIONS,
    "CREMA-D": ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"),
    "RAVDESS": ("01", "02", "03", "04", "05", "06", "07", "08"),
    "EmoDB": ("W", "L", "E", "A", "F", "T", "N"),
    "MSP-Podcast": ("A", "S", "H", "U", "F", "D", "C", "N"),
}
# Corpus name -> code -> word. The same code can mean different emotions in
# two corpora (EmoDB's A is fear, MSP-Podcast's A anger), so codes are only
# ever looked up within their corpus.
CORPUS_WORDS = {
    "IEMOCAP": EMOTION_WORDS,
    "CREMA-D": {
        "ANG": "angry",
        "DIS": "disgusted",
        "FEA": "fearful",
        "HAP": "happy",
        "NEU": "neutral",
        "SAD": "sad",
    },
    "RAVDESS": {
        "01": "neutral",
        "02": "calm",
        "03": "happy",
        "04": "sad",
        "05": "angry",
        "06": "fearful",
        "07": "disgusted",
        "08": "surprised",
    },
    "EmoDB": {
        "W": "angry",
        "L": "bored",
        "E": "disgusted",
        "A": "fearful",
        "F": "happy",
        "T": "sad",
        "N": "neutral",
    },
    "MSP-Podcast": {
        "A": "angry",
        "S": "sad",
        "H": "happy",
        "U": "surprised",
        "F": "fearful",
        "D": "disgusted",
        "C": "contemptuous",
        "N": "neutral",
    },
}

EMOTION_TEMPLATES = ("The speaker sounds {}.",)
GENDER_TEMPLATES = ("The speaker is {}.",)


def _corpus_name(name):
    """The ``CORPUS_CLASSES`` key matching ``name``, case-insensitively.

    Arguments
    ---------
    name : str
        A corpus name such as ``"crema-d"``.

    Returns
    -------
    str
        The key, e.g. ``"CREMA-D"``.

    Example
    -------
    >>> _corpus_name("msp-podcast")
    'MSP-Podcast'
    """
    for key in CORPUS_CLASSES:
        if key.lower() == str(name).lower():
            return key
    raise ValueError(
        f"Unknown corpus {name!r}; known corpora: "
        f"{', '.join(CORPUS_CLASSES)} (or give a list of class labels)"
    )


def corpus_classes(corpus):
    """The class codes of a corpus, in class order.

    Arguments
    ---------
    corpus : str
        A key of ``CORPUS_CLASSES`` (case-insensitive).

    Returns
    -------
    tuple of str
        The codes the corpus' manifests use in ``emo``.

    Example
    -------
    >>> corpus_classes("CREMA-D")
    ('ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD')
    """
    return CORPUS_CLASSES[_corpus_name(corpus)]


def corpus_words(corpus):
    """The word of each class code of a corpus.

    Arguments
    ---------
    corpus : str
        A key of ``CORPUS_WORDS`` (case-insensitive).

    Returns
    -------
    dict
        Code to word, in class order.

    Example
    -------
    >>> corpus_words("EmoDB")["A"], corpus_words("MSP-Podcast")["A"]
    ('fearful', 'angry')
    """
    return dict(CORPUS_WORDS[_corpus_name(corpus)])


def class_words(classes, words=None):
    """The word of each class: from ``words`` where it has one, else the
    label itself.

    Arguments
    ---------
    classes : str or list of str
        A corpus name (its classes and, unless ``words`` is given, its
        words) or the labels in class order.
    words : dict or str, optional
        Label to word, or a corpus name whose words to use.

    Returns
    -------
    dict
        Label to word, in class order.

    Example
    -------
    >>> class_words(["HAP", "frustrated"], words="CREMA-D")
    {'HAP': 'happy', 'frustrated': 'frustrated'}
    >>> class_words("RAVDESS")["02"]
    'calm'
    """
    if isinstance(classes, str):
        if words is None:
            words = classes
        classes = corpus_classes(classes)
    if isinstance(words, str):
        words = corpus_words(words)
    words = words or {}
    classes = [str(label) for label in classes]
    if not classes:
        raise ValueError("The class list is empty")
    if len(set(classes)) != len(classes):
        raise ValueError(f"The class list {classes} repeats a label")
    return {label: words.get(label, label) for label in classes}


def label_words(prompts, words=None):
    """The word a person reads for each class of a prompt set: the one
    rule of every corpus.

    A label's word is, in this order: its word in ``words`` (what an
    export recorded, or a recipe's ``corpus`` / ``emotion_words``); the
    word some corpus gives that code (``CORPUS_WORDS``) which its prompts
    hold, so that MSP-Podcast's ``A`` (prompted "The speaker sounds
    angry.") reads ``angry`` and EmoDB's ``A`` ("... fearful.") reads
    ``fearful``; else the label as written (a user's own label, or a code
    whose prompts name none of its corpus words). Labels whose words
    would be alike keep their labels as written, so the words name
    distinct classes.

    Arguments
    ---------
    prompts : dict
        Label to prompt or list of prompts, in class order.
    words : dict or str, optional
        Label to word, or a corpus name whose words to use.

    Returns
    -------
    dict
        Label to word, in class order.

    Example
    -------
    >>> label_words({"A": ["The speaker sounds angry."],
    ...              "U": ["The speaker sounds surprised."]})
    {'A': 'angry', 'U': 'surprised'}
    >>> label_words({"A": "The speaker sounds fearful.", "F": "Happy."})
    {'A': 'fearful', 'F': 'happy'}
    >>> label_words({"05": ["An angry voice."], "frustrated": ["Tense."]})
    {'05': 'angry', 'frustrated': 'frustrated'}
    >>> label_words({"ang": ["x"], "neu": ["y"]}, words="IEMOCAP")
    {'ang': 'angry', 'neu': 'neutral'}
    >>> label_words({"HAP": ["Happy."], "happy": ["Glad."]})
    {'HAP': 'HAP', 'happy': 'happy'}
    """
    import re

    if isinstance(words, str):
        words = corpus_words(words)
    words = words or {}
    found = {}
    for label, texts in prompts.items():
        label = str(label)
        texts = [texts] if isinstance(texts, str) else list(texts)
        word = words.get(label)
        if word is None:
            held = {
                table[label]
                for table in CORPUS_WORDS.values()
                if label in table
                and texts
                and all(
                    re.search(rf"\b{re.escape(table[label])}\b", t, re.I)
                    for t in texts
                )
            }
            word = held.pop() if len(held) == 1 else label
        found[label] = str(word)
    counts = {}
    for word in found.values():
        counts[word] = counts.get(word, 0) + 1
    return {
        label: word if counts[word] == 1 else label
        for label, word in found.items()
    }


def build_prompts(words, templates):
    """Fills each label's word into every template.

    Arguments
    ---------
    words : dict
        Maps each label (in class order) to its word, e.g. ``EMOTION_WORDS``.
    templates : list of str
        Templates with one ``{}`` placeholder for the word.

    Returns
    -------
    dict
        Maps each label, in the order of ``words``, to its list of prompts.

    Example
    -------
    >>> build_prompts({"neu": "neutral"}, ["{}", "A {} voice."])
    {'neu': ['neutral', 'A neutral voice.']}
    """
    if isinstance(templates, str):
        templates = [templates]
    for template in templates:
        if template.count("{}") != 1:
            raise ValueError(
                f"Prompt template {template!r} must contain exactly one '{{}}'"
            )
    return {
        label: [template.format(word) for template in templates]
        for label, word in words.items()
    }


def emotion_prompts(templates=EMOTION_TEMPLATES, classes=None, words=None):
    """The emotion prompts, one list per class in class order.

    Without ``classes`` and ``words`` these are IEMOCAP's four classes
    (``EMOTIONS``). ``classes`` may name a corpus (its codes, and its words
    unless ``words`` is given) or list any labels; a label that ``words``
    has no word for is its own word.

    Arguments
    ---------
    templates : list of str
        Templates with one ``{}`` placeholder.
    classes : str or list of str, optional
        A corpus name of ``CORPUS_CLASSES`` or the labels in class order;
        defaults to the keys of ``words`` (or the classes of the corpus it
        names), else to ``EMOTIONS``.
    words : dict or str, optional
        Label to word, or a corpus name whose words to use; defaults to
        ``EMOTION_WORDS`` when ``classes`` is not given.

    Returns
    -------
    dict
        Label to list of prompts.

    Example
    -------
    >>> emotion_prompts()["ang"]
    ['The speaker sounds angry.']
    >>> emotion_prompts(classes="CREMA-D")["DIS"]
    ['The speaker sounds disgusted.']
    >>> emotion_prompts(["{} speech"], classes=["calm", "NEU"], words="CREMA-D")
    {'calm': ['calm speech'], 'NEU': ['neutral speech']}
    """
    if classes is None:
        if isinstance(words, str):
            classes = words
        elif words:
            return build_prompts(words, templates)
        else:
            classes, words = EMOTIONS, EMOTION_WORDS
    return build_prompts(class_words(classes, words), templates)


def gender_index(gender):
    """The class index of a manifest's ``gender``: its place in
    ``GENDERS``, or -1 for an unknown (null) gender, the label the losses
    read as unknown (``speechbrain_gemo.losses.UNKNOWN``).

    Arguments
    ---------
    gender : str or None
        ``"F"``, ``"M"`` or None.

    Returns
    -------
    int
        0, 1 or -1.

    Example
    -------
    >>> gender_index("F"), gender_index("M"), gender_index(None)
    (0, 1, -1)
    """
    if gender is None:
        return -1
    if gender not in GENDERS:
        raise ValueError(
            f"gender must be one of {GENDERS} or None (unknown), got {gender!r}"
        )
    return GENDERS.index(gender)


def gender_prompts(templates=GENDER_TEMPLATES, words=None):
    """The default gender prompts, one list per class in ``GENDERS`` order.

    Arguments
    ---------
    templates : list of str
        Templates with one ``{}`` placeholder.
    words : dict, optional
        Label to word; defaults to ``GENDER_WORDS``.

    Returns
    -------
    dict
        Label to list of prompts.

    Example
    -------
    >>> gender_prompts()
    {'F': ['The speaker is female.'], 'M': ['The speaker is male.']}
    """
    return build_prompts(words or GENDER_WORDS, templates)
