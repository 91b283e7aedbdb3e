#!/bin/sh
# accounts.conf reads each user's password from NATS_PASSWORD_<USER>; compose hands them over as secret
# files, so export each file under that name (api-password -> NATS_PASSWORD_API), then start the server.
set -eu
for f in /run/secrets/*-password; do
  [ -e "$f" ] || continue
  name=$(basename "$f" -password | tr 'a-z-' 'A-Z_')
  export "NATS_PASSWORD_${name}=$(cat "$f")"
done
exec nats-server "$@"
