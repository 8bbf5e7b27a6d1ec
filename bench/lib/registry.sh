# Starts Debian's docker-registry on a free loopback port for a benchmark.
# Sets REGISTRY_HOST and REGISTRY_PID; call stop_registry when done.

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(( (RANDOM % 20000) + 30000 ))
    if ! ss -ltn "sport = :$p" | grep -q ":$p"; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

start_registry() {
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
CFG
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY_HOST=127.0.0.1:$port
  for _ in $(seq 1 100); do
    if curl -fsS "http://$REGISTRY_HOST/v2/" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "docker-registry did not start; log:" >&2
  cat "$dir/registry.log" >&2
  return 1
}

stop_registry() {
  if [ -n "${REGISTRY_PID:-}" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; fi
}
