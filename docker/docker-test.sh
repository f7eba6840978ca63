#!/usr/bin/env bash
# docker-test.sh - build the image and run the three Compose modes on this machine, checking them
# over REST on 127.0.0.1 (`make docker-test`; docs/DOCKER.md):
#
#   1. SQLite (docker-compose.yml): up, healthy, dashboard served, a small study completes with
#      exactly its trials; down + up (no -v): the study is still there; down -v: volume gone.
#   2. PostgreSQL (+ docker-compose.postgres.yml): the API without workers and 2 scaled `worker`
#      containers on a fresh database of the host's PostgreSQL; a study completes with exactly
#      its trials, two at a time; down + up: still there; down -v and the database is dropped.
#   3. Cluster (docker-compose.cluster.yml, with the PostgreSQL mode): two API processes behind
#      HAProxy and a worker on a fresh database; external runners through the load balancer
#      while one API process is SIGKILLed mid-study (docker/clustercheck.py): exactly n_trials,
#      each handed out once, every point in the curves and live streams of every process.
#
# The stacks run on the host's network (../shared/docker/host-network-compose.py rewrites the
# resolved compose files), so all traffic stays on 127.0.0.1; the bundled postgres:16 service is
# replaced by the host's PostgreSQL, and the official haproxy:2.6 by a stand-in built the same
# way as python:3.11-slim's (Debian's haproxy). Any failure exits non-zero.
#
# Environment:
#   DOCKER_TEST_PORT      port of the API, HAProxy's in the cluster mode (default: a free one, so
#                         `make run` on 8000 is safe)
#   DOCKER_TEST_POSTGRES  1: run the PostgreSQL and cluster modes (fail if unreachable), 0: skip,
#                         auto (default): run them when PostgreSQL answers
#   DOCKER_TEST_PG_ADMIN_URL  where to create the test database
#                         (default postgresql://postgres@127.0.0.1:5432/test)
#   PYTHON                a Python with PyYAML and psycopg (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '[docker-test %s] %s\n' "$(date +%T)" "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }

PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
CHECK=("$PYTHON" "$ROOT/docker/stackcheck.py")
CLUSTER=("$PYTHON" "$ROOT/docker/clustercheck.py")
HOST_NETWORK=${HOST_NETWORK_COMPOSE:-$ROOT/../shared/docker/host-network-compose.py}
BASE_IMAGE_SCRIPT=$ROOT/../shared/docker/make-base-image.sh
PG_MODE=${DOCKER_TEST_POSTGRES:-auto}
PG_ADMIN_URL=${DOCKER_TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/test}
START=$SECONDS

