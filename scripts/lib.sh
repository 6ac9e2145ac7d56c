# Shared by scripts/test and scripts/develop; sourced from the repository root.

# The test venv: .venv unless TEST_VENV names another (scripts/test-matrix gives
# each Home Assistant release its own).
VENV=${TEST_VENV:-.venv}

# The Home Assistant release our users run; checked statically when the test
# interpreter cannot run it (scripts/gate/requirements.txt pins the same).
CURRENT_HA_VERSION=$(sed -n 's/^homeassistant==//p' scripts/gate/requirements.txt)

# Print "<version> <path>" for an interpreter that can run Home Assistant:
# 3.13.0 and later 3.13 releases, or 3.14.2 and later 3.14 releases.
python_version_of() {
  "$1" -c 'import sys; v = sys.version_info
ok = (v[:2] == (3, 13)) or (v[:2] == (3, 14) and v[2] >= 2)
print("%d.%d.%d" % v[:3]) if ok else sys.exit(1)' 2>/dev/null
}

# Choose the newest usable interpreter: $PYTHON if set, else python3.14,
# python3.13 and pyenv's installed versions. Prints its path.
find_python() {
  if [ -n "${PYTHON:-}" ]; then
    python_version_of "$PYTHON" >/dev/null || {
      echo "PYTHON=$PYTHON cannot run Home Assistant (needs 3.13 or 3.14.2+)" >&2
      return 1
    }
    echo "$PYTHON"
    return 0
  fi
  local candidates=() best="" best_version="" version c
  for c in python3.14 python3.13 python3; do
    command -v "$c" >/dev/null && candidates+=("$(command -v "$c")")
  done
  if command -v pyenv >/dev/null; then
    for c in "$(pyenv root)"/versions/3.1[34]*/bin/python3; do
      [ -x "$c" ] && candidates+=("$c")
    done
  fi
  for c in "${candidates[@]}"; do
    version=$(python_version_of "$c") || continue
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best_version" "$version" | sort -V | tail -n 1)" != "$best_version" ]; then
      best=$c
      best_version=$version
    fi
  done
  if [ -z "$best" ]; then
    echo "No Python 3.13 or 3.14.2+ found; install one (pyenv works) or set PYTHON." >&2
    return 1
  fi
  echo "$best"
}

# Install a requirements file into a venv unless the same file was installed last time.
install_requirements() {
  local venv=$1 requirements=$2
  shift 2
  local stamp="$venv/.installed-$(basename "$requirements").sha256"
  local digest
  digest=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    return 0
  fi
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip &&
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@" -r "$requirements" &&
    echo "$digest" >"$stamp"
}

# Create the test venv with the chosen interpreter (again, if it was made by
# another version) and install the test requirements.
prepare_test_venv() {
  local python version
  python=$(find_python) || return 1
  version=$(python_version_of "$python")
  if [ -x "$VENV/bin/python" ] && [ "$(python_version_of "$VENV/bin/python")" != "$version" ]; then
    echo "==> $VENV was made with another Python; recreating it with $version"
    rm -rf "$VENV"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV with Python $version ($python)"
    "$python" -m venv "$VENV" || return 1
  fi
  echo "==> installing requirements_test.txt into $VENV (Python $version)"
  install_requirements "$VENV" requirements_test.txt && install_frontend
}

# A real hass process (scripts/develop, the end-to-end test) will not start
# without the frontend, which is not among the test requirements: install the
# version the installed Home Assistant asks for.
install_frontend() {
  "$VENV/bin/python" - >"$VENV/frontend-requirements.txt" <<'PY' || return 1
import json
from pathlib import Path

import homeassistant.components.frontend as frontend

manifest = json.loads((Path(frontend.__file__).parent / "manifest.json").read_text())
print("\n".join(manifest["requirements"]))
PY
  install_requirements "$VENV" "$VENV/frontend-requirements.txt"
}

# The installed Home Assistant release.
installed_ha_version() {
  "$VENV/bin/python" -c 'from importlib.metadata import version; print(version("homeassistant"))'
}

