"""pytest's view of the recipes folder.

Every recipe has a ``train.py`` (and the folded ones a
``cross_validate.py``), as in SpeechBrain's layout; pytest's default import
mode cannot import several modules of one name side by side, so the
doctests of those files are collected for IEMOCAP's recipe only. The other
copies' doctests are the same (tests/test_consistency.py checks that the
parts they share with IEMOCAP's train.py are identical); their runs are
tested end to end in tests/test_recipe.py and tests/test_corpus_recipes.py.
"""

import glob
import os

HERE = os.path.dirname(os.path.abspath(__file__))
collect_ignore = sorted(
    os.path.relpath(path, HERE)
    for name in ("train.py", "cross_validate.py")
    for path in glob.glob(os.path.join(HERE, "*", "gemo_clap", name))
    if os.path.relpath(path, HERE).split(os.sep)[0] != "IEMOCAP"
)
