"""Scoring a model on another corpus' labels: which classes the two share,
and zero-shot prompts for every class of the other corpus.

Corpora label the same emotion with different codes (IEMOCAP ``ang``,
CREMA-D ``ANG``, RAVDESS ``05``, EmoDB ``W``, MSP-Podcast ``A``), and the
same code can mean different emotions (EmoDB's ``A`` is fear, MSP-Podcast's
``A`` anger). Classes are therefore matched through their English words
(``speechbrain_gemo.prompts.CORPUS_WORDS``): a model class and a manifest
class are the same class when their words are equal. A label outside every
corpus (a user's own label such as ``frustrated``) is its own word.

Which corpus a label set comes from is found from the codes: the corpora
whose class list holds every code. Where two corpora fit (a manifest with
only EmoDB/MSP-Podcast letters ``A``, ``F``, ``N``), the model's own corpus
is preferred; otherwise the corpus must be named.

Authors
 * speechbrain-gemo developers 2026
"""

import sys

from speechbrain_gemo.prompts import (
    CORPUS_CLASSES,
    EMOTION_TEMPLATES,
    class_words,
    corpus_words,
    emotion_prompts,
)


def detect_corpus(labels, prefer=None):
    """The corpus whose class codes include every label.

    Arguments
    ---------
    labels : list of str
        Class codes.
    prefer : str, optional
        The corpus to take when several fit (e.g. the model's).

    Returns
    -------
    str or None
        A key of ``CORPUS_CLASSES``, or None when no corpus has all the
        labels (they are then their own words).

    Example
    -------
    >>> detect_corpus(["05", "08"]), detect_corpus(["frustrated"])
    ('RAVDESS', None)
    >>> detect_corpus(["A", "N"], prefer="EmoDB")
    'EmoDB'
    >>> try:
    ...     detect_corpus(["A", "N"])
    ... except ValueError as err:
    ...     print(str(err)[:56])
    the labels ['A', 'N'] are codes of EmoDB and MSP-Podcast
    """
    labels = sorted({str(label) for label in labels})
    fits = [
        name
        for name, codes in CORPUS_CLASSES.items()
        if set(labels) <= set(codes)
    ]
    if len(fits) <= 1:
        return fits[0] if fits else None
    if prefer in fits:
        return prefer
    raise ValueError(
        f"the labels {labels} are codes of {' and '.join(fits)}, which "
        "mean different emotions: name the corpus (--labels_corpus / "
        "--model_corpus)"
    )


def class_mapping(
    model_labels, manifest_labels, model_corpus=None, manifest_corpus=None
):
    """Matches the manifest's classes to the model's through their words.

    Arguments
    ---------
    model_labels : list of str
        The model's classes, in its order.
    manifest_labels : list of str
        The labels found in the manifest.
    model_corpus : str, optional
        The corpus of the model's codes (default: detected).
    manifest_corpus : str, optional
        The corpus of the manifest's codes (default: detected, preferring
        the model's).

    Returns
    -------
    dict
        ``mapping`` (manifest label to model label, shared classes only),
        ``table`` (one ``{"word", "model", "manifest"}`` per word of either
        side, None where a side lacks it; model classes first, in model
        order), ``model_corpus`` and ``manifest_corpus``.

    Example
    -------
    >>> m = class_mapping(("neu", "hap", "ang", "sad"), ["01", "02", "05"])
    >>> m["mapping"], m["manifest_corpus"]
    ({'01': 'neu', '05': 'ang'}, 'RAVDESS')
    >>> m["table"][-1]
    {'word': 'calm', 'model': None, 'manifest': '02'}
    """
    model_labels = [str(label) for label in model_labels]
    if model_corpus is None:
        model_corpus = detect_corpus(model_labels)
    if manifest_corpus is None:
        manifest_corpus = detect_corpus(manifest_labels, prefer=model_corpus)
    model_words = class_words(model_labels, model_corpus)
    manifest_words = {}
    own = corpus_words(manifest_corpus) if manifest_corpus else {}
    for label in manifest_labels:
        manifest_words[str(label)] = own.get(str(label), str(label))
    by_word = {}
    for label, word in model_words.items():
        by_word.setdefault(word, label)
    mapping, table, seen = {}, [], {}
    for label, word in model_words.items():
        seen[word] = {"word": word, "model": label, "manifest": None}
        table.append(seen[word])
    for label in sorted(manifest_words):
        word = manifest_words[label]
        if word in by_word:
            mapping[label] = by_word[word]
            seen[word]["manifest"] = label
        else:
            seen[word] = {"word": word, "model": None, "manifest": label}
            table.append(seen[word])
    return {
        "mapping": mapping,
        "table": table,
        "model_corpus": model_corpus,
        "manifest_corpus": manifest_corpus,
    }


def prompt_templates(stored_prompts, words):
    """The templates a model's stored prompts were made from, so that
    zero-shot prompts for new classes read like the trained ones.

    Arguments
    ---------
    stored_prompts : dict
        The model's label to list of prompts.
    words : dict
        The model's label to word.

    Returns
    -------
    list of str
        Templates with one ``{}``; ``EMOTION_TEMPLATES`` when the prompts
        do not all come from the same templates.

    Example
    -------
    >>> prompt_templates({"neu": ["A neutral voice."],
    ...                   "sad": ["A sad voice."]}, {"neu": "neutral",
    ...                   "sad": "sad"})
    ['A {} voice.']
    >>> prompt_templates({"neu": ["calm"]}, {"neu": "neutral"})
    ['The speaker sounds {}.']
    """
    found = None
    for label, texts in stored_prompts.items():
        word = words.get(label, label)
        texts = [texts] if isinstance(texts, str) else list(texts)
        if any(text.count(word) != 1 for text in texts):
            return list(EMOTION_TEMPLATES)
        templates = [text.replace(word, "{}") for text in texts]
        if found is not None and templates != found:
            return list(EMOTION_TEMPLATES)
        found = templates
    return found or list(EMOTION_TEMPLATES)


