"""The properties SpeechBrain's own consistency checks enforce on a recipe
(tests/consistency and tests/utils of its repository), checked here without
SpeechBrain's repository so that a regression shows in this project's CI:

- every hparams file of a recipe is listed in ``tests/recipes/<Dataset>.csv``
  with ``test_debug_flags`` and ``test_debug_checks``, and every file a row
  names exists (``test_recipe_list``, ``test_recipe_files``,
  ``test_mandatory_files``);
- every top-level key of an hparams file is read by the row's script under
  its literal name, or referenced (``!ref <key>``) in the file, or is a
  SpeechBrain run option (``check_yaml_vs_script``);
- every public function, method and class, nested ones included, of
  ``speechbrain_gemo/`` and ``recipes/`` has a docstring, and every module
  starts with one (``check_docstrings``).

And two of this project's own: every test and doctest that
``tests/README.md`` cites exists, and the README's Layout table names only
real paths and every module of the package.

The checks are functions of a root folder; the last tests run them on a
broken copy of the project, to show that they catch each regression.
"""

import ast
import csv
import glob
import os
import re
import shutil

import pytest
from speechbrain.utils.run_opts import RunOptions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Folders SpeechBrain's recipe list skips (included model blocks, outputs)
SKIPPED_PARTS = ("/models/", "/results/", "/pretrained_models/")
CSV_FILE_FIELDS = (
    "Script_file",
    "Hparam_file",
    "Data_prep_file",
    "Readme_file",
)


def read_rows(root):
    """The rows of every ``tests/recipes/*.csv``, keyed by dataset.

    Arguments
    ---------
    root : str
        The project (or SpeechBrain) root.

    Returns
    -------
    dict
        Dataset name to its list of rows (dicts).
    """
    folder = os.path.join(root, "tests", "recipes")
    rows = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".csv"):
            with open(os.path.join(folder, name), newline="") as f:
                rows[name[:-4]] = list(csv.DictReader(f, skipinitialspace=True))
    return rows


def unlisted_or_incomplete_rows(root):
    """The problems of the recipe lists: hparams files not listed, rows
    without test flags or checks, files named that do not exist.

    Arguments
    ---------
    root : str
        The project root.

    Returns
    -------
    list of str
        One message per problem (empty when all is well).
    """
    problems = []
    for dataset, rows in read_rows(root).items():
        listed = {row["Hparam_file"] for row in rows}
        for folder, _, files in os.walk(os.path.join(root, "recipes", dataset)):
            for name in files:
                path = os.path.relpath(os.path.join(folder, name), root)
                if not name.endswith(".yaml"):
                    continue
                if any(part in f"/{path}" for part in SKIPPED_PARTS):
                    continue
                if path not in listed:
                    problems.append(f"{path} is not listed in {dataset}.csv")
        for row in rows:
            for field in ("test_debug_flags", "test_debug_checks"):
                if not row[field].strip():
                    problems.append(f"{row['Hparam_file']}: no {field}")
            for field in CSV_FILE_FIELDS:
                for path in row[field].split():
                    if not os.path.exists(os.path.join(root, path)):
                        problems.append(f"{path} ({field}) does not exist")
    return problems


def top_level_keys(hparams_file):
    """The top-level keys of an hparams file that must be used, with the
    keys that the file itself references.

    Keys whose value is an ``!apply:`` call are run for their value or
    their effect at loading and need no reader (as in SpeechBrain's check).

    Arguments
    ---------
    hparams_file : str
        The HyperPyYAML file.

    Returns
    -------
    keys : list of str
        The top-level keys, in order.
    referenced : set of str
        The keys named in a reference (``<key>`` or ``<key[...]>``).
    """
    keys, referenced = [], set()
    with open(hparams_file) as f:
        for line in f:
            if line.startswith(("#", " ", "\t", "-")) or ":" not in line:
                referenced.update(re.findall(r"<(\w+)[\[>]", line))
                continue
            key, _, value = line.partition(":")
            if not value.strip().startswith("!apply:"):
                keys.append(key.strip())
            referenced.update(re.findall(r"<(\w+)[\[>]", value))
    return keys, referenced


