//go:build !linux

package awstest

import (
	"os"
	"os/exec"
)

// setProcessGroup is a no-op off Linux: moto_server runs as one process.
func setProcessGroup(*exec.Cmd) {}

func terminate(cmd *exec.Cmd) {
	if cmd.Process != nil {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			cmd.Process.Kill()
		}
	}
}

func kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
