"""Transforms a SAM template (YAML on stdin) into the CloudFormation
template SAM deploys (JSON on stdout), offline, with the translator cfn-lint
uses. CodeUri values become S3 URIs, as `sam package` makes them."""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names managed policies by ARN, so none is looked up."""

    def load(self):
        return {}


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse(sys.stdin.read())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    parameters = {"AWS::Region": os.environ["AWS_DEFAULT_REGION"], "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    json.dump(transform(template, parameters, NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main()
