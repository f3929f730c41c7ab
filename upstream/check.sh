#!/usr/bin/env bash
# Checks every patch of upstream/ on SpeechBrain's own tree.
#
#   upstream/check.sh SB_DIR
#
# SB_DIR: a git clone of speechbrain/speechbrain (or a bare mirror of it)
# that holds SB_COMMIT; it is left untouched (the work is done in a
# temporary clone sharing its objects). For each patch, on a clean tree at
# SB_COMMIT:
#   1. only the patch's tests are applied: each test the patch adds must
#      fail (the behaviour it describes is there);
#   2. the whole patch is applied: its new tests must pass, and SpeechBrain's
#      unit tests of the touched modules (the test files the patch changes
#      and those of tests/unittests that import a touched module), the
#      doctests of the touched modules and the consistency checks
#      (tests/consistency) may fail only where they fail at SB_COMMIT too
#      (e.g. for want of network or of an optional dependency);
#   3. ruff (format and check, SpeechBrain's configuration) on the files
#      the patch changes.
# Then the same with every patch applied together. One line per patch;
# the exit status is 0 when every line says PASS.
#
# Variables:
#   PY    the Python that runs SpeechBrain's tests (default: this project's
#         .venv/bin/python: torch, transformers, pytest). The checkout under
#         test is put first on PYTHONPATH; check.sh stops if
#         `import speechbrain` does not resolve to it.
#   RUFF  the ruff to lint with (default: the one beside PY; SpeechBrain
#         pins ruff 0.12.4, see its lint-requirements.txt).
#   KEEP  set to keep the temporary clone and the pytest logs.
set -u -o pipefail

SB_COMMIT=9c826ef3937bac885c8a6ca86c6889a30f256fb5
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PY=${PY:-$REPO/.venv/bin/python}
RUFF=${RUFF:-$(dirname "$PY")/ruff}

if [ $# -ne 1 ]; then
    echo "usage: $0 SB_DIR (a clone of speechbrain/speechbrain)" >&2
    exit 2
fi
SB_DIR=$(cd "$1" && pwd) || exit 2
if ! git -C "$SB_DIR" cat-file -e "$SB_COMMIT^{commit}" 2>/dev/null; then
    echo "$SB_DIR does not hold SpeechBrain commit $SB_COMMIT" >&2
    exit 2
fi

WORK=$(mktemp -d)
WT=$WORK/speechbrain
LOGS=$WORK/logs
mkdir "$LOGS"
cleanup() {
    if [ -n "${KEEP:-}" ]; then
        echo "kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
git clone -q --shared --no-checkout "$SB_DIR" "$WT" || exit 2
git -C "$WT" checkout -q --detach "$SB_COMMIT" || exit 2

export PYTHONPATH="$WT${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
resolved=$(cd "$WT" && "$PY" -c 'import speechbrain; print(speechbrain.__file__)')
if [ "$resolved" != "$WT/speechbrain/__init__.py" ]; then
    echo "import speechbrain gives $resolved, not the checkout $WT" >&2
    exit 2
fi
echo "SpeechBrain $SB_COMMIT ($(git -C "$WT" log -1 --format='%ad' --date=short))"
echo "PY=$PY ($("$PY" -c 'import sys, torch; print("Python", sys.version.split()[0], "torch", torch.__version__)'))"
if [ -x "$RUFF" ]; then
    echo "RUFF=$RUFF ($("$RUFF" --version))"
else
    echo "RUFF=$RUFF not found: lint not run"
fi

reset_tree() {
    git -C "$WT" checkout -q -f --detach "$SB_COMMIT" && git -C "$WT" clean -fdxq
}

# The files a patch changes ("+++ b/path" lines)
patch_files() {
    sed -n 's|^+++ b/||p' "$1"
}

is_test_file() {
    case "$1" in
    tests/* | */tests/*) return 0 ;;
    *) return 1 ;;
    esac
}

# The tests a patch adds: "file::name" for each added "def test_..."
new_tests() {
    awk '/^\+\+\+ b\// { file = substr($0, 7) }
         /^\+def test_/ { name = $2; sub(/\(.*/, "", name); print file "::" name }' "$1"
}

