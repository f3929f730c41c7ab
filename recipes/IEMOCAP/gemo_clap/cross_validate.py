#!/usr/bin/env python3
"""Leave-one-session-out 5-fold cross-validation of a GEmo-CLAP recipe.

Runs train.py once per test session (1 to 5), each fold in its own
sub-folder of the output folder, then writes ``cv_summary.json`` and
``cv_summary.md`` there: WAR and UAR per fold, their mean and standard
deviation, and the WAR/UAR of the five test sets pooled. A fold whose
``test_metrics.json`` and ``export/`` exist is not run again, so an
interrupted cross-validation resumes where it stopped.

To run it:
    > python cross_validate.py hparams/sl_wavlm.yaml \\
    >     --data_folder=/path/to/IEMOCAP_full_release [overrides]

Options of its own: ``--folds 1,3`` (a subset), ``--launcher "torchrun
--nproc_per_node=4"`` (how each fold's train.py is started). Every other
argument goes to train.py unchanged.

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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from speechbrain_gemo.io import (  # noqa: E402
    write_json_atomic,
    write_text_atomic,
)
from speechbrain_gemo.metrics import recall_metrics  # noqa: E402


def fold_folder(output_folder, test_session):
    """The output folder of one fold.

    Arguments
    ---------
    output_folder : str
        The cross-validation folder.
    test_session : int
        The fold's test session.

    Returns
    -------
    str

    Example
    -------
    >>> fold_folder("cv", 3)
    'cv/session3'
    """
    return os.path.join(output_folder, f"session{test_session}")


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


def summarize(fold_metrics):
    """Aggregates the folds' test metrics.

    Arguments
    ---------
    fold_metrics : dict
        Test session to the content of its ``test_metrics.json``.

    Returns
    -------
    dict
        ``folds`` (test_session, WAR, UAR), ``WAR_mean``, ``WAR_std``,
        ``UAR_mean``, ``UAR_std`` (sample standard deviation over folds,
        0 for one fold), and ``pooled`` (WAR/UAR over all test utterances
        of all folds together, from the summed confusion matrices).

    Example
    -------
    >>> m1 = {"WAR": 0.5, "UAR": 0.5, "labels": ["a", "b"],
    ...       "confusion_matrix": [[1, 1], [0, 0]]}
    >>> m2 = {"WAR": 1.0, "UAR": 1.0, "labels": ["a", "b"],
    ...       "confusion_matrix": [[0, 0], [0, 2]]}
    >>> s = summarize({1: m1, 2: m2})
    >>> s["WAR_mean"], round(s["WAR_std"], 4), s["pooled"]["WAR"]
    (0.75, 0.3536, 0.75)
    """
    sessions = sorted(fold_metrics)
    folds = [
        {
            "test_session": s,
            "WAR": fold_metrics[s]["WAR"],
            "UAR": fold_metrics[s]["UAR"],
        }
        for s in sessions
    ]
    summary = {"folds": folds}
    for key in ("WAR", "UAR"):
        values = [fold[key] for fold in folds]
        summary[f"{key}_mean"] = statistics.fmean(values)
        summary[f"{key}_std"] = (
            statistics.stdev(values) if len(values) > 1 else 0.0
        )
    labels = fold_metrics[sessions[0]]["labels"]
    predictions, targets = [], []
    for s in sessions:
        for i, row in enumerate(fold_metrics[s]["confusion_matrix"]):
            for j, count in enumerate(row):
                targets += [labels[i]] * count
                predictions += [labels[j]] * count
    pooled = recall_metrics(predictions, targets, labels)
    summary["pooled"] = {k: pooled[k] for k in ("WAR", "UAR")}
    return summary


def summary_markdown(summary, title):
    """A Markdown table of a cross-validation summary.

    Arguments
    ---------
    summary : dict
        As returned by :func:`summarize`.
    title : str
        A heading.

    Returns
    -------
    str

    Example
    -------
    >>> s = {"folds": [{"test_session": 1, "WAR": 0.5, "UAR": 0.25}],
    ...      "WAR_mean": 0.5, "WAR_std": 0.0, "UAR_mean": 0.25,
    ...      "UAR_std": 0.0, "pooled": {"WAR": 0.5, "UAR": 0.25}}
    >>> print(summary_markdown(s, "demo").splitlines()[4])
    | 1 | 50.00 | 25.00 |
    """
    lines = [
        f"# {title}",
        "",
        "| Test session | WAR (%) | UAR (%) |",
        "|---|---|---|",
    ]
    for fold in summary["folds"]:
        lines.append(
            f"| {fold['test_session']} | {100 * fold['WAR']:.2f} "
            f"| {100 * fold['UAR']:.2f} |"
        )
    lines.append(
        f"| mean ± std | {100 * summary['WAR_mean']:.2f} ± "
        f"{100 * summary['WAR_std']:.2f} | {100 * summary['UAR_mean']:.2f}"
        f" ± {100 * summary['UAR_std']:.2f} |"
    )
    lines.append(
        f"| pooled | {100 * summary['pooled']['WAR']:.2f} "
        f"| {100 * summary['pooled']['UAR']:.2f} |"
    )
    return "\n".join(lines) + "\n"


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
    import ruamel.yaml
    from hyperpyyaml import resolve_references

    # References resolved as text: no model is built, nothing downloaded
    with open(hparams_file, encoding="utf-8") as fin:
        text = resolve_references(fin, overrides).getvalue()
    hparams = ruamel.yaml.YAML().load(text)
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


def main(argv=None):
    """Runs the folds and writes the summary.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        The summary.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("hparams_file")
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--launcher", default=sys.executable)
    args, train_args = parser.parse_known_args(argv)
    train_args = [a for a in train_args if not a.startswith("--test_session")]
    overrides = parse_overrides(train_args)
    output_folder = default_output_folder(args.hparams_file, overrides)
    train_args = [a for a in train_args if not a.startswith("--output_folder")]
    sessions = [int(s) for s in args.folds.split(",")]

    fold_metrics = {}
    for session in sessions:
        folder = fold_folder(output_folder, session)
        if fold_is_finished(folder):
            print(f"Fold {session}: finished already in {folder}, skipping")
        else:
            command = shlex.split(args.launcher) + [
                os.path.join(HERE, "train.py"),
                args.hparams_file,
                f"--test_session={session}",
                f"--output_folder={folder}",
                *train_args,
            ]
            print(f"Fold {session}: {shlex.join(command)}", flush=True)
            subprocess.run(command, check=True)
        with open(os.path.join(folder, "test_metrics.json")) as f:
            fold_metrics[session] = json.load(f)

    summary = summarize(fold_metrics)
    write_json_atomic(os.path.join(output_folder, "cv_summary.json"), summary)
    markdown = summary_markdown(
        summary, f"{os.path.basename(args.hparams_file)}: cross-validation"
    )
    write_text_atomic(os.path.join(output_folder, "cv_summary.md"), markdown)
    print(markdown)
    return summary


if __name__ == "__main__":
    main()
