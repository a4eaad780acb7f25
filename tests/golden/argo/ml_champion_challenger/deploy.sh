#!/usr/bin/env bash
# Installs pipeline churn-model-training in a Kubernetes namespace that runs Argo Workflows (and Argo Events).
#   ./deploy.sh [NAMESPACE] [--submit] [key=value ...]
# NAMESPACE defaults to argo; --submit also starts a run now.
# The settings (select-champion-job-id, train-logistic-job-id, train-random-forest-job-id, train-xgboost-job-id) go to ConfigMap churn-model-training-settings: give all of them, once and whenever one changes.
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
    case "$key" in select-champion-job-id|train-logistic-job-id|train-random-forest-job-id|train-xgboost-job-id) given="$given$key " ;; *) echo "unknown setting: $key" >&2; usage ;; esac
  done
  case "$given" in *" select-champion-job-id "*) ;; *) echo "missing setting: select-champion-job-id=..." >&2; usage ;; esac
  case "$given" in *" train-logistic-job-id "*) ;; *) echo "missing setting: train-logistic-job-id=..." >&2; usage ;; esac
  case "$given" in *" train-random-forest-job-id "*) ;; *) echo "missing setting: train-random-forest-job-id=..." >&2; usage ;; esac
  case "$given" in *" train-xgboost-job-id "*) ;; *) echo "missing setting: train-xgboost-job-id=..." >&2; usage ;; esac
  kubectl create configmap churn-model-training-settings --namespace "$namespace" "${@/#/--from-literal=}" --dry-run=client --output yaml | kubectl apply --namespace "$namespace" --filename -
elif ! kubectl get configmap churn-model-training-settings --namespace "$namespace" > /dev/null 2>&1; then
  echo "namespace $namespace has no settings yet: give select-champion-job-id=... train-logistic-job-id=... train-random-forest-job-id=... train-xgboost-job-id=..." >&2
  usage
fi
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/rbac.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/workflow-template.yaml"
kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/cron-workflow.yaml"
if [ "$submit" = "--submit" ]; then
  kubectl create --namespace "$namespace" --filename "$here/workflow.yaml"
fi