def zero_shot_prompts(manifest_labels, corpus=None, templates=None):
    """Prompts for every class of the manifest's corpus.

    Arguments
    ---------
    manifest_labels : list of str
        The labels found in the manifest.
    corpus : str, optional
        The manifest's corpus: all its classes get prompts, in its class
        order (default: detected; without a corpus, the labels found, in
        order of appearance, each its own word).
    templates : list of str, optional
        Templates (default: ``EMOTION_TEMPLATES``).

    Returns
    -------
    dict
        Label to list of prompts.

    Example
    -------
    >>> prompts = zero_shot_prompts(["01", "05"])
    >>> len(prompts), prompts["02"], prompts["08"]
    (8, ['The speaker sounds calm.'], ['The speaker sounds surprised.'])
    """
    templates = list(templates or EMOTION_TEMPLATES)
    if corpus is None:
        corpus = detect_corpus(manifest_labels)
    if corpus is None:
        classes = list(dict.fromkeys(str(x) for x in manifest_labels))
        return emotion_prompts(templates, classes=classes, words={})
    return emotion_prompts(templates, classes=corpus, words=corpus)


def scoring_plan(
    classes,
    labelled,
    model_corpus=None,
    labels_corpus=None,
    zero_shot=False,
    stored_prompts=None,
    model_codes=None,
):
    """How the labels of a list (``infer --labels``) meet the classes
    that are predicted.

    A loaded model names its classes with words (``angry``) while a
    corpus' manifests hold its codes (``A``): with ``model_codes``, labels
    that are the model's own codes are scored as the classes they name,
    and the codes tell the model's corpus.

    Arguments
    ---------
    classes : list of str
        The model's labels, or the keys of the prompts given.
    labelled : list of dict
        ``{"path", "label"}`` entries (labels may be None).
    model_corpus : str, optional
        Corpus of ``classes`` (default: detected).
    labels_corpus : str, optional
        Corpus of the labels (default: detected).
    zero_shot : bool
        Score every class of the labels' corpus with prompts made from
        its words.
    stored_prompts : dict, optional
        The model's stored emotion prompts (their templates make the
        zero-shot prompts).
    model_codes : list of str, optional
        The training corpus' codes of ``classes`` (the model's
        ``label_codes``), when ``classes`` are the model's stored ones.

    Returns
    -------
    dict or None
        None without labels; else ``mapping`` (label to scored class;
        None when the labels are the model's own codes and no corpus was
        named), ``table``, ``corpora`` and, with ``zero_shot``,
        ``prompts`` for every class of the labels' corpus (scored as
        themselves).

    Example
    -------
    >>> plan = scoring_plan(["neu", "hap", "ang", "sad"],
    ...     [{"path": "a.wav", "label": "03"}, {"path": "b.wav",
    ...      "label": "08"}], labels_corpus="RAVDESS")
    >>> plan["mapping"], plan["corpora"]
    ({'03': 'hap'}, {'model': 'IEMOCAP', 'labels': 'RAVDESS'})
    >>> words = ["angry", "sad", "happy", "neutral"]
    >>> scoring_plan(words, [{"path": "a.wav", "label": "A"}],
    ...     model_codes=["A", "S", "H", "N"])["mapping"]["A"]
    'angry'
    """
    found = [e["label"] for e in labelled if e["label"] is not None]
    if not found:
        return None
    found = list(dict.fromkeys(found))
    own = {}
    if model_codes is not None and len(model_codes) == len(classes):
        own = dict(zip(map(str, model_codes), map(str, classes)))
        if model_corpus is None:
            try:
                model_corpus = detect_corpus(model_codes)
            except ValueError:  # codes of two corpora: words decide
                model_corpus = None
    if (
        not zero_shot
        and any(code != word for code, word in own.items())
        and set(found) <= set(own)
        and labels_corpus in (None, model_corpus)
    ):
        # the model's own codes: the classes they name (all of them, so
        # the report keeps every class, as for labels that are the classes)
        return {
            "mapping": dict(own),
            "table": None,
            "corpora": {"model": model_corpus, "labels": model_corpus},
        }
    match = class_mapping(classes, found, model_corpus, labels_corpus)
    corpora = {
        "model": match["model_corpus"],
        "labels": match["manifest_corpus"],
    }
    if zero_shot:
        stored = (stored_prompts or {}).get("emotion", {})
        words = {row["model"]: row["word"] for row in match["table"]}
        prompts = zero_shot_prompts(
            found,
            match["manifest_corpus"],
            prompt_templates(stored, words),
        )
        table = [
            {"word": word, "model": label, "manifest": label}
            for label, word in class_words(
                list(prompts), match["manifest_corpus"]
            ).items()
        ]
        return {
            "prompts": prompts,
            "mapping": {label: label for label in prompts},
            "table": table,
            "corpora": corpora,
        }
    same = set(found) <= set(classes) and (
        corpora["model"] == corpora["labels"]
    )
    if same and not (model_corpus or labels_corpus):
        return {"mapping": None, "table": None, "corpora": corpora}
    if not match["mapping"]:
        # Classified all the same; the report then says nothing was shared
        print(
            f"warning: the classes {classes} and the labels {sorted(found)} "
            "share no class word (see speechbrain_gemo.cross_corpus); "
            "--zero_shot scores the labels' classes",
            file=sys.stderr,
        )
    return {
        "mapping": match["mapping"],
        "table": match["table"],
        "corpora": corpora,
    }
