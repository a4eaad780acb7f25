#!/usr/bin/env bash
# Deploys the state machine of pipeline partition-fanout with CloudFormation.
#   ./deploy.sh dev|qa|prod REGION [ParameterKey=value ...]
# The parameters are those of cloudformation.yaml.
set -euo pipefail

usage() {
  echo "usage: $0 dev|qa|prod REGION [ParameterKey=value ...]" >&2
  exit 2
}

[ "$#" -ge 2 ] || usage
env="$1"
region="$2"
shift 2
case "$env" in
  dev|qa|prod) ;;
  *) echo "unknown environment: $env" >&2; usage ;;
esac
if ! [[ "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
  echo "not an AWS region: $region" >&2
  usage
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
aws cloudformation deploy \
  --region "$region" \
  --template-file "$here/cloudformation.yaml" \
  --stack-name "partition-fanout-$env" \
  --capabilities CAPABILITY_IAM \
  --parameter-overrides "Environment=$env" "$@" \
  --tags "sparklec:pipeline=partition-fanout"

aws cloudformation describe-stacks \
  --region "$region" \
  --stack-name "partition-fanout-$env" \
  --query "Stacks[0].Outputs[?OutputKey=='StateMachineArn'].OutputValue" \
  --output text
