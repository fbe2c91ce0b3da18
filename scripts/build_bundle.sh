#!/usr/bin/env bash
# Build the desktop bundle dist/strata/ (PyInstaller, packaging/strata.spec) and smoke-test it.
#   ./scripts/build_bundle.sh               # build, then test the frozen CLI and viewer
#   ./scripts/build_bundle.sh --no-build    # only the smoke tests, on the existing dist/strata
#   ./scripts/build_bundle.sh --no-smoke    # only the build
# Needs the project's .venv (scripts/setup.sh); installs PyInstaller into it from the `package`
# extra of pyproject.toml when missing. Takes about 10-20 minutes on 2 cores; Linux only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
BUILD=1
SMOKE=1
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        --no-smoke) SMOKE=0 ;;
        *) echo "usage: $0 [--no-build] [--no-smoke]" >&2; exit 2 ;;
    esac
done
[ -x "$PY" ] || { echo "no .venv: run ./scripts/setup.sh first" >&2; exit 1; }
APP=dist/strata

if [ "$BUILD" = 1 ]; then
    if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
        mapfile -t reqs < <("$PY" -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['package'], sep='\n')")
        echo "installing ${reqs[*]}"
        "$PY" -m pip install -q "${reqs[@]}"
    fi
    if [ ! -e resources/strata.png ] || [ resources/strata.svg -nt resources/strata.png ]; then
        QT_QPA_PLATFORM=offscreen "$PY" packaging/render_icon.py
    fi
    start=$SECONDS
    nice -n 5 .venv/bin/pyinstaller --noconfirm --log-level WARN \
        --distpath dist --workpath build/pyinstaller packaging/strata.spec
    echo "built $APP in $((SECONDS - start)) s, $(du -sh "$APP" | cut -f1)"
fi

[ "$SMOKE" = 1 ] || exit 0
[ -x "$APP/strata" ] && [ -e "$APP/strata-view" ] || { echo "no bundle in $APP" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The frozen app must not see the development tree.
run() { env -u PYTHONPATH -u PYTHONHOME XDG_CONFIG_HOME="$tmp/config" "$@"; }
unset STRATA_SMOKE_TEST STRATA_SMOKE_SCREENSHOT
sample="$APP/_internal/resources/sample.png"

echo "smoke test 1/4: strata encode (frozen CLI, torch, bundled weights)"
run "$APP/strata" encode "$sample" -o "$tmp/sample.strata"
echo "smoke test 2/4: strata info"
run "$APP/strata" info "$tmp/sample.strata" | tee "$tmp/info.txt"
grep -q "deephq" "$tmp/info.txt"
run "$APP/strata" decode "$tmp/sample.strata" --layers 2 -o "$tmp/preview.png"
[ -s "$tmp/preview.png" ]

# The viewer: `--smoke-test` once viewer/app.py has it, else the launcher's STRATA_SMOKE_TEST.
if run "$APP/strata-view" --help 2>/dev/null | grep -q -- "--smoke-test"; then
    view() { run QT_QPA_PLATFORM=offscreen timeout 600 "$APP/strata-view" --smoke-test "$1"; }
else
    view() { run QT_QPA_PLATFORM=offscreen STRATA_SMOKE_TEST=1 timeout 600 "$APP/strata-view" "$1"; }
fi
echo "smoke test 3/4: strata-view on the bundled sample (offscreen)"
view "$sample"
echo "smoke test 4/4: strata-view on a layered file, until its first layer is painted"
STRATA_SMOKE_SCREENSHOT="$PWD/dist/smoke-view.png" view "$tmp/sample.strata"
echo "bundle OK: $APP ($(du -sh "$APP" | cut -f1))"
