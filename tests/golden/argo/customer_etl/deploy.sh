#!/usr/bin/env bash
# Installs pipeline customer-etl in a Kubernetes namespace that runs Argo Workflows (and Argo Events).
#   ./deploy.sh [NAMESPACE] [--submit] [key=value ...]
# NAMESPACE defaults to argo; --submit also starts a run now.
# The settings (aws-region, ingest-data-job-id, stage-raw-job-id, transform-data-job-id, write-clean-job-id) go to ConfigMap customer-etl-settings: give all of them, once and whenever one changes.
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
    case "$key" in aws-region|ingest-data-job-id|stage-raw-job-id|transform-data-job-id|write-clean-job-id) given="$given$key " ;; *) echo "unknown setting: $key" >&2; usage ;; esac
  done
  case "$given" in *" aws-region "*) ;; *) echo "missing setting: aws-region=..." >&2; usage ;; esac
  case "$given" in *" ingest-data-job-id "*) ;; *) echo "missing setting: ingest-data-job-id=..." >&2; usage ;; esac
  case "$given" in *" stage-raw-job-id "*) ;; *) echo "missing setting: stage-raw-job-id=..." >&2; usage ;; esac
  case "$given" in *" transform-data-job-id "*) ;; *) echo "missing setting: transform-data-job-id=..." >&2; usage ;; esac
  case "$given" in *" write-clean-job-id "*) ;; *) echo "missing setting: write-clean-job-id=..." >&2; usage ;; esac
  kubectl create configmap customer-etl-settings --namespace "$namespace" "${@/#/--from-literal=}" --dry-run=client --output yaml | kubectl apply --namespace "$namespace" --filename -
elif ! kubectl get configmap customer-etl-settings --namespace "$namespace" > /dev/null 2>&1; then
  echo "namespace $namespace has no settings yet: give aws-region=... ingest-data-job-id=... stage-raw-job-id=... transform-data-job-id=... write-clean-job-id=..." >&2
  usage
fi
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/rbac.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/workflow-template.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/cron-workflow.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/event-source.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/sensor.yaml"
if [ "$submit" = "--submit" ]; then
  kubectl create --namespace "$namespace" --filename "$here/workflow.yaml"
fi
