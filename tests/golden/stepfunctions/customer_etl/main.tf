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

variable "ecs_cluster" {
  type        = string
  description = "ECS cluster (name or ARN) that runs container tasks"
}

variable "subnets" {
  type        = list(string)
  description = "Comma-separated subnet ids for Fargate tasks"
}

variable "security_groups" {
  type        = list(string)
  description = "Comma-separated security group ids for Fargate tasks"
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

variable "write_clean_databricks_job_id" {
  type        = string
  description = "Databricks job id that runs `write_clean`"
}

variable "transform_data_databricks_job_id" {
  type        = string
  description = "Databricks job id that runs `transform_data`"
}

variable "stage_raw_databricks_job_id" {
  type        = string
  description = "Databricks job id that runs `stage_raw`"
}

variable "ingest_data_databricks_job_id" {
  type        = string
  description = "Databricks job id that runs `ingest_data`"
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  name = "customer-etl-${var.environment}"
  definition = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    file("${path.module}/state_machine.json"),
    "$${CustomerPublishedTopic}", "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:customer-published"),
    "$${DataCompanyComTopic}", aws_sns_topic.data_company_com_topic.arn),
    "$${DatabricksConnection.Arn}", aws_cloudwatch_event_connection.databricks.arn),
    "$${DatabricksHost}", var.databricks_host),
    "$${EcsCluster}", var.ecs_cluster),
    "$${IngestDataDatabricksJobId}", var.ingest_data_databricks_job_id),
    "$${PipelineFailureTopic}", "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:pipeline-failure"),
    "$${ProcessPartitionTaskDefinition}", aws_ecs_task_definition.process_partition_task_definition.arn),
    "$${SecurityGroups}", join(",", var.security_groups)),
    "$${StageRawDatabricksJobId}", var.stage_raw_databricks_job_id),
    "$${Subnets}", join(",", var.subnets)),
    "$${TransformDataDatabricksJobId}", var.transform_data_databricks_job_id),
    "$${WriteCleanDatabricksJobId}", var.write_clean_databricks_job_id)
  tags = {
    "sparklec:pipeline" = "customer_etl"
    domain = "customer"
    team = "data-eng"
  }
}

resource "aws_iam_role" "state_machine" {
  name = "customer-etl-${var.environment}-sfn"
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
        Sid = "PublishNotifications"
        Effect = "Allow"
        Action = [
          "sns:Publish",
        ]
        Resource = [
          "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:customer-published",
          aws_sns_topic.data_company_com_topic.arn,
          "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:pipeline-failure",
        ]
      },
      {
        Sid = "RunEcsTasks"
        Effect = "Allow"
        Action = [
          "ecs:RunTask",
        ]
        Resource = aws_ecs_task_definition.process_partition_task_definition.arn
      },
      {
        Sid = "WatchEcsTasks"
        Effect = "Allow"
        Action = [
          "ecs:StopTask",
          "ecs:DescribeTasks",
        ]
        Resource = "*"
      },
      {
        Sid = "PassEcsRoles"
        Effect = "Allow"
        Action = [
          "iam:PassRole",
        ]
        Resource = aws_iam_role.task_execution.arn
      },
      {
        Sid = "ManageSyncRules"
        Effect = "Allow"
        Action = [
          "events:PutTargets",
          "events:PutRule",
          "events:DescribeRule",
        ]
        Resource = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/StepFunctionsGetEventsForECSTaskRule"
      },
      {
        Sid = "CallDatabricks"
        Effect = "Allow"
        Action = [
          "states:InvokeHTTPEndpoint",
        ]
        Resource = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:customer-etl-${var.environment}"
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
  name = "/aws/vendedlogs/states/customer-etl-${var.environment}"
  retention_in_days = 30
}

resource "aws_sns_topic" "data_company_com_topic" {
  name = "customer-etl-${var.environment}-data-company-com-topic"
  tags = local.tags
}

resource "aws_sns_topic_subscription" "data_company_com_topic" {
  topic_arn = aws_sns_topic.data_company_com_topic.arn
  protocol = "email"
  endpoint = "data@company.com"
}

resource "aws_iam_role" "task_execution" {
  name = "customer-etl-${var.environment}-task-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "ecs-tasks.amazonaws.com"
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

resource "aws_iam_role_policy_attachment" "task_execution" {
  role = aws_iam_role.task_execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_cloudwatch_log_group" "containers" {
  name = "/ecs/customer-etl-${var.environment}"
  retention_in_days = 30
}

resource "aws_ecs_task_definition" "process_partition_task_definition" {
  family = "customer-etl-${var.environment}-process-partition-task-definition"
  requires_compatibilities = [
    "FARGATE",
  ]
  network_mode = "awsvpc"
  cpu = "1024"
  memory = "2048"
  execution_role_arn = aws_iam_role.task_execution.arn
  container_definitions = jsonencode([
    {
      name = "main"
      image = "apache/spark-py:v3.5.0"
      essential = true
      command = [
        "/opt/spark/bin/spark-submit",
        "--master",
        "local[2]",
        "/opt/spark/examples/src/main/python/pi.py",
        "$${partition}",
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group = aws_cloudwatch_log_group.containers.name
          awslogs-region = data.aws_region.current.name
          awslogs-stream-prefix = "ProcessPartitionTaskDefinition"
        }
      }
    },
  ])
  tags = local.tags
}

resource "aws_cloudwatch_event_connection" "databricks" {
  name = "customer-etl-${var.environment}-databricks"
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
  name = "customer-etl-${var.environment}-events"
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
  name = "customer-etl-${var.environment}-schedule1"
  schedule_expression = "cron(0 2 * * ? *)"
  tags = local.tags
}

resource "aws_cloudwatch_event_target" "schedule1" {
  rule = aws_cloudwatch_event_rule.schedule1.name
  arn = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.events.arn
}

resource "aws_cloudwatch_event_rule" "object_created1" {
  name = "customer-etl-${var.environment}-object-created1"
  event_pattern = jsonencode({
    source = [
      "aws.s3",
    ]
    detail-type = [
      "Object Created",
    ]
    detail = {
      bucket = {
        name = [
          "data-bucket",
        ]
      }
      object = {
        key = [
          {
            prefix = "data/customers/"
          },
        ]
      }
    }
  })
  tags = local.tags
}

resource "aws_cloudwatch_event_target" "object_created1" {
  rule = aws_cloudwatch_event_rule.object_created1.name
  arn = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.events.arn
  input_transformer {
    input_paths = {
      bucket = "$.detail.bucket.name"
      key = "$.detail.object.key"
    }
    input_template = "{\"bucket\": <bucket>, \"key\": <key>}"
  }
}

output "state_machine_arn" {
  value = aws_sfn_state_machine.this.arn
}
