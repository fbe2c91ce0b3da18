#!/usr/bin/env bash
# Set up Strata from a fresh checkout: a virtual environment in .venv with everything it needs.
# Idempotent: a second run only checks. Usage: ./scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: on this project's CPU machines 2.13.0 is a local CPU build, while an open
# range would pull a multi-GB CUDA build. pyproject.toml's range then installs nothing more.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test,eval]"
# System libraries Qt needs for a real window (xcb) and for screenshots (Xvfb), on Debian as root.
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    missing=$(for p in libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
        libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 libdbus-1-3 xvfb xauth; do
        dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi
echo "Strata is set up in .venv"
