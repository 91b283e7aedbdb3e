#!/bin/sh
# Registers Shipshape's namespace once the Temporal server answers, then exits. The app registers
# its own search attributes when it starts (src/platform/temporal/search-attributes.ts).
set -eu
# The frontend wants a client certificate: the setup step's (admin).
tls="--tls-ca-path $TEMPORAL_TLS_CA --tls-cert-path $TEMPORAL_TLS_CERT --tls-key-path $TEMPORAL_TLS_KEY --tls-server-name $TEMPORAL_TLS_SERVER_NAME"
# shellcheck disable=SC2086
temporal operator namespace describe $tls --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1 ||
  temporal operator namespace create $tls --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
echo "namespace $TEMPORAL_NAMESPACE is ready"
