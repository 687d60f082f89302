# Sourced by scripts/demo and scripts/test: the project's virtualenv in .venv, created on first use.
# Usage: ensure_venv '.[test]'   (what to pip install into it)

ensure_venv() {
  local wanted="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv (python3 -m venv)"
    python3 -m venv .venv
  fi
  # Reinstall only when pyproject.toml changed since the last install of this set of extras.
  local stamp=".venv/.installed-$(echo "$wanted" | tr -c 'a-z0-9' '_')"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing $wanted into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$wanted"
    touch "$stamp"
  fi
}
