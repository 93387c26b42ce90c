# Sourced by Conformance/run and Conformance/jose/run: creates Conformance/.venv on first use and
# installs requirements.txt into it when the file (or the Python version) changed. Sets $py.
# Needs $conformance (the Conformance directory) and a label for messages in $venv_label.
ensure_venv() {
  local venv="$conformance/.venv" requirements="$conformance/requirements.txt" python="${PYTHON:-python3}" want
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "${venv_label:-conformance}: creating $venv" >&2
    "$python" -m venv "$venv"
  fi
  want="$( (sha256sum "$requirements"; "$venv/bin/python" --version) | sha256sum | cut -d' ' -f1)"
  if [[ "$want" != "$(cat "$venv/.requirements.sha256" 2>/dev/null || true)" ]]; then
    echo "${venv_label:-conformance}: installing $requirements" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$want" > "$venv/.requirements.sha256"
  fi
  py="$venv/bin/python"
}
