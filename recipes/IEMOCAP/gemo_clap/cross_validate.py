#!/usr/bin/env python3
"""Leave-one-session-out 5-fold cross-validation of a GEmo-CLAP recipe.

Runs train.py once per test session (1 to 5), each fold in its own
sub-folder of the output folder (``session<N>``), then writes
``cv_summary.json`` and ``cv_summary.md`` there: WAR and UAR per fold,
their mean and standard deviation, and the WAR/UAR of the five test sets
pooled. A fold whose ``test_metrics.json`` and ``export/`` exist is not
run again, so an interrupted cross-validation resumes where it stopped.
The machinery is ``speechbrain_gemo.cross_validation``.

To run it:
    > python cross_validate.py hparams/sl_wavlm.yaml \\
    >     --data_folder=/path/to/IEMOCAP_full_release [overrides]

Options of its own: ``--folds 1,3`` (a subset), ``--launcher "torchrun
--nproc_per_node=4"`` (how each fold's train.py is started). Every other
argument goes to train.py unchanged.

Authors
 * speechbrain-gemo developers 2026
"""

import os

from speechbrain_gemo.cross_validation import main

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    main(
        os.path.join(HERE, "train.py"),
        fold_key="test_session",
        folder_prefix="session",
        fold_header="Test session",
        default_folds=[1, 2, 3, 4, 5],
        description=__doc__.split("\n")[0],
    )
