terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type        = string
  description = "AWS region to deploy to"
}

variable "environment" {
  type        = string
  description = "Environment the pipeline runs in"
  default     = "prod"
  validation {
    condition     = contains(["dev", "qa", "prod"], var.environment)
    error_message = "The environment is one of dev, qa and prod."
  }
}

variable "eks_namespace" {
  type        = string
  description = "Kubernetes namespace of the pipeline's jobs"
  default     = "default"
}

variable "aws_cli_image" {
  type        = string
  description = "Image with the AWS CLI that moves artifacts to and from S3"
  default     = "public.ecr.aws/aws-cli/aws-cli:2.22.0"
}

variable "eks_artifact_service_account" {
  type        = string
  description = "Kubernetes service account whose IAM role reads and writes the artifacts' S3 locations"
  default     = "default"
}

variable "eks_cluster_name" {
  type        = string
  description = "EKS cluster that runs Kubernetes tasks"
}

variable "eks_certificate_authority" {
  type        = string
  description = "The EKS cluster's certificate authority data"
}

variable "eks_endpoint" {
  type        = string
  description = "The EKS cluster's API server endpoint (https://...)"
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  name = "partition-fanout-${var.environment}"
  definition = replace(replace(replace(replace(replace(replace(
    file("${path.module}/state_machine.json"),
    "$${AwsCliImage}", var.aws_cli_image),
    "$${EksArtifactServiceAccount}", var.eks_artifact_service_account),
    "$${EksCertificateAuthority}", var.eks_certificate_authority),
    "$${EksClusterName}", var.eks_cluster_name),
    "$${EksEndpoint}", var.eks_endpoint),
    "$${EksNamespace}", var.eks_namespace)
  tags = {
    "sparklec:pipeline" = "partition_fanout"
  }
}

resource "aws_iam_role" "state_machine" {
  name = "partition-fanout-${var.environment}-sfn"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "states.amazonaws.com"
        }
        Action = "sts:AssumeRole"
        Condition = {
          StringEquals = {
            "aws:SourceAccount" = data.aws_caller_identity.current.account_id
          }
        }
      },
    ]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name = "integrations"
  role = aws_iam_role.state_machine.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid = "WriteLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ]
        Resource = "*"
      },
      {
        Sid = "DescribeEksCluster"
        Effect = "Allow"
        Action = [
          "eks:DescribeCluster",
        ]
        Resource = "arn:${data.aws_partition.current.partition}:eks:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:cluster/${var.eks_cluster_name}"
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "state_machine" {
  name = "/aws/vendedlogs/states/partition-fanout-${var.environment}"
  retention_in_days = 30
}

resource "aws_sfn_state_machine" "this" {
  name = local.name
  type = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn
  definition = local.definition
  tags = local.tags
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = false
    level                  = "ERROR"
  }
}

output "state_machine_arn" {
  value = aws_sfn_state_machine.this.arn
}
