package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcessMemory reads a Linux process's peak and current resident set
// size in bytes from /proc.
func ProcessMemory(pid int) (peak, current int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read memory of process %d: %s: %w", pid, name, err)
		}
		if name == "VmHWM" {
			peak = kb << 10
		} else {
			current = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("read memory of process %d: no VmHWM line", pid)
	}
	return peak, current, nil
}

// UnderLimit reports whether a peak RSS of peak bytes stays under limitMiB
// mebibytes; a limit that is not positive is no limit.
func UnderLimit(peak int64, limitMiB int) bool {
	return limitMiB <= 0 || peak < int64(limitMiB)<<20
}
