"""The one place that defines the classes and their text prompts.

Emotion and gender labels are the short codes used in the IEMOCAP
manifests (``neu``, ``hap``, ``ang``, ``sad`` and ``F``, ``M``). Each label
has a natural-language word, and prompts are made by filling that word into
one or more templates. Several templates per class are averaged at
inference time (prompt ensembling).

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

EMOTION_TEMPLATES = ("The speaker sounds {}.",)
GENDER_TEMPLATES = ("The speaker is {}.",)


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


def emotion_prompts(templates=EMOTION_TEMPLATES, words=None):
    """The default emotion prompts, one list per class in ``EMOTIONS`` order.

    Arguments
    ---------
    templates : list of str
        Templates with one ``{}`` placeholder.
    words : dict, optional
        Label to word; defaults to ``EMOTION_WORDS``.

    Returns
    -------
    dict
        Label to list of prompts.

    Example
    -------
    >>> emotion_prompts()["ang"]
    ['The speaker sounds angry.']
    """
    return build_prompts(words or EMOTION_WORDS, templates)


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
