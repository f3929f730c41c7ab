"""Cross-validation of a recipe: one ``train.py`` run per test fold, then
the summary over folds.

Each fold runs in its own sub-folder of the cross-validation folder
(``<folder_prefix><fold>``, e.g. ``fold3`` or IEMOCAP's ``session3``),
with the fold given to ``train.py`` as ``--<fold_key>=<fold>``. A fold
whose ``test_metrics.json`` and ``export/`` exist is not run again, so an
interrupted cross-validation resumes where it stopped (and a fold killed
midway resumes from its own checkpoints). ``cv_summary.json`` and
``cv_summary.md`` then give WAR and UAR per fold, their mean and sample
standard deviation over folds, and the WAR/UAR of all test sets pooled
(from the summed confusion matrices). For a model with the dimensional
head, the CCC of arousal, valence and dominance per fold and their mean
and standard deviation over folds too (over the folds where the CCC is
defined; CCCs are not pooled).

A recipe's ``cross_validate.py`` is a thin call of :func:`main`, e.g.::

    main(train_script, fold_key="test_fold", folder_prefix="fold",
         fold_header="Test fold")

Authors
 * speechbrain-gemo developers 2026
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

from speechbrain_gemo.dimensions import DIMENSIONS
from speechbrain_gemo.io import write_json_atomic, write_text_atomic
from speechbrain_gemo.metrics import recall_metrics

# The folds' dimensional metrics, as test_metrics.json names them
CCC_KEYS = tuple(f"CCC_{d}" for d in DIMENSIONS)


def fold_folder(output_folder, fold, folder_prefix="fold"):
    """The output folder of one fold.

    Arguments
    ---------
    output_folder : str
        The cross-validation folder.
    fold : int
        The fold's test fold (or session).
    folder_prefix : str
        The sub-folder's name before the fold number.

    Returns
    -------
    str

    Example
    -------
    >>> fold_folder("cv", 3), fold_folder("cv", 2, "session")
    ('cv/fold3', 'cv/session2')
    """
    return os.path.join(output_folder, f"{folder_prefix}{fold}")


def fold_is_finished(folder):
    """Whether a fold wrote its test metrics and its export.

    Arguments
    ---------
    folder : str
        The fold's output folder.

    Returns
    -------
    bool

    Example
    -------
    >>> fold_is_finished("/nonexistent")
    False
    """
    return os.path.isfile(
        os.path.join(folder, "test_metrics.json")
    ) and os.path.isfile(os.path.join(folder, "export", "hyperparams.yaml"))


def summarize(fold_metrics, fold_key="test_fold"):
    """Aggregates the folds' test metrics.

    Arguments
    ---------
    fold_metrics : dict
        Fold number to the content of its ``test_metrics.json``.
    fold_key : str
        The name of the fold number in the summary's ``folds``.

    Returns
    -------
    dict
        ``folds`` (``fold_key``, WAR, UAR), ``WAR_mean``, ``WAR_std``,
        ``UAR_mean``, ``UAR_std`` (sample standard deviation over folds,
        0 for one fold), and ``pooled`` (WAR/UAR over all test utterances
        of all folds together, from the summed confusion matrices). When
        the folds have ``CCC_arousal``, ``CCC_valence``,
        ``CCC_dominance`` (the dimensional head), the folds carry them and
        the summary has ``<key>_mean`` and ``<key>_std`` over the folds
        where they are defined (None when none is).

    Raises
    ------
    ValueError
        If the folds' class lists differ (pooling needs one class set).

    Example
    -------
    >>> m1 = {"WAR": 0.5, "UAR": 0.5, "labels": ["a", "b"],
    ...       "confusion_matrix": [[1, 1], [0, 0]]}
    >>> m2 = {"WAR": 1.0, "UAR": 1.0, "labels": ["a", "b"],
    ...       "confusion_matrix": [[0, 0], [0, 2]]}
    >>> s = summarize({1: m1, 2: m2})
    >>> s["WAR_mean"], round(s["WAR_std"], 4), s["pooled"]["WAR"]
    (0.75, 0.3536, 0.75)
    >>> s["folds"][0]
    {'test_fold': 1, 'WAR': 0.5, 'UAR': 0.5}
    >>> m1.update(CCC_arousal=0.6, CCC_valence=0.2, CCC_dominance=None)
    >>> m2.update(CCC_arousal=0.4, CCC_valence=0.4, CCC_dominance=0.5)
    >>> s = summarize({1: m1, 2: m2})
    >>> s["CCC_arousal_mean"], s["CCC_dominance_mean"], s["folds"][0][
    ...     "CCC_dominance"]
    (0.5, 0.5, None)
    """
    numbers = sorted(fold_metrics)
    folds = [
        {
            fold_key: n,
            "WAR": fold_metrics[n]["WAR"],
            "UAR": fold_metrics[n]["UAR"],
        }
        for n in numbers
    ]
    keys = ["WAR", "UAR"]
    if all(key in fold_metrics[n] for n in numbers for key in CCC_KEYS):
        keys += CCC_KEYS
        for n, fold in zip(numbers, folds):
            fold.update({key: fold_metrics[n][key] for key in CCC_KEYS})
    summary = {"folds": folds}
    for key in keys:
        values = [fold[key] for fold in folds if fold[key] is not None]
        summary[f"{key}_mean"] = statistics.fmean(values) if values else None
        summary[f"{key}_std"] = (
            statistics.stdev(values) if len(values) > 1 else 0.0
        )
    labels = fold_metrics[numbers[0]]["labels"]
    predictions, targets = [], []
    for n in numbers:
        if fold_metrics[n]["labels"] != labels:
            raise ValueError(
                f"Fold {n} has the classes {fold_metrics[n]['labels']}, "
                f"fold {numbers[0]} {labels}: the folds cannot be pooled"
            )
        for i, row in enumerate(fold_metrics[n]["confusion_matrix"]):
            for j, count in enumerate(row):
                targets += [labels[i]] * count
                predictions += [labels[j]] * count
    pooled = recall_metrics(predictions, targets, labels)
    summary["pooled"] = {k: pooled[k] for k in ("WAR", "UAR")}
    return summary


def summary_markdown(summary, title, fold_key="test_fold", fold_header=None):
    """A Markdown table of a cross-validation summary.

    Arguments
    ---------
    summary : dict
        As returned by :func:`summarize`.
    title : str
        A heading.
    fold_key : str
        The name of the fold number in ``summary["folds"]``.
    fold_header : str, optional
        The first column's heading (default: from ``fold_key``, e.g.
        ``Test fold``).

    Returns
    -------
    str

    Example
    -------
    >>> s = {"folds": [{"test_fold": 1, "WAR": 0.5, "UAR": 0.25}],
    ...      "WAR_mean": 0.5, "WAR_std": 0.0, "UAR_mean": 0.25,
    ...      "UAR_std": 0.0, "pooled": {"WAR": 0.5, "UAR": 0.25}}
    >>> text = summary_markdown(s, "demo").splitlines()
    >>> print(text[2], text[4], sep="\\n")
    | Test fold | WAR (%) | UAR (%) |
    | 1 | 50.00 | 25.00 |
    """
    if fold_header is None:
        fold_header = fold_key.replace("_", " ").capitalize()
    ccc = [key for key in CCC_KEYS if f"{key}_mean" in summary]
    header = f"| {fold_header} | WAR (%) | UAR (%) |"
    header += "".join(f" CCC {key[4:]} |" for key in ccc)
    lines = [f"# {title}", "", header, "|---|---|---|" + "---|" * len(ccc)]

    def number(value):
        """A CCC with three decimals (n/a when undefined)."""
        return "n/a" if value is None else f"{value:.3f}"

    for fold in summary["folds"]:
        lines.append(
            f"| {fold[fold_key]} | {100 * fold['WAR']:.2f} "
            f"| {100 * fold['UAR']:.2f} |"
            + "".join(f" {number(fold[key])} |" for key in ccc)
        )
    lines.append(
        f"| mean ± std | {100 * summary['WAR_mean']:.2f} ± "
        f"{100 * summary['WAR_std']:.2f} | {100 * summary['UAR_mean']:.2f}"
        f" ± {100 * summary['UAR_std']:.2f} |"
        + "".join(
            f" {number(summary[key + '_mean'])} ± {summary[key + '_std']:.3f} |"
            for key in ccc
        )
    )
    lines.append(
        f"| pooled | {100 * summary['pooled']['WAR']:.2f} "
        f"| {100 * summary['pooled']['UAR']:.2f} |" + " |" * len(ccc)
    )
    return "\n".join(lines) + "\n"


def resolved_hparams(hparams_file, overrides):
    """The top level of an hparams file with its references resolved as
    text: no object is built, nothing downloaded.

    Arguments
    ---------
    hparams_file : str
        The HyperPyYAML file.
    overrides : dict
        Command-line overrides.

    Returns
    -------
    dict
        The file's keys; plain values (numbers, strings) as loaded, tagged
        ones as ruamel nodes.
    """
    import ruamel.yaml
    from hyperpyyaml import resolve_references

    with open(hparams_file, encoding="utf-8") as fin:
        text = resolve_references(fin, overrides).getvalue()
    return ruamel.yaml.YAML().load(text)


def default_output_folder(hparams_file, overrides):
    """The cross-validation folder: ``--output_folder`` if given, else
    ``results/<experiment>/<seed>/cv``, read without building any model.

    Arguments
    ---------
    hparams_file : str
        The variant file.
    overrides : dict
        Command-line overrides.

    Returns
    -------
    str
    """
    if overrides.get("output_folder"):
        return overrides["output_folder"]
    hparams = resolved_hparams(hparams_file, overrides)
    return os.path.join(
        "results", hparams["experiment"], str(hparams["seed"]), "cv"
    )


def parse_overrides(args):
    """Reads ``--key=value`` overrides as YAML values.

    Arguments
    ---------
    args : list of str
        Arguments for train.py.

    Returns
    -------
    dict

    Example
    -------
    >>> parse_overrides(["--seed=3", "--skip_prep", "--x=a"])
    {'seed': 3, 'skip_prep': True, 'x': 'a'}
    """
    import ruamel.yaml

    yaml = ruamel.yaml.YAML(typ="safe")
    overrides = {}
    for arg in args:
        if not arg.startswith("--"):
            continue
        key, _, value = arg[2:].partition("=")
        overrides[key] = yaml.load(value) if value else True
    return overrides


def parse_folds(text):
    """The fold numbers of ``--folds``: ``1,3`` or a range ``1-5``.

    Arguments
    ---------
    text : str
        Comma-separated numbers or ranges.

    Returns
    -------
    list of int

    Example
    -------
    >>> parse_folds("1-3,5")
    [1, 2, 3, 5]
    """
    folds = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        folds += range(int(first), int(last or first) + 1)
    return folds


def run_folds(
    train_script,
    hparams_file,
    folds,
    output_folder,
    train_args=(),
    fold_key="test_fold",
    folder_prefix="fold",
    launcher=(sys.executable,),
):
    """Runs ``train.py`` once per fold not finished yet, and reads each
    fold's test metrics.

    Arguments
    ---------
    train_script : str
        The recipe's ``train.py``.
    hparams_file : str
        The hparams file given to it.
    folds : list of int
        The test folds.
    output_folder : str
        The cross-validation folder.
    train_args : list of str
        Further arguments for every run (overrides).
    fold_key : str
        The hyperparameter that selects the test fold.
    folder_prefix : str
        The fold sub-folders' name before the fold number.
    launcher : list of str
        How ``train.py`` is started (e.g. ``torchrun --nproc_per_node=4``).

    Returns
    -------
    dict
        Fold to the content of its ``test_metrics.json``.

    Raises
    ------
    subprocess.CalledProcessError
        If a fold's run fails (the finished folds stay finished).
    """
    fold_metrics = {}
    for fold in folds:
        folder = fold_folder(output_folder, fold, folder_prefix)
        if fold_is_finished(folder):
            print(f"Fold {fold}: finished already in {folder}, skipping")
        else:
            command = list(launcher) + [
                train_script,
                hparams_file,
                f"--{fold_key}={fold}",
                f"--output_folder={folder}",
                *train_args,
            ]
            print(f"Fold {fold}: {shlex.join(command)}", flush=True)
            subprocess.run(command, check=True)
        with open(os.path.join(folder, "test_metrics.json")) as f:
            fold_metrics[fold] = json.load(f)
    return fold_metrics


def write_summary(output_folder, fold_metrics, title, fold_key, fold_header):
    """Writes ``cv_summary.json`` and ``cv_summary.md`` (atomically).

    Arguments
    ---------
    output_folder : str
        The cross-validation folder.
    fold_metrics : dict
        Fold to the content of its ``test_metrics.json``.
    title : str
        The Markdown heading.
    fold_key : str
        The name of the fold number in the summary.
    fold_header : str
        The Markdown table's first column heading.

    Returns
    -------
    summary : dict
        As returned by :func:`summarize`.
    markdown : str
        The Markdown table.

    Example
    -------
    >>> import tempfile
    >>> m = {"WAR": 0.5, "UAR": 0.5, "labels": ["a", "b"],
    ...      "confusion_matrix": [[1, 0], [1, 0]]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _, md = write_summary(tmp, {1: m}, "t", "test_fold", "Fold")
    ...     print(*sorted(os.listdir(tmp)))
    cv_summary.json cv_summary.md
    """
    summary = summarize(fold_metrics, fold_key)
    write_json_atomic(os.path.join(output_folder, "cv_summary.json"), summary)
    markdown = summary_markdown(summary, title, fold_key, fold_header)
    write_text_atomic(os.path.join(output_folder, "cv_summary.md"), markdown)
    return summary, markdown


def main(
    train_script,
    argv=None,
    fold_key="test_fold",
    folder_prefix="fold",
    fold_header="Test fold",
    default_folds=None,
    description=None,
):
    """The command line of a recipe's ``cross_validate.py``: runs the folds
    and writes the summary.

    Options of its own: ``--folds 1,3`` (a subset, or a range ``1-5``;
    default ``default_folds``, else ``1..num_folds`` of the hparams file or
    the command line) and ``--launcher "torchrun --nproc_per_node=4"``.
    Every other argument goes to ``train.py`` unchanged, except
    ``--<fold_key>`` and ``--output_folder`` (set per fold).

    Arguments
    ---------
    train_script : str
        The recipe's ``train.py``.
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).
    fold_key : str
        The hyperparameter that selects the test fold.
    folder_prefix : str
        The fold sub-folders' name before the fold number.
    fold_header : str
        The Markdown table's first column heading.
    default_folds : list of int, optional
        The folds run without ``--folds``.
    description : str, optional
        The help text's first line.

    Returns
    -------
    dict
        The summary.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("hparams_file")
    parser.add_argument("--folds", default=None)
    parser.add_argument("--launcher", default=sys.executable)
    args, train_args = parser.parse_known_args(argv)
    train_args = [a for a in train_args if not a.startswith(f"--{fold_key}")]
    overrides = parse_overrides(train_args)
    output_folder = default_output_folder(args.hparams_file, overrides)
    train_args = [a for a in train_args if not a.startswith("--output_folder")]
    if args.folds:
        folds = parse_folds(args.folds)
    elif default_folds:
        folds = list(default_folds)
    else:
        num_folds = resolved_hparams(args.hparams_file, overrides)["num_folds"]
        folds = list(range(1, int(num_folds) + 1))

    fold_metrics = run_folds(
        train_script,
        args.hparams_file,
        folds,
        output_folder,
        train_args,
        fold_key=fold_key,
        folder_prefix=folder_prefix,
        launcher=shlex.split(args.launcher),
    )
    summary, markdown = write_summary(
        output_folder,
        fold_metrics,
        f"{os.path.basename(args.hparams_file)}: cross-validation",
        fold_key,
        fold_header,
    )
    print(markdown)
    return summary