def unused_keys(hparams_file, script_file):
    """The top-level keys of an hparams file that its script never reads
    under their literal name (``["key"]``, ``hparams.key``,
    ``modules.key``), that the file does not reference and that are not
    SpeechBrain run options.

    Arguments
    ---------
    hparams_file : str
        The HyperPyYAML file.
    script_file : str
        The training script.

    Returns
    -------
    list of str
    """
    keys, referenced = top_level_keys(hparams_file)
    with open(script_file) as f:
        script = f.read()
    run_options = set(RunOptions().as_dict())
    unused = []
    for key in keys:
        read = (
            f'["{key}"]' in script
            or re.search(rf"\b(hparams|modules)\.{re.escape(key)}\b", script)
            is not None
        )
        if not (read or key in referenced or key in run_options):
            unused.append(key)
    return unused


def not_seen(docstring):
    """Whether SpeechBrain's docstring check finds no docstring here.

    Arguments
    ---------
    docstring : str or None
        As ``ast.get_docstring`` gives it.

    Returns
    -------
    bool
    """
    return docstring is None or "..." in docstring.splitlines()[0]


def undocumented(root, folders=("speechbrain_gemo", "recipes")):
    """Modules, functions, methods and classes without a docstring, nested
    ones included; names starting with ``_`` are exempt, as in
    SpeechBrain's check. A docstring whose first line holds ``...`` counts
    as missing: SpeechBrain's checker (tests/utils/check_docstrings.py)
    skips every line with ``...`` and so never sees it.

    Arguments
    ---------
    root : str
        The project root.
    folders : tuple of str
        The folders to check.

    Returns
    -------
    list of str
        ``path:line name`` of each one.
    """
    missing = []
    for folder in folders:
        for parent, _, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(parent, name)
                with open(path) as f:
                    tree = ast.parse(f.read())
                rel = os.path.relpath(path, root)
                if not_seen(ast.get_docstring(tree)) and "__" not in name:
                    missing.append(f"{rel}:1 (module)")
                for node in ast.walk(tree):
                    if isinstance(
                        node,
                        ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                    ):
                        if node.name.startswith("_"):
                            continue
                        if not_seen(ast.get_docstring(node)):
                            missing.append(f"{rel}:{node.lineno} {node.name}")
    return missing


ROWS = [row for rows in read_rows(ROOT).values() for row in rows]


def test_every_hparams_file_is_listed_with_flags_and_files_exist():
    assert unlisted_or_incomplete_rows(ROOT) == []


@pytest.mark.parametrize(
    "row", ROWS, ids=[os.path.basename(r["Hparam_file"]) for r in ROWS]
)
def test_every_hparams_key_is_used(row):
    hparams = os.path.join(ROOT, row["Hparam_file"])
    script = os.path.join(ROOT, row["Script_file"])
    assert unused_keys(hparams, script) == []


def test_everything_has_a_docstring():
    assert undocumented(ROOT) == []


def test_variant_files_differ_only_in_what_makes_the_variant():
    """Each corpus' variant files are copies apart from the keys that make
    each variant (their headers say so)."""
    variant_keys = (
        "experiment:",
        "objective:",
        "audio_source:",
        "avd_head:",
        "avd_weight:",
    )
    for rows in read_rows(ROOT).values():
        bodies = {}
        for row in rows:
            with open(os.path.join(ROOT, row["Hparam_file"])) as f:
                bodies[row["Hparam_file"]] = [
                    line
                    for line in f.read().splitlines()
                    if line.strip()
                    and not line.startswith("#")
                    and not line.startswith(variant_keys + ("gender_prompts:",))
                ]
        reference = next(iter(bodies.values()))
        for path, body in bodies.items():
            assert body == reference, path


# The keys that make each corpus' protocol and class set, beside those it
# shares with IEMOCAP's sl_wavlm.yaml (IEMOCAP's own protocol keys aside)
IEMOCAP_PROTOCOL_KEYS = {
    "test_session",
    "split",
    "test_speaker",
    "valid_ratio",
    "expected_utterances",
    "valid_split",
    "valid_session",
}
FOLDS = {"test_fold", "num_folds", "valid_ratio"}
CORPUS_KEYS = {
    "CREMA-D": {"corpus", "emotion_classes"} | FOLDS,
    "RAVDESS": {"corpus", "emotion_classes"} | FOLDS,
    "EmoDB": {"corpus", "emotion_classes"} | FOLDS,
    "MSP-Podcast": {"corpus", "emotion_classes", "test_set"},
    "CSV": {"csv_file", "emotion_classes", "emotion_words"} | FOLDS,
}


