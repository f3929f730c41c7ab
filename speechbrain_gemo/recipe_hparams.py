"""Loading the recipe's HyperPyYAML files, which share one common part.

Each variant file (``sl_wavlm.yaml``, ...) holds a single key, ``recipe``,
that includes ``common.yaml`` with the few values that make the variant.
Command-line overrides are applied to that included part, so every key of
``common.yaml`` can be overridden (``--lr=5e-5``), and an override naming
no existing key is an error rather than silently ignored.

Authors
 * speechbrain-gemo developers 2026
"""

import ruamel.yaml
from hyperpyyaml import load_hyperpyyaml

RECIPE_KEY = "recipe"


def nest_overrides(overrides):
    """Puts command-line overrides under the ``recipe`` key.

    Arguments
    ---------
    overrides : str or dict or None
        Overrides as SpeechBrain's ``parse_arguments`` returns them (a YAML
        string) or as a dict.

    Returns
    -------
    dict
        ``{"recipe": {...}}``.

    Example
    -------
    >>> nest_overrides("lr: 0.001\\nseed: 3")
    {'recipe': {'lr': 0.001, 'seed': 3}}
    """
    if isinstance(overrides, str):
        overrides = ruamel.yaml.YAML(typ="safe").load(overrides)
    return {RECIPE_KEY: dict(overrides or {})}


def load_recipe_hparams(hparams_file, overrides=None):
    """Loads a variant file with overrides and returns its recipe part.

    Arguments
    ---------
    hparams_file : str
        A variant file such as ``hparams/sl_wavlm.yaml``.
    overrides : str or dict, optional
        Overrides of any key of the shared part.

    Returns
    -------
    dict
        The loaded hyperparameters (objects constructed).

    Raises
    ------
    ValueError
        If the file has no ``recipe`` key, or an override names an unknown
        key.

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "common.yaml"), "w") as f:
    ...     _ = f.write("lr: 0.1\\nobjective: emo\\n")
    >>> with open(os.path.join(folder, "v.yaml"), "w") as f:
    ...     _ = f.write("recipe: !include:common.yaml\\n  objective: sl\\n")
    >>> hp = load_recipe_hparams(os.path.join(folder, "v.yaml"), "lr: 0.5")
    >>> hp["lr"], hp["objective"]
    (0.5, 'sl')
    """
    nested = nest_overrides(overrides)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, nested)
    if RECIPE_KEY not in hparams:
        raise ValueError(
            f"{hparams_file} has no '{RECIPE_KEY}' key: expected a variant "
            f"file that includes common.yaml under '{RECIPE_KEY}'"
        )
    recipe = hparams[RECIPE_KEY]
    unknown = sorted(set(nested[RECIPE_KEY]) - set(recipe))
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {unknown} for {hparams_file}; "
            f"known keys are: {sorted(k for k in recipe if k[:2] != '__')}"
        )
    return recipe
