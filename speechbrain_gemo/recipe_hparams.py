"""Loading the recipe's HyperPyYAML files, which share one common part.

Each variant file (``sl_wavlm.yaml``, ...) holds a single key, ``recipe``,
that includes ``common.yaml`` with the few values that make the variant.
Command-line overrides are applied to that included part, so every key of
``common.yaml`` can be overridden (``--lr=5e-5``), and an override naming
no existing key is an error rather than silently ignored.

Authors
 * speechbrain-gemo developers 2026
"""

import os

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


def recipe_keys(hparams_file):
    """The keys of a variant's recipe, read without resolving anything.

    Arguments
    ---------
    hparams_file : str
        A variant file that includes a shared file under ``recipe``.

    Returns
    -------
    set
        The keys of the included file and of the variant's own values.

    Raises
    ------
    ValueError
        If the file has no ``recipe`` key including another file.

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "common.yaml"), "w") as f:
    ...     _ = f.write("lr: 0.1\\nobjective: emo\\n")
    >>> with open(os.path.join(folder, "v.yaml"), "w") as f:
    ...     _ = f.write("recipe: !include:common.yaml\\n  extra: 1\\n")
    >>> sorted(recipe_keys(os.path.join(folder, "v.yaml")))
    ['extra', 'lr', 'objective']
    """
    yaml = ruamel.yaml.YAML()
    with open(hparams_file, encoding="utf-8") as fin:
        variant = yaml.load(fin)
    node = variant.get(RECIPE_KEY) if isinstance(variant, dict) else None
    tag = getattr(getattr(node, "tag", None), "value", None) or ""
    if not tag.startswith("!include:"):
        raise ValueError(
            f"{hparams_file} has no '{RECIPE_KEY}: !include:<file>' key: "
            f"expected a variant file that includes common.yaml"
        )
    included = os.path.join(
        os.path.dirname(os.path.abspath(hparams_file)), tag[len("!include:") :]
    )
    with open(included, encoding="utf-8") as fin:
        shared = yaml.load(fin)
    return set(shared) | set(node)


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
    # Keys are checked before anything is built: an included file accepts
    # unknown keys silently, and a typo should not cost a model download
    known = recipe_keys(hparams_file)
    unknown = sorted(set(nested[RECIPE_KEY]) - known)
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {unknown} for {hparams_file}; "
            f"known keys are: {sorted(k for k in known if k[:2] != '__')}"
        )
    with open(hparams_file, encoding="utf-8") as fin:
        return load_hyperpyyaml(fin, nested)[RECIPE_KEY]
