#!/usr/bin/env bash
# Installs pipeline crm-customers-ingestion in a Kubernetes namespace that runs Argo Workflows (and Argo Events).
#   ./deploy.sh [NAMESPACE] [--submit] [key=value ...]
# NAMESPACE defaults to argo; --submit also starts a run now.
# The settings (add-provenance-job, append-raw-job, aws-region, ingest-job) go to ConfigMap crm-customers-ingestion-settings: give all of them, once and whenever one changes.
set -euo pipefail

usage() {
  echo "usage: $0 [NAMESPACE] [--submit] [key=value ...]" >&2
  exit 2
}

namespace=argo
if [ "$#" -ge 1 ] && [[ "$1" != *=* ]]; then namespace="$1"; shift; fi
submit=''
if [ "$#" -ge 1 ] && [[ "$1" != *=* ]]; then submit="$1"; shift; fi
if ! [[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]]; then
  echo "not a Kubernetes namespace name: $namespace" >&2
  usage
fi
case "$submit" in
  --submit|'') ;;
  *) echo "unknown option: $submit" >&2; usage ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "$#" -gt 0 ]; then
  given=' '
  for setting in "$@"; do
    key="${setting%%=*}"
    case "$key" in add-provenance-job|append-raw-job|aws-region|ingest-job) given="$given$key " ;; *) echo "unknown setting: $key" >&2; usage ;; esac
  done
  case "$given" in *" add-provenance-job "*) ;; *) echo "missing setting: add-provenance-job=..." >&2; usage ;; esac
  case "$given" in *" append-raw-job "*) ;; *) echo "missing setting: append-raw-job=..." >&2; usage ;; esac
  case "$given" in *" aws-region "*) ;; *) echo "missing setting: aws-region=..." >&2; usage ;; esac
  case "$given" in *" ingest-job "*) ;; *) echo "missing setting: ingest-job=..." >&2; usage ;; esac
  kubectl create configmap crm-customers-ingestion-settings --namespace "$namespace" "${@/#/--from-literal=}" --dry-run=client --output yaml | kubectl apply --namespace "$namespace" --filename -
elif ! kubectl get configmap crm-customers-ingestion-settings --namespace "$namespace" > /dev/null 2>&1; then
  echo "namespace $namespace has no settings yet: give add-provenance-job=... append-raw-job=... aws-region=... ingest-job=..." >&2
  usage
fi
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/rbac.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/workflow-template.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/cron-workflow.yaml"
if [ "$submit" = "--submit" ]; then
  kubectl create --namespace "$namespace" --filename "$here/workflow.yaml"
fi
