# egress-guard with Terraform: a Node.js function (x86_64) and a Rust function on provided.al2023 (arm64), both guarded.
#
#   npx egress-guard layer --arch all -o egress-guard --policy policy.yaml
#   npx egress-guard env --policy policy.yaml --mode audit --format json -o egress-guard/env.json
#   npx egress-guard env --policy policy.yaml --mode audit --runtime provided.al2023 --format json -o egress-guard/env-provided.json
#   terraform apply
#
# `layer` writes the guard layers (the zips the npm package ships) and the policy layer; `env` writes the function
# environment as JSON (the same variables the CDK construct sets; provided.* runtimes get LD_PRELOAD instead of the
# exec wrapper). Only the Node function? Then the first two commands are all you need.
# test/deploy/terraform.test.ts parses this file with an HCL parser and checks every resource and attribute it uses.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "function_role_arn" {
  description = "Execution role of the functions (AWSLambdaBasicExecutionRole at least)"
  type        = string
}

locals {
  guard_dir          = "${path.module}/egress-guard"
  guard_env          = jsondecode(file("${path.module}/egress-guard/env.json"))
  guard_env_provided = jsondecode(file("${path.module}/egress-guard/env-provided.json"))
}

# One guard layer per architecture: a library built for the other one cannot load.
resource "aws_lambda_layer_version" "egress_guard_x86_64" {
  layer_name               = "egress-guard-x86_64"
  filename                 = "${local.guard_dir}/egress-guard-layer-x86_64.zip"
  source_code_hash         = filebase64sha256("${local.guard_dir}/egress-guard-layer-x86_64.zip")
  compatible_architectures = ["x86_64"]
  license_info             = "MIT-0"
}

resource "aws_lambda_layer_version" "egress_guard_arm64" {
  layer_name               = "egress-guard-arm64"
  filename                 = "${local.guard_dir}/egress-guard-layer-arm64.zip"
  source_code_hash         = filebase64sha256("${local.guard_dir}/egress-guard-layer-arm64.zip")
  compatible_architectures = ["arm64"]
  license_info             = "MIT-0"
}

# The compiled policy: one file, /opt/egress-guard/policies/<hash>.egp. A changed policy is a new layer version.
resource "aws_lambda_layer_version" "egress_guard_policy" {
  layer_name       = "egress-guard-policy"
  filename         = "${local.guard_dir}/egress-guard-policy.zip"
  source_code_hash = filebase64sha256("${local.guard_dir}/egress-guard-policy.zip")
}

resource "aws_lambda_function" "node" {
  function_name    = "guarded-node"
  role             = var.function_role_arn
  runtime          = "nodejs22.x"
  architectures    = ["x86_64"]
  handler          = "index.handler"
  filename         = "${path.module}/build/node.zip"
  source_code_hash = filebase64sha256("${path.module}/build/node.zip")
  timeout          = 30
  memory_size      = 512
  layers = [
    aws_lambda_layer_version.egress_guard_x86_64.arn,
    aws_lambda_layer_version.egress_guard_policy.arn,
  ]
  environment {
    # Your own variables go in the second map.
    variables = merge(local.guard_env, {})
  }
}

# A Rust function (lambda_runtime + reqwest on the glibc target), built with `cargo lambda build --release --arm64`.
# Covered fully: Rust, C and C++ through glibc. Go: lookups only with cgo; a static Go binary is not seen
# (docs/DEPLOY.md).
resource "aws_lambda_function" "rust" {
  function_name    = "guarded-rust"
  role             = var.function_role_arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = "${path.module}/build/rust.zip"
  source_code_hash = filebase64sha256("${path.module}/build/rust.zip")
  timeout          = 30
  layers = [
    aws_lambda_layer_version.egress_guard_arm64.arn,
    aws_lambda_layer_version.egress_guard_policy.arn,
  ]
  environment {
    variables = merge(local.guard_env_provided, {})
  }
}
