#!/bin/sh
# Makes the cluster on the first start (an empty volume), then runs PostgreSQL in the
# foreground. The superuser's password comes from the secret file, never from the
# environment, and only initdb reads it: later starts do not need it.
set -eu

secret=/run/secrets/db-password
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ ! -r "$secret" ]; then
    echo "start-postgres: no password file at $secret: give the db service the secret" >&2
    exit 1
  fi
  initdb --pgdata="$PGDATA" --username=postgres --pwfile="$secret" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  # Other containers on the app's network connect over TCP, with the password.
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # The app's database, made in single-user mode so no server listens half-initialised.
  echo "CREATE DATABASE app;" | postgres --single -D "$PGDATA" postgres >/dev/null
  echo "start-postgres: initialised $PGDATA"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*'
