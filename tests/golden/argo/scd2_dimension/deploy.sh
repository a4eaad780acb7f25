#!/usr/bin/env bash
# Installs pipeline customer-dimension in a Kubernetes namespace that runs Argo Workflows (and Argo Events).
#   ./deploy.sh [NAMESPACE]        default: argo
#   ./deploy.sh NAMESPACE --submit also start a run now
set -euo pipefail

namespace="${1:-argo}"
if ! [[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; then
  echo "not a Kubernetes namespace name: $namespace" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/workflow-template.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/cron-workflow.yaml"
if [ "${2:-}" = "--submit" ]; then
  kubectl create --namespace "$namespace" --filename "$here/workflow.yaml"
fi
