package latchkeystack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// nagMetadataKey is the CloudFormation metadata key under which a resource
// lists the cdk-nag findings it answers, as
// {"rules_to_suppress": [{"id": rule, "reason": reason}, …]}: the format
// cdk-nag writes, which infra/nag/nag.mjs reads from the template.
const nagMetadataKey = "cdk_nag"

// suppress records on c's CloudFormation resource (c itself, or its default
// child) that the cdk-nag finding rule does not apply to it, and why. rule
// is the finding's full id as cdk-nag reports it, e.g. "AwsSolutions-APIG4"
// or "AwsSolutions-IAM5[Resource::*]"; reason is a sentence a reviewer can
// check (infra/nag refuses a short one). Call it beside the construct it
// concerns.
func suppress(c constructs.IConstruct, rule, reason string) {
	res := cfnResourceOf(c)
	var rules []any
	if meta, ok := res.GetMetadata(jsii.String(nagMetadataKey)).(map[string]any); ok {
		if prior, ok := meta["rules_to_suppress"].([]any); ok {
			rules = prior
		}
	}
	rules = append(rules, map[string]any{"id": rule, "reason": reason})
	res.AddMetadata(jsii.String(nagMetadataKey), map[string]any{"rules_to_suppress": rules})
}

// cfnResourceOf returns c when it is a CloudFormation resource, else its
// default child, which must be one.
func cfnResourceOf(c constructs.IConstruct) awscdk.CfnResource {
	if r, ok := c.(awscdk.CfnResource); ok {
		return r
	}
	if child := c.Node().DefaultChild(); child != nil {
		if r, ok := child.(awscdk.CfnResource); ok {
			return r
		}
	}
	panic(fmt.Sprintf("latchkeystack: %s is not a CloudFormation resource and has none as its default child", *c.Node().Path()))
}
