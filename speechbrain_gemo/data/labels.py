"""The emotion labels of a recipe: how label spellings make classes, the
label encoder saved beside its checkpoints, the utterances kept for the
recipe's class set, and the arousal, valence and dominance targets of the
dimensional head.

Labels that differ only in case or spaces (``Angry``, ``angry``,
``angry `` and `` ANGRY``; ``very  angry`` and ``Very angry``) are one
class: ``label_key`` is what they share. A user's CSV names the class by
its most frequent spelling (``merge_spellings``, with a warning naming the
spellings merged); a corpus with fixed class codes maps any spelling to
its code (``known_label``).

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import math
import os

import torch
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.data_pipeline import provides, takes
from speechbrain.utils.logger import get_logger

from speechbrain_gemo.checkpoints import CheckpointDataMismatch, afresh_advice
from speechbrain_gemo.dimensions import DIMENSIONS, check_rating, to_unit
from speechbrain_gemo.errors import PreparationError

logger = get_logger(__name__)


def label_key(label):
    """What labels that differ only in case or spaces have in common.

    Arguments
    ---------
    label : str
        A label as written.

    Returns
    -------
    str
        The label casefolded, without spaces around it, each run of spaces
        inside it made one space.

    Example
    -------
    >>> label_key(" Very  ANGRY "), label_key("very angry")
    ('very angry', 'very angry')
    """
    return " ".join(str(label).split()).casefold()


def merge_spellings(labels, what="", warn=True):
    """The class of each spelling of the labels: spellings that differ only
    in case or spaces are one class, named by its most frequent spelling
    (spaces tidied; on a tie, the first one met). A warning names each set
    of spellings merged, with their counts and first lines.

    Arguments
    ---------
    labels : list of tuple
        ``(label, line)`` per row, in file order; ``line`` may be None.
    what : str
        Where the labels come from, for the warning.
    warn : bool
        Whether to log the warnings.

    Returns
    -------
    dict
        Each label as written to its class.

    Example
    -------
    >>> rows = [("angry", 2), ("Angry ", 3), ("sad", 4), ("angry", 5)]
    >>> merge_spellings(rows, "labels.csv")
    {'angry': 'angry', 'Angry ': 'angry', 'sad': 'sad'}
    """
    spellings = collections.defaultdict(collections.Counter)
    first_line = {}
    for label, line in labels:
        tidy = " ".join(str(label).split())
        spellings[label_key(label)][tidy] += 1
        first_line.setdefault(tidy, line)
    name = {}
    for key, counts in spellings.items():
        # Counter keeps insertion order: max() picks the first on a tie
        name[key] = max(counts, key=counts.get)
        if warn and len(counts) > 1:
            listed = ", ".join(
                f"{tidy!r} ({n} row(s)"
                + (
                    f", first on line {first_line[tidy]})"
                    if first_line[tidy] is not None
                    else ")"
                )
                for tidy, n in counts.items()
            )
            logger.warning(
                "%slabels %s differ only in case or spaces: one class, %r",
                f"{what}: " if what else "",
                listed,
                name[key],
            )
    return {label: name[label_key(label)] for label, _ in labels}


def known_label(label, known):
    """The class code of ``known`` that a label spells, case and spaces
    ignored, or None.

    Arguments
    ---------
    label : str
        A label as written (e.g. in a corpus' label file).
    known : iterable of str
        The codes of the corpus' classes.

    Returns
    -------
    str or None
        The code, or None when the label spells none of them.

    Example
    -------
    >>> known_label(" neu", ["neu", "ang"]), known_label("Fru", ["neu"])
    ('neu', None)
    """
    key = label_key(label)
    for code in known:
        if label_key(code) == key:
            return code
    return None


def load_or_create_label_encoder(path, labels):
    """SpeechBrain's ``CategoricalEncoder.load_or_create`` for a fixed list
    of classes, never leaving a partial file behind.

    SpeechBrain 1.1.2's ``CategoricalEncoder.save`` writes the file in
    place, so a run killed while writing it leaves a truncated encoder
    that the next run would load (UPSTREAM.md); here it is written under a
    temporary name, then renamed. An existing file must hold exactly
    ``labels``, in that order (the order of the model's prompts).

    Arguments
    ---------
    path : str
        The encoder file (``label_encoder.txt``).
    labels : list of str
        The classes, in the order of their indices.

    Returns
    -------
    CategoricalEncoder
        The encoder (loaded on every DDP process).

    Raises
    ------
    CheckpointDataMismatch
        If an existing file holds other classes: the checkpoints beside it
        were trained on those (also a ``ValueError``).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "label_encoder.txt")
    >>> load_or_create_label_encoder(path, ["neu", "sad"]).lab2ind
    {'neu': 0, 'sad': 1}
    >>> try:
    ...     load_or_create_label_encoder(path, ["sad", "neu"])
    ... except CheckpointDataMismatch as err:
    ...     print(str(err)[:70])
    This run's classes ['sad', 'neu'] are not those of the run that wrote
    """
    encoder = CategoricalEncoder()
    save_in_place = encoder.save

    def save_atomic(target):
        """Saves under a temporary name, then renames it to ``target``.

        Arguments
        ---------
        target : str
            The encoder file.
        """
        try:
            save_in_place(f"{target}.tmp")
            os.replace(f"{target}.tmp", target)
        except BaseException:
            if os.path.exists(f"{target}.tmp"):
                os.remove(f"{target}.tmp")
            raise

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    encoder.save = save_atomic
    try:
        encoder.load_or_create(path, from_iterables=[list(labels)])
    finally:
        del encoder.save
    stored = [encoder.ind2lab[i] for i in sorted(encoder.ind2lab)]
    if stored != list(labels):
        folder = os.path.dirname(os.path.abspath(path))
        raise CheckpointDataMismatch(
            f"This run's classes {list(labels)} are not those of the run "
            f"that wrote {path} ({stored}); its checkpoints, if any, were "
            f"trained on those. {afresh_advice(folder)}"
        )
    return encoder


def keep_classes(dataset, classes, name):
    """The utterances of a dataset whose ``emo`` is one of ``classes``,
    the others dropped with a log line counting them by label.

    A recipe's class set (``emotion_classes``) can be a subset of what its
    manifests hold (e.g. four of CREMA-D's six classes): the model has no
    prompt for the other labels.

    Arguments
    ---------
    dataset : DynamicItemDataset
        A dataset with a static ``emo`` key.
    classes : list of str
        The classes to keep.
    name : str
        The dataset's name (``train``, ``valid``, ``test``), for the log
        and the error.

    Returns
    -------
    DynamicItemDataset
        ``dataset`` itself when every utterance is kept, else a filtered
        view of it (SpeechBrain's ``filtered_sorted``).

    Raises
    ------
    PreparationError
        If no utterance is left (also a ``ValueError``).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = {"a": {"emo": "HAP"}, "b": {"emo": "DIS"}, "c": {"emo": "SAD"}}
    >>> kept = keep_classes(DynamicItemDataset(data), ["HAP", "SAD"], "test")
    >>> kept.data_ids
    ['a', 'c']
    """
    wanted = set(classes)
    dropped = collections.Counter(
        dataset.data[utt_id]["emo"]
        for utt_id in dataset.data_ids
        if dataset.data[utt_id]["emo"] not in wanted
    )
    if not dropped:
        return dataset
    kept = dataset.filtered_sorted(key_test={"emo": lambda emo: emo in wanted})
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(dropped.items()))
    logger.info(
        f"{name}: {sum(dropped.values())} utterance(s) of labels outside "
        f"the classes {list(classes)} dropped ({counts}); "
        f"{len(kept)} kept"
    )
    if len(kept) == 0:
        raise PreparationError(
            f"No {name} utterance has one of the classes {list(classes)} "
            f"(its labels: {sorted(dropped)}): check emotion_classes"
        )
    return kept


def add_dimension_targets(dataset, scale, name):
    """Adds the output ``avd`` to a dataset: each utterance's arousal,
    valence and dominance mapped from the corpus' ``scale`` to [0, 1]
    (``speechbrain_gemo.dimensions.to_unit``), NaN where the manifest has
    no value (a CSV row without them, a corpus without them), which the
    objective and the metrics leave out.

    Every rating is checked here, before training: one that is not a
    number or lies outside ``scale`` stops the run with an error naming
    the utterance.

    Arguments
    ---------
    dataset : DynamicItemDataset
        A dataset whose entries may have ``arousal``, ``valence`` and
        ``dominance``.
    scale : sequence of two numbers
        The corpus' rating scale ``[min, max]`` (``avd_scale``).
    name : str
        The dataset's name (``train``, ``valid``, ``test``), for the log
        and the errors.

    Returns
    -------
    DynamicItemDataset
        ``dataset``, with ``avd`` (a float tensor of 3) among its outputs.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = {"a": {"arousal": 5.0, "valence": 1.0, "dominance": 3.0},
    ...         "b": {"arousal": 2.0}, "c": {}}
    >>> dataset = add_dimension_targets(DynamicItemDataset(data), [1, 5], "x")
    >>> dataset[0]["avd"], dataset[1]["avd"]
    (tensor([1.0000, 0.0000, 0.5000]), tensor([0.2500,    nan,    nan]))
    """
    targets = {}
    rated = 0
    for utt_id in dataset.data_ids:
        entry = dataset.data[utt_id]
        values = [
            check_rating(
                entry.get(dimension),
                scale,
                f"{name} utterance {utt_id}: {dimension}",
            )
            for dimension in DIMENSIONS
        ]
        rated += any(v is not None for v in values)
        targets[utt_id] = torch.tensor(
            [math.nan if v is None else to_unit(v, scale) for v in values]
        )

    @takes("id")
    @provides("avd")
    def dimension_pipeline(utt_id):
        """The utterance's arousal, valence and dominance on [0, 1].

        Arguments
        ---------
        utt_id : str
            The utterance id.

        Returns
        -------
        torch.Tensor
            3 values, NaN where unknown.
        """
        return targets[utt_id]

    message = (
        f"{name}: {rated} of {len(targets)} utterance(s) rated for arousal, "
        "valence or dominance"
    )
    if rated:
        logger.info(message)
    else:
        logger.warning(f"{message}: the dimensional head gets no target")
    dataset.add_dynamic_item(dimension_pipeline)
    dataset.set_output_keys(list(dataset.pipeline.output_mapping) + ["avd"])
    return dataset
