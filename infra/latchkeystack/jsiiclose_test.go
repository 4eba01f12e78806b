//go:build !race

package latchkeystack

import "github.com/aws/jsii-runtime-go"

// closeJSII stops the jsii kernel (the Node process behind the CDK).
func closeJSII() { jsii.Close() }
