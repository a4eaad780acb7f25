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

variable "append_raw_glue_job" {
  type        = string
  description = "Glue job that runs `append_raw`"
  default     = "crm_customers_ingestion-append_raw"
}

variable "add_provenance_glue_job" {
  type        = string
  description = "Glue job that runs `add_provenance`"
  default     = "crm_customers_ingestion-add_provenance"
}

variable "ingest_glue_job" {
  type        = string
  description = "Glue job that runs `ingest`"
  default     = "crm_customers_ingestion-ingest"
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  name = "crm-customers-ingestion-${var.environment}"
  definition = replace(replace(replace(replace(
    file("${path.module}/state_machine.json"),
    "$${AddProvenanceGlueJob}", var.add_provenance_glue_job),
    "$${AppendRawGlueJob}", var.append_raw_glue_job),
    "$${DataEngAlertsTopic}", aws_sns_topic.data_eng_alerts_topic.arn),
    "$${IngestGlueJob}", var.ingest_glue_job)
  tags = {
    "sparklec:pipeline" = "crm_customers_ingestion"
    domain = "customer"
    layer = "bronze"
    source = "crm"
  }
}

resource "aws_iam_role" "state_machine" {
  name = "crm-customers-ingestion-${var.environment}-sfn"
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
        Sid = "RunGlueJobs"
        Effect = "Allow"
        Action = [
          "glue:StartJobRun",
          "glue:GetJobRun",
          "glue:GetJobRuns",
          "glue:BatchStopJobRun",
        ]
        Resource = [
          "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:job/${var.append_raw_glue_job}",
          "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:job/${var.add_provenance_glue_job}",
          "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:job/${var.ingest_glue_job}",
        ]
      },
      {
        Sid = "PublishNotifications"
        Effect = "Allow"
        Action = [
          "sns:Publish",
        ]
        Resource = aws_sns_topic.data_eng_alerts_topic.arn
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "state_machine" {
  name = "/aws/vendedlogs/states/crm-customers-ingestion-${var.environment}"
  retention_in_days = 30
}

resource "aws_sns_topic" "data_eng_alerts_topic" {
  name = "crm-customers-ingestion-${var.environment}-data-eng-alerts-topic"
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
  name = "crm-customers-ingestion-${var.environment}-events"
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
  name = "crm-customers-ingestion-${var.environment}-schedule1"
  schedule_expression = "cron(0 */2 * * ? *)"
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
