# Sourced by scripts/demo and scripts/test: the project's virtualenv in .venv, created on first use.
# Usage: ensure_venv '.[test]'   (what to pip install into it)

ensure_venv() {
  local wanted="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv (python3 -m venv)"
    python3 -m venv .venv
  fi
  # Reinstall only when pyproject.toml or a C extension's source (built by the install: the SFU's
  # forwarding loop, the gateway's fan-out write) changed since the last install of this set of extras.
  local stamp=".venv/.installed-$(echo "$wanted" | tr -c 'a-z0-9' '_')"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ rooms/media/_forward.c -nt "$stamp" ] \
      || [ server/gateway/_fanout.c -nt "$stamp" ]; then
    # The extension needs a C compiler and Python's headers (Debian: gcc, python3-dev).
    if { ! command -v gcc >/dev/null 2>&1 \
         || ! .venv/bin/python -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; } \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing gcc python3-dev (apt-get)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc python3-dev >/dev/null
    fi
    echo "==> installing $wanted into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$wanted"
    touch "$stamp"
  fi
}
