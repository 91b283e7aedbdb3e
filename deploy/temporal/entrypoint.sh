#!/bin/sh
# The Temporal server reads its database password from POSTGRES_PWD; compose hands it over as a secret
# file (POSTGRES_PWD_FILE), so export it from there, then start the server as the image does.
set -eu
POSTGRES_PWD=$(cat "$POSTGRES_PWD_FILE")
export POSTGRES_PWD
exec /etc/temporal/entrypoint.sh
