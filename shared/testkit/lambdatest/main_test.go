package lambdatest_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

// binDir holds the binaries the tests build, once each.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := awstest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// binary builds pkg for this machine once per test run.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	bin, err := lambdatest.BuildTo(binDir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	built[pkg] = bin
	return bin
}