# The developer's own ADAMTUNE_* settings must not leak into the test stacks.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^ADAMTUNE_' || true)
free_ports() {  # free_ports N: N distinct free ports on 127.0.0.1
  "$PYTHON" -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))' "$1"
}
PORT=${DOCKER_TEST_PORT:-$(free_ports 1)}
export ADAMTUNE_PORT=$PORT ADAMTUNE_HOST=127.0.0.1 ADAMTUNE_IMAGE=adamtune:docker-test
export ADAMTUNE_HEARTBEAT_INTERVAL=1 ADAMTUNE_GRACE_PERIOD=5 ADAMTUNE_POLL_INTERVAL=0.2
URL=http://127.0.0.1:$PORT
SUFFIX=$$-$RANDOM
SQLITE_PROJECT=adamtune-dockertest-sqlite-$SUFFIX
PG_PROJECT=adamtune-dockertest-pg-$SUFFIX
CLUSTER_PROJECT=adamtune-dockertest-cluster-$SUFFIX
PG_DB=adamtune_docker_${SUFFIX//-/_}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/adamtune-docker-test.XXXXXX")
: >"$WORK/empty.env"   # a .env beside docker-compose.yml must not change the test either
PG_CREATED=()  # databases to drop on the way out

sqlite_compose() { docker-compose -p "$SQLITE_PROJECT" -f "$WORK/sqlite.yml" "$@"; }
pg_compose() { docker-compose -p "$PG_PROJECT" -f "$WORK/pg.yml" "$@"; }
cluster_compose() { docker-compose -p "$CLUSTER_PROJECT" -f "$WORK/cluster.yml" "$@"; }

cleanup() {
  status=$?
  if [ "$status" != 0 ]; then
    for mode in sqlite pg cluster; do
      if [ -f "$WORK/$mode.yml" ] && [ -n "$("${mode}_compose" ps -q 2>/dev/null)" ]; then
        log "logs of the $mode stack (last 40 lines per container):"
        "${mode}_compose" logs --no-color --tail 40 2>/dev/null || true
      fi
    done
  fi
  [ -f "$WORK/sqlite.yml" ] && sqlite_compose down -v --remove-orphans >/dev/null 2>&1 || true
  [ -f "$WORK/pg.yml" ] && pg_compose down -v --remove-orphans >/dev/null 2>&1 || true
  [ -f "$WORK/cluster.yml" ] && cluster_compose down -v --remove-orphans >/dev/null 2>&1 || true
  for db in "${PG_CREATED[@]}"; do
    "${CHECK[@]}" pg-drop "$PG_ADMIN_URL" "$db" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
  if [ "$status" = 0 ]; then log "PASSED in $((SECONDS - START)) s"; else log "FAILED (exit $status)"; fi
  exit "$status"
}
trap cleanup EXIT

# host-network variant of a compose configuration: resolve it, then rewrite it
host_variant() {  # host_variant OUT [compose -f files...] [-- services to drop]
  local out=$1; shift
  local files=() drop=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=(-f "$1"); shift; done
  [ $# -gt 0 ] && { shift; drop=("$@"); }
  docker-compose --env-file "$WORK/empty.env" "${files[@]}" config >"$WORK/resolved.yml"
  if [ ${#drop[@]} -gt 0 ]; then
    "$PYTHON" "$HOST_NETWORK" <"$WORK/resolved.yml" | "${CHECK[@]}" drop-services "${drop[@]}" >"$out"
  else
    "$PYTHON" "$HOST_NETWORK" <"$WORK/resolved.yml" >"$out"
  fi
}

wait_healthy() {  # wait_healthy COMPOSE_FN SERVICE [URL]: Docker's HEALTHCHECK, then /healthz
  local id health
  id=$("$1" ps -q "$2")
  [ -n "$id" ] || die "no container for service $2"
  for _ in $(seq 120); do
    health=$(docker inspect -f '{{.State.Health.Status}}' "$id")
    [ "$health" = healthy ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || die "$2 exited"
    sleep 1
  done
  [ "$health" = healthy ] || die "$2 is $health after 120 s"
  echo "  ok: container $2 (${id:0:12}) is healthy (Docker HEALTHCHECK on /healthz)"
  "${CHECK[@]}" health "${3:-$URL}" --timeout 30
}

volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }

# --- 0. the base image and the project image ------------------------------------------------
if [ -f "$BASE_IMAGE_SCRIPT" ]; then
  if [ "$(id -u)" = 0 ]; then
    log "base image: $BASE_IMAGE_SCRIPT"
    bash "$BASE_IMAGE_SCRIPT"
    # the cluster mode's load balancer: the official image's stand-in, Debian's haproxy 2.6
    [ "$PG_MODE" = 0 ] || TAG=haproxy:2.6 EXTRA_PKGS=haproxy bash "$BASE_IMAGE_SCRIPT"
  elif ! docker image inspect python:3.11-slim >/dev/null 2>&1; then
    die "python:3.11-slim is missing and $BASE_IMAGE_SCRIPT needs root"
  fi
fi
docker info >/dev/null 2>&1 || die "docker does not answer"
command -v docker-compose >/dev/null || die "docker-compose (Compose v1) is not installed"

log "port $PORT, image $ADAMTUNE_IMAGE, work dir $WORK"
host_variant "$WORK/sqlite.yml" docker-compose.yml
log "build (log: docker-compose build)"
sqlite_compose build >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; die "build failed"; }
echo "  ok: image $ADAMTUNE_IMAGE built ($(docker image inspect -f '{{.Size}}' "$ADAMTUNE_IMAGE" \
  | awk '{printf "%.0f MB", $1/1e6}'))"
user=$(docker image inspect -f '{{.Config.User}}' "$ADAMTUNE_IMAGE")
[ -n "$user" ] && [ "$user" != root ] || die "the image runs as root"
echo "  ok: runs as user $user; CMD $(docker image inspect -f '{{json .Config.Cmd}}' "$ADAMTUNE_IMAGE")"

# --- 1. SQLite in a named volume, embedded workers ------------------------------------------
log "SQLite mode: up"
sqlite_compose up -d --no-build
wait_healthy sqlite_compose adamtune
"${CHECK[@]}" pages "$URL"
STUDY='{"name": "docker-test", "task": "quadratic_deep", "n_trials": 3, "epochs": 2}'
id=$("${CHECK[@]}" submit "$URL" "$STUDY")
"${CHECK[@]}" wait "$URL" "$id" 3 --timeout 180

log "SQLite mode: down + up (no -v)"
sqlite_compose down
volume_exists "${SQLITE_PROJECT}_adamtune-data" || die "volume ${SQLITE_PROJECT}_adamtune-data is gone"
echo "  ok: volume ${SQLITE_PROJECT}_adamtune-data kept"
sqlite_compose up -d --no-build
wait_healthy sqlite_compose adamtune
"${CHECK[@]}" present "$URL" docker-test 3

log "SQLite mode: down -v"
sqlite_compose down -v
! volume_exists "${SQLITE_PROJECT}_adamtune-data" || die "volume still there after down -v"
echo "  ok: stack and volume removed"

# --- 2. PostgreSQL: API without workers + 2 scaled workers ----------------------------------
if [ "$PG_MODE" = auto ]; then
  if "${CHECK[@]}" pg-ping "$PG_ADMIN_URL" 2>/dev/null; then PG_MODE=1; else
    log "SKIPPED PostgreSQL mode: no PostgreSQL at $PG_ADMIN_URL (DOCKER_TEST_POSTGRES=1 fails)"
    PG_MODE=0
  fi
fi
if [ "$PG_MODE" = 1 ]; then
  log "PostgreSQL mode: fresh database $PG_DB on the host's PostgreSQL"
  "${CHECK[@]}" pg-create "$PG_ADMIN_URL" "$PG_DB"
  PG_CREATED+=("$PG_DB")
  export ADAMTUNE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/$PG_DB
  # the host's PostgreSQL stands in for the postgres:16 service (no registry here)
  host_variant "$WORK/pg.yml" docker-compose.yml docker-compose.postgres.yml -- postgres
  unset ADAMTUNE_DATABASE_URL
  log "PostgreSQL mode: up --scale worker=2"
  pg_compose up -d --no-build --scale worker=2
  wait_healthy pg_compose adamtune
  workers=$(pg_compose ps -q worker | wc -l)
  [ "$workers" = 2 ] || die "expected 2 worker containers, found $workers"
  echo "  ok: 2 worker containers; the API runs with ADAMTUNE_WORKERS=0"
  STUDY='{"name": "docker-test-pg", "task": "mlp_digits", "n_trials": 8, "epochs": 10, "pruner": "none"}'
  id=$("${CHECK[@]}" submit "$URL" "$STUDY")
  "${CHECK[@]}" wait "$URL" "$id" 8 --timeout 240 --min-parallel 2

  log "PostgreSQL mode: down + up (no -v)"
  pg_compose down
  pg_compose up -d --no-build --scale worker=2
  wait_healthy pg_compose adamtune
  "${CHECK[@]}" present "$URL" docker-test-pg 8

  log "PostgreSQL mode: down -v, drop the database"
  pg_compose down -v
  "${CHECK[@]}" pg-drop "$PG_ADMIN_URL" "$PG_DB"
  PG_CREATED=()
fi

# --- 3. cluster: two API processes behind HAProxy, a worker, runners, a SIGKILL --------------
if [ "$PG_MODE" = 1 ]; then
  log "cluster mode: fresh database ${PG_DB}_cluster, two API processes behind HAProxy"
  "${CHECK[@]}" pg-create "$PG_ADMIN_URL" "${PG_DB}_cluster"
  PG_CREATED+=("${PG_DB}_cluster")
  read -r API_1_PORT API_2_PORT STATS_PORT < <(free_ports 3)
  # on the host's network every process has its own port, and the LB reaches them at 127.0.0.1
  export ADAMTUNE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/${PG_DB}_cluster \
    ADAMTUNE_API_1_PORT=$API_1_PORT ADAMTUNE_API_2_PORT=$API_2_PORT ADAMTUNE_API_1_HOST=127.0.0.1 \
    ADAMTUNE_API_2_HOST=127.0.0.1 ADAMTUNE_LB_STATS_PORT=$STATS_PORT
  host_variant "$WORK/cluster.yml" docker-compose.cluster.yml -- postgres
  unset ADAMTUNE_DATABASE_URL
  API_1=http://127.0.0.1:$API_1_PORT API_2=http://127.0.0.1:$API_2_PORT
  cluster_compose up -d --no-build --scale worker=1
  wait_healthy cluster_compose api-1 "$API_1"
  wait_healthy cluster_compose api-2 "$API_2"
  "${CHECK[@]}" health "$URL" --timeout 30   # through HAProxy
  STUDY='{"name": "docker-test-cluster-worker", "task": "quadratic_deep", "n_trials": 3, "epochs": 2}'
  worker_study=$("${CHECK[@]}" submit "$URL" "$STUDY")
  id=$("${CLUSTER[@]}" run "$URL" "http://127.0.0.1:$STATS_PORT" --api "api-1=$API_1" \
    --api "api-2=$API_2" --kill "api-2=$(cluster_compose ps -q api-2)")
  "${CHECK[@]}" wait "$URL" "$worker_study" 3 --timeout 120
  log "cluster mode: api-2 back; every process serves the whole study"
  cluster_compose up -d --no-build --scale worker=1 api-2
  wait_healthy cluster_compose api-2 "$API_2"
  for url in "$API_1" "$API_2" "$URL"; do "${CLUSTER[@]}" replay "$url" "$id"; done
  cluster_compose down -v
  "${CHECK[@]}" pg-drop "$PG_ADMIN_URL" "${PG_DB}_cluster"
  PG_CREATED=()
fi
