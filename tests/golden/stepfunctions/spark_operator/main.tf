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

variable "artifact_bucket" {
  type        = string
  description = "S3 bucket that keeps the artifacts passed between tasks"
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
  name = "monthly-report-${var.environment}"
  definition = replace(replace(replace(replace(replace(replace(replace(replace(replace(
    file("${path.module}/state_machine.json"),
    "$${ArtifactBucket}", var.artifact_bucket),
    "$${AwsCliImage}", var.aws_cli_image),
    "$${DataAlertsTopic}", aws_sns_topic.data_alerts_topic.arn),
    "$${EksArtifactServiceAccount}", var.eks_artifact_service_account),
    "$${EksCertificateAuthority}", var.eks_certificate_authority),
    "$${EksClusterName}", var.eks_cluster_name),
    "$${EksEndpoint}", var.eks_endpoint),
    "$${EksNamespace}", var.eks_namespace),
    "$${MonthlyReportTopic}", aws_sns_topic.monthly_report_topic.arn)
  tags = {
    "sparklec:pipeline" = "monthly_report"
  }
}

resource "aws_iam_role" "state_machine" {
  name = "monthly-report-${var.environment}-sfn"
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
      {
        Sid = "PublishNotifications"
        Effect = "Allow"
        Action = [
          "sns:Publish",
        ]
        Resource = [
          aws_sns_topic.monthly_report_topic.arn,
          aws_sns_topic.data_alerts_topic.arn,
        ]
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "state_machine" {
  name = "/aws/vendedlogs/states/monthly-report-${var.environment}"
  retention_in_days = 30
}

resource "aws_sns_topic" "monthly_report_topic" {
  name = "monthly-report-${var.environment}-monthly-report-topic"
  tags = local.tags
}

resource "aws_sns_topic" "data_alerts_topic" {
  name = "monthly-report-${var.environment}-data-alerts-topic"
  tags = local.tags
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

resource "aws_iam_role" "events" {
  name = "monthly-report-${var.environment}-events"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "events.amazonaws.com"
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
}

resource "aws_iam_role_policy" "events" {
  name = "start-execution"
  role = aws_iam_role.events.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Action = "states:StartExecution"
        Resource = aws_sfn_state_machine.this.arn
      },
    ]
  })
}

resource "aws_cloudwatch_event_rule" "schedule1" {
  name = "monthly-report-${var.environment}-schedule1"
  schedule_expression = "cron(0 6 1 * ? *)"
  tags = local.tags
}

resource "aws_cloudwatch_event_target" "schedule1" {
  rule = aws_cloudwatch_event_rule.schedule1.name
  arn = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.events.arn
}

output "state_machine_arn" {
  value = aws_sfn_state_machine.this.arn
}