def all_keys(hparams_file):
    """Every top-level key of an hparams file.

    Arguments
    ---------
    hparams_file : str
        The HyperPyYAML file.

    Returns
    -------
    set of str
    """
    with open(hparams_file) as f:
        return {
            line.partition(":")[0].strip()
            for line in f
            if ":" in line and not line.startswith(("#", " ", "\t", "-"))
        }


def recipe_parts(script_file):
    """The source of the parts of a recipe's train.py that every corpus
    shares: the ``Brain`` class and the loader and checkpoint helpers.

    Arguments
    ---------
    script_file : str
        The training script.

    Returns
    -------
    dict
        Name to source text.
    """
    with open(script_file) as f:
        text = f.read()
    shared = ("GEmoCLAPBrain", "loader_kwargs", "resolve_checkpoint_interval")
    return {
        node.name: ast.get_source_segment(text, node)
        for node in ast.parse(text).body
        if getattr(node, "name", None) in shared
    }


def test_corpus_recipes_have_iemocaps_keys_and_their_protocol_keys():
    reference = all_keys(
        os.path.join(ROOT, "recipes/IEMOCAP/gemo_clap/hparams/sl_wavlm.yaml")
    )
    for dataset, keys in CORPUS_KEYS.items():
        path = os.path.join(
            ROOT, "recipes", dataset, "gemo_clap", "hparams", "sl_wavlm.yaml"
        )
        expected = (reference - IEMOCAP_PROTOCOL_KEYS) | keys
        assert all_keys(path) == expected, dataset


def test_corpus_recipes_share_iemocaps_brain_and_loaders():
    """Only the data preparation and pipeline differ between the recipes'
    train.py: a change of IEMOCAP's Brain hooks must reach every copy."""
    reference = recipe_parts(
        os.path.join(ROOT, "recipes/IEMOCAP/gemo_clap/train.py")
    )
    assert len(reference) == 3
    for row in ROWS:
        parts = recipe_parts(os.path.join(ROOT, row["Script_file"]))
        assert parts == reference, row["Script_file"]


def evaluate_calls(script_file):
    """The source of each ``brain.evaluate(...)`` call of a training
    script."""
    with open(script_file) as f:
        text = f.read()
    return [
        ast.get_source_segment(text, node)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "evaluate"
    ]


def main_block(script_file):
    """The ``if __name__ == "__main__":`` block of a train.py, with its
    preparation call (``run_on_main(prepare_<corpus>, ...)``) replaced by
    ``PREPARE``.

    Arguments
    ---------
    script_file : str
        The training script.

    Returns
    -------
    str
    """
    with open(script_file) as f:
        text = f.read()
    (block,) = [
        node
        for node in ast.parse(text).body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
    ]
    source = ast.get_source_segment(text, block)
    calls = [
        node
        for node in ast.walk(block)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "run_on_main"
    ]
    assert len(calls) == 1, script_file
    return source.replace(ast.get_source_segment(text, calls[0]), "PREPARE")


def test_corpus_recipes_run_iemocaps_main_block():
    """Every train.py's main block is IEMOCAP's apart from the
    preparation call: the same steps (fingerprint, Brain, fit, evaluate,
    export) in the same order."""
    reference = main_block(
        os.path.join(ROOT, "recipes/IEMOCAP/gemo_clap/train.py")
    )
    assert "PREPARE" in reference and "export_for_inference" in reference
    for row in ROWS:
        block = main_block(os.path.join(ROOT, row["Script_file"]))
        assert block == reference, row["Script_file"]


def test_corpus_recipes_evaluate_the_checkpoint_iemocap_evaluates():
    """Every recipe's test stage loads the checkpoint of the best
    validation UAR as IEMOCAP's does (which
    ``test_recipe.py::test_test_set_is_evaluated_with_the_best_checkpoint_by_valid_uar``
    checks at work): the same ``evaluate`` call in every train.py, keyed
    by ``selection_key``, which every hparams file sets to UAR."""
    (reference,) = evaluate_calls(
        os.path.join(ROOT, "recipes/IEMOCAP/gemo_clap/train.py")
    )
    assert 'max_key=hparams["selection_key"]' in reference
    for row in ROWS:
        calls = evaluate_calls(os.path.join(ROOT, row["Script_file"]))
        assert calls == [reference], row["Script_file"]
        with open(os.path.join(ROOT, row["Hparam_file"])) as f:
            keys = re.findall(r"^selection_key: *(\S+)", f.read(), re.M)
        assert keys == ["UAR"], row["Hparam_file"]


