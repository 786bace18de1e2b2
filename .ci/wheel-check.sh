#!/usr/bin/env bash
# The built wheel, installed on its own, runs a recipe, `validate` and `sample` from a
# folder outside the source tree: proves the suites and everything else a run needs ship in
# the wheel. The dependencies come from .venv (through a .pth line, which does not load the
# editable install of the source tree); synthgen itself only from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
.venv/bin/pip wheel --quiet --no-deps --no-build-isolation -w "$WORK/dist" .
python3 -m venv "$WORK/venv"
SITE=$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
DEPS=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$DEPS" > "$SITE/deps-from-dev-venv.pth"
"$WORK/venv/bin/python" -m pip install --quiet --no-deps "$WORK"/dist/synthgen-*.whl
mkdir "$WORK/elsewhere"
cp "$ROOT/data/insurance.csv" "$WORK/elsewhere/"
cat > "$WORK/elsewhere/recipe.yaml" <<'YAML'
name: wheel-check
seed: 1
source: {path: insurance.csv}
generator: {name: copula}
sample: {rows: 500}
validate: {suite: default, gates: {quality: 0, column_shapes: 0}}
YAML
cd "$WORK/elsewhere"
BIN="$WORK/venv/bin"
"$BIN/python" -c 'import synthgen, sys; assert "site-packages" in synthgen.__file__, synthgen.__file__'
# one version: the wheel's metadata is synthgen.__version__, and so is `synthgen --version`
"$BIN/python" -c 'import importlib.metadata as m, synthgen; assert m.version("synthgen") == synthgen.__version__'
"$BIN/synthgen" --version | grep -q "$("$BIN/python" -c 'import synthgen; print(synthgen.__version__)')"
"$BIN/synthgen" list | grep -q healthcare-release
"$BIN/synthgen" run recipe.yaml --out run -q || test $? -eq 3  # a gate may fail; it must run
test -s run/synthetic.csv && test -s run/report.html
"$BIN/synthgen" sample run/model -n 50 --out s.csv && test -s s.csv
"$BIN/synthgen" validate --real insurance.csv --synthetic run/synthetic.csv --out v -q \
    || test $? -eq 3
test -s v/report.json
echo "wheel check: ok"
