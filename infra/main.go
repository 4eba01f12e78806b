// Command infra is the CDK app of a Latchkey deployment. `make synth`, `make
// diff` and `make deploy` run it; it reads its settings from the CDK context
// (cdk.json and -c key=value) and deploys the binaries `make build` leaves
// in .build/.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/infra/latchkeystack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	settings, err := latchkeystack.SettingsFromContext(app.Node())
	if err != nil {
		return err
	}
	assets, err := assetDir(app)
	if err != nil {
		return err
	}
	if err := latchkeystack.CheckAssets(assets); err != nil {
		return err
	}
	latchkeystack.NewLatchkeyStack(app, "Latchkey", &latchkeystack.Props{
		StackProps: awscdk.StackProps{
			Description: jsii.String("Latchkey: API tokens, OAuth2 client credentials and an API Gateway authorizer"),
			Env:         &awscdk.Environment{Account: env("CDK_DEFAULT_ACCOUNT"), Region: env("CDK_DEFAULT_REGION")},
		},
		AssetDir: assets,
		Settings: settings,
	})
	app.Synth(nil)
	return nil
}

// assetDir is the assetDir context value, or the .build directory at the
// repository root (found from the working directory, so the app runs from
// the root and from infra/ alike).
func assetDir(app awscdk.App) (string, error) {
	key := latchkeystack.CtxAssetDir
	if v, ok := app.Node().TryGetContext(&key).(string); ok && v != "" {
		return filepath.Abs(v)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".build"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; set -c %s=<dir>", key)
		}
		dir = parent
	}
}

// env is an environment variable, or nil for an environment-agnostic stack
// when it is unset (the CDK CLI sets both from the AWS profile).
func env(name string) *string {
	if v := os.Getenv(name); v != "" {
		return &v
	}
	return nil
}