def test_no_test_hooks_in_the_package_or_recipes():
    """Nothing in the package or the recipes kills its own process (the
    tests interrupt runs from outside)."""
    pattern = re.compile(r"os\.kill\(|signal\.SIGKILL|GEMO_TEST_")
    found = []
    for folder in ("speechbrain_gemo", "recipes"):
        for parent, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith(".py"):
                    with open(os.path.join(parent, name)) as f:
                        if pattern.search(f.read()):
                            found.append(os.path.join(parent, name))
    assert found == []


CITED_TEST = re.compile(r"`(test_\w+\.py)(?:::(\w+)(?:\[[^\]`]*\])?)?`")
CITED_DOCTESTS = re.compile(r"doctests? of ((?:`[\w.]+`(?:,? (?:and )?)?)+)")


def _functions(path):
    """Name to docstring of every function, method and class of a Python
    file (a class's doctest is in its docstring)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        node.name: ast.get_docstring(node) or ""
        for node in ast.walk(tree)
        if isinstance(node, kinds)
    }


def missing_citations(root):
    """The citations of ``tests/README.md`` that name nothing: a
    ``test_x.py`` file that does not exist, a ``test_x.py::name`` (a
    parametrized ``name[...]`` allowed) that is no function of that file,
    a doctest of ``speechbrain_gemo.module.function`` (later names of a
    list in the same module) whose function has no ``>>>`` example.

    Arguments
    ---------
    root : str
        The project folder.

    Returns
    -------
    list of str
        One line per citation that names nothing.
    """
    with open(os.path.join(root, "tests", "README.md")) as f:
        text = f.read()
    problems = []
    for file_name, test_name in CITED_TEST.findall(text):
        path = os.path.join(root, "tests", file_name)
        if not os.path.isfile(path):
            problems.append(f"{file_name}: no such file")
        elif test_name and test_name not in _functions(path):
            problems.append(f"{file_name}::{test_name}: no such test")
    for listing in CITED_DOCTESTS.findall(text):
        module = None
        for name in re.findall(r"`([\w.]+)`", listing):
            if "." in name:
                module, _, name = name.rpartition(".")
            path = os.path.join(root, *module.split(".")) + ".py"
            found = _functions(path) if os.path.isfile(path) else {}
            if ">>>" not in found.get(name, ""):
                problems.append(f"{module}.{name}: no doctest")
    return problems


def test_tests_readme_names_existing_tests():
    """Every test and doctest ``tests/README.md`` cites exists, so the map
    of promises to tests cannot name a test that was renamed or removed."""
    assert missing_citations(ROOT) == []


def layout_problems(root):
    """Paths of the README's Layout table that do not exist, and modules of
    ``speechbrain_gemo/`` (top level) that the table does not list.

    In the first column, a name without ``/`` is in the folder of the
    row's first path, ``{a,b}`` stands for each of its parts, and a name
    with ``<...>`` is a pattern that must match at least one file.

    Arguments
    ---------
    root : str
        The project folder.

    Returns
    -------
    list of str
        One line per problem.
    """
    with open(os.path.join(root, "README.md")) as f:
        text = f.read()
    table = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    listed, problems = set(), []
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        folder = ""
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if "/" in name.rstrip("/"):
                folder = os.path.dirname(name.rstrip("/"))
            else:
                name = os.path.join(folder, name)
            braces = re.search(r"\{([^}]*)\}", name)
            names = [name]
            if braces:
                names = [
                    name.replace(braces.group(0), part)
                    for part in braces.group(1).split(",")
                ]
            for path in names:
                pattern = re.sub(r"<[^>]*>", "*", path)
                if not glob.glob(os.path.join(root, pattern)):
                    problems.append(f"{path}: not found")
                listed.add(os.path.normpath(path))
    package = os.path.join(root, "speechbrain_gemo")
    for name in sorted(os.listdir(package)):
        if name.endswith(".py") and name != "__init__.py":
            if os.path.join("speechbrain_gemo", name) not in listed:
                problems.append(f"speechbrain_gemo/{name}: not in Layout")
    return problems


def test_readme_layout_lists_every_module_and_only_real_paths():
    """The README's Layout table names only paths that exist and lists
    every module of the package."""
    assert layout_problems(ROOT) == []


# ------------------------------------------ the checks catch regressions


@pytest.fixture
def project_copy(tmp_path):
    """A copy of the recipes, their lists and the package."""
    for part in (
        "recipes",
        "speechbrain_gemo",
        os.path.join("tests", "recipes"),
    ):
        shutil.copytree(
            os.path.join(ROOT, part),
            tmp_path / part,
            ignore=shutil.ignore_patterns("__pycache__", "results"),
        )
    return tmp_path


def test_checks_catch_an_unlisted_file_and_missing_flags(project_copy):
    csv_path = project_copy / "tests" / "recipes" / "IEMOCAP.csv"
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["test_debug_flags"] = ""
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:-1])
    problems = unlisted_or_incomplete_rows(str(project_copy))
    assert f"{rows[-1]['Hparam_file']} is not listed in IEMOCAP.csv" in problems
    assert f"{rows[0]['Hparam_file']}: no test_debug_flags" in problems


def test_checks_catch_an_unused_key_and_a_composed_name(project_copy):
    row = ROWS[0]
    hparams = project_copy / row["Hparam_file"]
    script = project_copy / row["Script_file"]
    with open(hparams, "a") as f:
        f.write("unread_setting: 3\n")
    assert unused_keys(str(hparams), str(script)) == ["unread_setting"]
    # a key read through a composed name is not read under its own name
    text = script.read_text()
    assert '"train_annotation"' in text
    script.write_text(
        text.replace('"train_annotation"', 'f"{split}_annotation"')
    )
    assert unused_keys(str(hparams), str(script)) == [
        "train_annotation",
        "unread_setting",
    ]


def test_checks_catch_a_nested_function_without_docstring(project_copy):
    before = set(undocumented(str(project_copy)))
    script = project_copy / "recipes" / "IEMOCAP" / "gemo_clap" / "train.py"
    lines = script.read_text().splitlines(keepends=True)
    first = lines.index(
        '        """Encodes the emotion and gender labels as class indices.\n'
    )
    last = lines.index('        """\n', first)
    script.write_text("".join(lines[:first] + lines[last + 1 :]))
    (new,) = set(undocumented(str(project_copy))) - before
    assert new.startswith("recipes/IEMOCAP/gemo_clap/train.py:")
    assert new.endswith(" label_pipeline")


