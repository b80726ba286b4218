# Sourced by the other scripts: exports NST_MODEL_PATH when it is not set.
# Order: the caller's NST_MODEL_PATH; a shared/models folder beside the
# checkout (how this project's workplace provides the model offline); else
# the per-user folder where tools/fetch-models.sh downloads to.
if [ -z "${NST_MODEL_PATH:-}" ]; then
  _nst_src=$(cd "$(dirname "$0")/.." && pwd)
  if [ -d "$_nst_src/../shared/models/squeezenet1.1" ]; then
    NST_MODEL_PATH=$(cd "$_nst_src/../shared/models" && pwd)
  else
    NST_MODEL_PATH=${XDG_DATA_HOME:-$HOME/.local/share}/gimp-neural-style/models
  fi
  unset _nst_src
fi
export NST_MODEL_PATH
