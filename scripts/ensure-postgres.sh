#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432: use the one running, else
# start the installed cluster (as the postgres user: PostgreSQL refuses root), else
# install Debian's package and start it. Exports nothing; prints what it did.
set -euo pipefail
log() { printf '[postgres] %s\n' "$*"; }
answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if answers; then log "a server answers at 127.0.0.1:5432"; exit 0; fi
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
ver="$(ls /etc/postgresql | sort -V | tail -n 1)"
log "starting cluster $ver/main"
if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
        || su postgres -c "pg_ctlcluster --skip-systemctl-redirect $ver main start"
fi
for _ in $(seq 1 30); do answers && break; sleep 1; done
answers || { log "PostgreSQL did not start"; exit 1; }
# Trust auth for local test connections and a database named test, as on the project's machines.
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 \
    || su postgres -c "createdb test" || true
log "started at 127.0.0.1:5432"