def test_checks_catch_a_cited_test_that_does_not_exist(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('x', [1])\n"
        "def test_real(x):\n    assert x\n"
    )
    package = tmp_path / "speechbrain_gemo"
    package.mkdir()
    (package / "m.py").write_text(
        'def shown():\n    """>>> 1\n    1\n    """\n\n\n'
        'def bare():\n    """No example."""\n'
    )
    (tmp_path / "tests" / "README.md").write_text(
        "| a | `test_a.py::test_real[1]`, `test_a.py`, "
        "`test_a.py::test_gone`, `test_b.py::test_real` |\n"
        "| b | doctests of `speechbrain_gemo.m.shown`, `bare` |\n"
    )
    assert missing_citations(str(tmp_path)) == [
        "test_a.py::test_gone: no such test",
        "test_b.py: no such file",
        "speechbrain_gemo.m.bare: no doctest",
    ]


def test_checks_catch_a_missing_and_an_unlisted_module(tmp_path):
    package = tmp_path / "speechbrain_gemo"
    package.mkdir()
    for name in ("__init__.py", "a.py", "b.py", "c.py"):
        (package / name).write_text("")
    (tmp_path / "README.md").write_text(
        "# P\n\n## Layout\n\n| Path | What |\n|---|---|\n"
        "| `speechbrain_gemo/a.py`, `gone.py` | x |\n"
        "| `speechbrain_gemo/{b,d}.py` | y |\n\n## Next\n"
        "| `speechbrain_gemo/c.py` | outside the table |\n"
    )
    assert layout_problems(str(tmp_path)) == [
        "speechbrain_gemo/gone.py: not found",
        "speechbrain_gemo/d.py: not found",
        "speechbrain_gemo/c.py: not in Layout",
    ]
