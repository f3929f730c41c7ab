#!/usr/bin/env python3
"""Cross-validation of the CSV GEmo-CLAP recipe: train.py once per test
fold (1 to num_folds, or the folds of ``--folds``), each in its own
sub-folder (``fold<K>``) of the output folder, then ``cv_summary.json``
and ``cv_summary.md`` there: WAR and UAR per fold, their mean ± sample
standard deviation, and the WAR/UAR of all test folds pooled. Finished
folds are not run again. The machinery is
``speechbrain_gemo.cross_validation``.

To run it:
    > python cross_validate.py hparams/sl_wavlm.yaml \\
    >     --csv_file=/path/to/labels.csv [overrides]

Options of its own: ``--folds 1,3`` (a subset), ``--launcher "torchrun
--nproc_per_node=4"`` (how each fold's train.py is started). Every other
argument (``--num_folds=N`` included) goes to train.py unchanged.

Authors
 * speechbrain-gemo developers 2026
"""

import os

from speechbrain_gemo.cross_validation import main

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    main(
        os.path.join(HERE, "train.py"),
        fold_key="test_fold",
        folder_prefix="fold",
        fold_header="Test fold",
        description=__doc__.split("\n")[0],
    )
