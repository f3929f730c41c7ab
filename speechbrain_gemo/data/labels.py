"""The emotion labels of a recipe: the label encoder saved beside its
checkpoints, and the utterances kept for the recipe's class set.

Authors
 * speechbrain-gemo developers 2026
"""

import collections
import os

from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)


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
    ValueError
        If an existing file holds other classes.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "label_encoder.txt")
    >>> load_or_create_label_encoder(path, ["neu", "sad"]).lab2ind
    {'neu': 0, 'sad': 1}
    >>> try:
    ...     load_or_create_label_encoder(path, ["sad", "neu"])
    ... except ValueError as err:
    ...     print(str(err)[-31:])
    ['sad', 'neu']: remove the file
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
        raise ValueError(
            f"{path} holds the classes {stored}, not the prompt classes "
            f"{list(labels)}: remove the file"
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
    ValueError
        If no utterance is left.

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
        raise ValueError(
            f"No {name} utterance has one of the classes {list(classes)} "
            f"(its labels: {sorted(dropped)}): check emotion_classes"
        )
    return kept
