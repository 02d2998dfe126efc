# Sourced by the scripts: finds uv (installing it with pip if missing) and syncs the locked env.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
  UV=(python3 -m uv)
fi
# The ClickHouse events engine's extra is installed too: its tests run against chDB.
"${UV[@]}" sync --frozen --quiet --extra clickhouse
