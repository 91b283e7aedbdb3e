#!/bin/sh
# Registers Shipshape's namespace once the Temporal server answers, then exits. The app registers
# its own search attributes when it starts (src/platform/temporal/search-attributes.ts).
set -eu
temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
echo "namespace $TEMPORAL_NAMESPACE is ready"
