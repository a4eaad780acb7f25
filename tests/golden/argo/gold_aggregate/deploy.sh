#!/usr/bin/env bash
# Installs pipeline daily-revenue-rollup in a Kubernetes namespace that runs Argo Workflows (and Argo Events).
#   ./deploy.sh [NAMESPACE] [--submit]
# NAMESPACE defaults to argo; --submit also starts a run now.
set -euo pipefail

usage() {
  echo "usage: $0 [NAMESPACE] [--submit]" >&2
  exit 2
}

[ "$#" -le 2 ] || usage
namespace=argo
if [ "$#" -ge 1 ]; then namespace="$1"; fi
submit=''
if [ "$#" -ge 2 ]; then submit="$2"; fi
if ! [[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; then
  echo "not a Kubernetes namespace name: $namespace" >&2
  usage
fi
case "$submit" in
  --submit|'') ;;
  *) echo "unknown option: $submit" >&2; usage ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/rbac.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/workflow-template.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/cron-workflow.yaml"
if [ "$submit" = "--submit" ]; then
  kubectl create --namespace "$namespace" --filename "$here/workflow.yaml"
fi