# mypy --strict on the integration. Home Assistant 2026 and later turns
# `voluptuous` into an alias of probatio as it is imported; where the installed
# release does, mypy reads voluptuous through the same stub as the pyright gate.
run_mypy() {
  local aliased
  aliased=$("$VENV/bin/python" -c 'import homeassistant, voluptuous
print(voluptuous.__name__.startswith("probatio"))') || return 1
  if [ "$aliased" = True ]; then
    echo "Home Assistant $(installed_ha_version) aliases voluptuous to probatio: checking with scripts/gate/stubs"
    MYPYPATH=scripts/gate/stubs "$VENV/bin/mypy" custom_components/printernizer_usage
  else
    "$VENV/bin/mypy" custom_components/printernizer_usage
  fi
}

# Check the integration against the newest Home Assistant with pyright. That
# release needs a newer Python than this machine may have, so it is installed
# into .venv-ha-gate with --ignore-requires-python and never executed.
run_current_ha_gate() {
  local installed
  installed=$(installed_ha_version) || return 1
  if [ "$installed" = "$CURRENT_HA_VERSION" ]; then
    echo "The test interpreter runs Home Assistant $installed itself: the test suite covers it."
    return 0
  fi
  if [ ! -x .venv-ha-gate/bin/python ]; then
    "$(find_python)" -m venv .venv-ha-gate || return 1
  fi
  echo "Installing Home Assistant $CURRENT_HA_VERSION into .venv-ha-gate (typing only)"
  install_requirements .venv-ha-gate scripts/gate/requirements.txt --ignore-requires-python || return 1
  (cd scripts/gate && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
  scripts/gate/node_modules/.bin/pyright -p scripts/gate/pyrightconfig.json
}

# The modules that decide what leaves the machine, and when, must be fully
# covered by their own tests: what a payload holds (payload), whether it may
# go (consent, decisions, sharing_settings), when (the outbox package) and
# where (urls). A package counts with every module in it.
CORE_MODULES="payload consent decisions sharing_settings outbox urls"
check_core_coverage() {
  local tests=() include=() module source=custom_components/printernizer_usage
  for module in $CORE_MODULES; do
    tests+=("tests/test_$module.py")
    if [ -d "$source/$module" ]; then
      include+=("$source/$module/*.py")
    elif [ -f "$source/$module.py" ]; then
      include+=("$source/$module.py")
    else
      echo "CORE_MODULES names $module, which is no module of the integration" >&2
      return 1
    fi
  done
  "$VENV/bin/python" -m pytest -q -p no:sugar --no-header --cov \
    --cov-report= --cov-fail-under=0 "${tests[@]}" | tail -n 1 &&
    "$VENV/bin/python" -m coverage report --fail-under=100 \
      --include="$(IFS=,; echo "${include[*]}")"
}

# The collection server (server/) has a venv of its own on the host's Python:
# the integration's test venv pins Home Assistant's SQLAlchemy and pydantic.
SERVER_VENV=${SERVER_VENV:-server/.venv}
SERVER_PYTHON=${SERVER_PYTHON:-python3}
prepare_server_venv() {
  if [ ! -x "$SERVER_VENV/bin/python" ]; then
    echo "==> creating $SERVER_VENV with $("$SERVER_PYTHON" --version 2>&1)"
    "$SERVER_PYTHON" -m venv "$SERVER_VENV" || return 1
  fi
  echo "==> installing server/requirements-test.txt into $SERVER_VENV"
  (cd server && install_requirements "${SERVER_VENV#server/}" requirements-test.txt)
}

# Install Debian packages, as root only (refreshing the package lists if the
# first try fails). Usage: apt_install_as_root "why" package [options...]
apt_install_as_root() {
  local why=$1
  shift
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  echo "==> installing Debian's $1 package ($why)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null ||
    { apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

# The server's storage tests also run on a throw-away PostgreSQL cluster
# (server/tests/databases.py), from Debian's postgresql package.
ensure_postgresql() {
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    return 0
  fi
  apt_install_as_root "the server's storage tests need it" postgresql --no-install-recommends &&
    return 0
  echo "PostgreSQL's server programs are missing: install Debian's postgresql package" >&2
  return 1
}

# The browser test (tests/e2e/test_browser.py) drives Debian's Chromium. As
# root it is installed here; otherwise this says how, and the test skips (under
# CI=true, scripts/test makes the test fail instead).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  apt_install_as_root "the browser test needs it" chromium && return 0
  echo "Chromium is missing: install Debian's chromium package to run the browser test" >&2
  return 1
}

# The collection server's own checks: strict typing, then its suite on SQLite
# and PostgreSQL (a missing PostgreSQL fails the suite instead of skipping).
run_server_suite() {
  prepare_server_venv || return 1
  ensure_postgresql || return 1
  local python=${SERVER_VENV#server/}/bin/python
  (cd server && "$python" -m mypy --strict printernizer_usage_server benchmarks &&
    PNZ_USAGE_TEST_REQUIRE_POSTGRESQL=1 "$python" -m pytest -p no:cacheprovider -q)
}
