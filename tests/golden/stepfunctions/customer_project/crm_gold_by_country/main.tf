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

variable "athena_work_group" {
  type        = string
  description = "Athena workgroup that runs the SQL tasks"
  default     = "primary"
}

variable "athena_output_location" {
  type        = string
  description = "S3 URI for Athena query results (s3://bucket/prefix/)"
}

variable "data_bucket" {
  type        = string
  description = "Name of the S3 bucket that holds the pipeline's tables"
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  name = "crm-gold-by-country-${var.environment}"
  definition = replace(replace(
    file("${path.module}/state_machine.json"),
    "$${AthenaOutputLocation}", var.athena_output_location),
    "$${AthenaWorkGroup}", var.athena_work_group)
  tags = {
    "sparklec:pipeline" = "crm_gold_by_country"
  }
}

resource "aws_iam_role" "state_machine" {
  name = "crm-gold-by-country-${var.environment}-sfn"
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
        Sid = "RunAthenaQueries"
        Effect = "Allow"
        Action = [
          "athena:StartQueryExecution",
          "athena:GetQueryExecution",
          "athena:GetQueryResults",
          "athena:StopQueryExecution",
        ]
        Resource = "arn:${data.aws_partition.current.partition}:athena:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:workgroup/${var.athena_work_group}"
      },
      {
        Sid = "ReadWriteGlueCatalog"
        Effect = "Allow"
        Action = [
          "glue:GetDatabase",
          "glue:GetDatabases",
          "glue:GetTable",
          "glue:GetTables",
          "glue:CreateTable",
          "glue:UpdateTable",
          "glue:DeleteTable",
          "glue:GetPartition",
          "glue:GetPartitions",
          "glue:BatchCreatePartition",
        ]
        Resource = [
          "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:catalog",
          "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:database/*",
          "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/*",
        ]
      },
      {
        Sid = "ReadWriteData"
        Effect = "Allow"
        Action = [
          "s3:GetBucketLocation",
          "s3:GetObject",
          "s3:ListBucket",
          "s3:PutObject",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
        ]
        Resource = [
          "arn:${data.aws_partition.current.partition}:s3:::${var.data_bucket}",
          "arn:${data.aws_partition.current.partition}:s3:::${var.data_bucket}/*",
        ]
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "state_machine" {
  name = "/aws/vendedlogs/states/crm-gold-by-country-${var.environment}"
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

resource "aws_iam_role" "events" {
  name = "crm-gold-by-country-${var.environment}-events"
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
  name = "crm-gold-by-country-${var.environment}-schedule1"
  schedule_expression = "cron(0 3 * * ? *)"
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
