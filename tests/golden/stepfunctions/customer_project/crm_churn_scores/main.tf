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

variable "databricks_host" {
  type        = string
  description = "Databricks workspace URL (https://...)"
}

variable "databricks_token" {
  type        = string
  description = "Databricks access token"
  sensitive   = true
}

variable "write_scores_databricks_job_id" {
  type        = string
  description = "Databricks job id that runs `write_scores`"
}

variable "score_databricks_job_id" {
  type        = string
  description = "Databricks job id that runs `score`"
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  name = "crm-churn-scores-${var.environment}"
  definition = replace(replace(replace(replace(
    file("${path.module}/state_machine.json"),
    "$${DatabricksConnection.Arn}", aws_cloudwatch_event_connection.databricks.arn),
    "$${DatabricksHost}", var.databricks_host),
    "$${ScoreDatabricksJobId}", var.score_databricks_job_id),
    "$${WriteScoresDatabricksJobId}", var.write_scores_databricks_job_id)
  tags = {
    "sparklec:pipeline" = "crm_churn_scores"
  }
}

resource "aws_iam_role" "state_machine" {
  name = "crm-churn-scores-${var.environment}-sfn"
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
        Sid = "CallDatabricks"
        Effect = "Allow"
        Action = [
          "states:InvokeHTTPEndpoint",
        ]
        Resource = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:crm-churn-scores-${var.environment}"
      },
      {
        Sid = "UseDatabricksConnection"
        Effect = "Allow"
        Action = [
          "events:RetrieveConnectionCredentials",
        ]
        Resource = aws_cloudwatch_event_connection.databricks.arn
      },
      {
        Sid = "ReadDatabricksToken"
        Effect = "Allow"
        Action = [
          "secretsmanager:GetSecretValue",
          "secretsmanager:DescribeSecret",
        ]
        Resource = "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:events!connection/*"
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "state_machine" {
  name = "/aws/vendedlogs/states/crm-churn-scores-${var.environment}"
  retention_in_days = 30
}

resource "aws_cloudwatch_event_connection" "databricks" {
  name = "crm-churn-scores-${var.environment}-databricks"
  authorization_type = "API_KEY"
  auth_parameters {
    api_key {
      key   = "Authorization"
      value = "Bearer ${var.databricks_token}"
    }
  }
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
  name = "crm-churn-scores-${var.environment}-events"
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
  name = "crm-churn-scores-${var.environment}-schedule1"
  schedule_expression = "cron(0 5 * * ? *)"
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