# SpeechBrain's unit test files of a patch: those it changes, and those of
# tests/unittests that import one of the modules it changes
unit_test_files() {
    local file module
    for file in $(patch_files "$1"); do
        if is_test_file "$file"; then
            echo "$file"
        elif [[ $file == speechbrain/*.py ]]; then
            module=${file%.py}
            module=${module//\//.}
            (cd "$WT" && grep -l -E "${module//./\\.}\b|from ${module%.*} import ${module##*.}\b" \
                tests/unittests/*.py 2>/dev/null)
        fi
    done | sort -u
}

code_files() {
    local file
    for file in $(patch_files "$1"); do
        is_test_file "$file" || [[ $file != *.py ]] || echo "$file"
    done
}

# Runs pytest in the checkout; writes "OUTCOME node-id" lines to $2.log.ids
# and the summary line to $2.log.summary
run_pytest() {
    local log=$1
    shift
    (cd "$WT" && "$PY" -m pytest -q -rA -p no:cacheprovider "$@") \
        >"$log" 2>&1
    grep -E '^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ' "$log" |
        sed -E 's/ - .*//' | sort -u >"$log.ids"
    tail -n 1 "$log" >"$log.summary"
}

failing() {
    grep -E '^(FAILED|ERROR) ' "$1.ids" | cut -d' ' -f2- | sort -u
}

count() {
    grep -c -E "^$2 " "$1.ids"
}

lint() {
    local files=("$@") out
    [ -x "$RUFF" ] || { echo "ruff not run"; return 0; }
    [ ${#files[@]} -gt 0 ] || { echo "nothing to lint"; return 0; }
    if out=$(cd "$WT" && "$RUFF" format --check "${files[@]}" 2>&1 &&
        "$RUFF" check "${files[@]}" 2>&1); then
        echo "ruff clean"
    else
        echo "ruff: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
        return 1
    fi
}

PATCHES=("$HERE"/[0-9][0-9]-*.patch)
ALL_UNIT=$(for p in "${PATCHES[@]}"; do unit_test_files "$p"; done | sort -u)
ALL_CODE=$(for p in "${PATCHES[@]}"; do code_files "$p"; done | sort -u)
# Test files the patches create do not exist at SB_COMMIT
BASE_UNIT=$(for f in $ALL_UNIT; do [ -e "$WT/$f" ] && echo "$f"; done)

echo "baseline at $SB_COMMIT: unit tests of the touched modules, their doctests, tests/consistency"
reset_tree
# shellcheck disable=SC2086
run_pytest "$LOGS/baseline" $BASE_UNIT tests/consistency \
    --doctest-modules $ALL_CODE
failing "$LOGS/baseline" >"$LOGS/baseline.failing"
echo "  $(cat "$LOGS/baseline.summary")"
sed 's/^/  fails at the commit too: /' "$LOGS/baseline.failing"

# Checks a patched tree: new tests passed, no failure beyond the baseline
check_patched() {
    local log=$1 tests=$2 missing new_failures
    missing=$(for t in $tests; do grep -q -x "PASSED $t" "$log.ids" || echo "$t"; done)
    new_failures=$(failing "$log" | comm -23 - "$LOGS/baseline.failing")
    if [ -n "$missing" ]; then
        echo "new tests not passed: $(echo $missing)"
        return 1
    fi
    if [ -n "$new_failures" ]; then
        echo "fails beyond the baseline: $(echo $new_failures)"
        return 1
    fi
    echo "$(count "$log" PASSED) passed, $(failing "$log" | wc -l) failing at the commit too"
}

status=0
for patch in "${PATCHES[@]}"; do
    name=$(basename "$patch" .patch)
    tests=$(new_tests "$patch")
    n_tests=$(echo "$tests" | wc -w)
    includes=()
    for f in $(patch_files "$patch"); do
        is_test_file "$f" && includes+=(--include="$f")
    done
    verdict=PASS
    notes=()

    # 1. Tests only: each new test must fail
    reset_tree
    if ! git -C "$WT" apply "${includes[@]}" "$patch"; then
        echo "FAIL $name: its tests do not apply at $SB_COMMIT"
        status=1
        continue
    fi
    # shellcheck disable=SC2086
    run_pytest "$LOGS/$name.without" $tests
    failed=$(count "$LOGS/$name.without" FAILED)
    if [ "$n_tests" -eq 0 ] || [ "$failed" -ne "$n_tests" ]; then
        verdict=FAIL
        notes+=("without the fix, $failed of the $n_tests new tests fail ($(cat "$LOGS/$name.without.summary"))")
    else
        notes+=("new tests: $n_tests, each fails without the fix, passes with it")
    fi

    # 2. The whole patch
    reset_tree
    if ! git -C "$WT" apply "$patch"; then
        echo "FAIL $name: does not apply at $SB_COMMIT"
        status=1
        continue
    fi
    # shellcheck disable=SC2046
    run_pytest "$LOGS/$name.with" $(unit_test_files "$patch") \
        tests/consistency --doctest-modules $(code_files "$patch")
    if result=$(check_patched "$LOGS/$name.with" "$tests"); then
        notes+=("unit tests, doctests, consistency: $result")
    else
        verdict=FAIL
        notes+=("$result")
    fi

    # 3. Lint
    # shellcheck disable=SC2046
    if result=$(lint $(patch_files "$patch" | grep '\.py$')); then
        notes+=("$result")
    else
        verdict=FAIL
        notes+=("$result")
    fi
    [ "$verdict" = PASS ] || status=1
    line="$verdict $name"
    sep=": "
    for note in "${notes[@]}"; do
        line+="$sep$note"
        sep="; "
    done
    echo "$line"
done

# Every patch together
reset_tree
applied=0
for patch in "${PATCHES[@]}"; do
    git -C "$WT" apply "$patch" && applied=$((applied + 1))
done
all_tests=$(for p in "${PATCHES[@]}"; do new_tests "$p"; done)
# shellcheck disable=SC2086
run_pytest "$LOGS/all" $ALL_UNIT tests/consistency --doctest-modules $ALL_CODE
if [ "$applied" -eq ${#PATCHES[@]} ] && result=$(check_patched "$LOGS/all" "$all_tests"); then
    echo "PASS all $applied patches applied together: $result"
else
    echo "FAIL all patches together: $applied of ${#PATCHES[@]} applied; ${result:-}"
    status=1
fi
echo "check.sh took ${SECONDS}s"
exit $status
