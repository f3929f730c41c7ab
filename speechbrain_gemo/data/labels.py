"""The emotion label encoder of a recipe, saved beside its checkpoints.

Authors
 * speechbrain-gemo developers 2026
"""

import os

from speechbrain.dataio.encoder import CategoricalEncoder


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
