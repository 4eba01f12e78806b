package loadgen

import (
	"os"
	"testing"
)

// TestProcessMemory reads this test process's own /proc entry.
func TestProcessMemory(t *testing.T) {
	peak, cur, err := ProcessMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cur <= 0 || peak < cur {
		t.Fatalf("peak %d, current %d: want 0 < current <= peak", peak, cur)
	}
	if _, _, err := ProcessMemory(-1); err == nil {
		t.Fatal("read the memory of process -1")
	}
}

// TestUnderLimit: reaching the limit fails, as `make load`'s bound says
// (256 MiB or more fails).
func TestUnderLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		peak  int64
		limit int
		want  bool
	}{
		{256*mib - 1, 256, true},
		{256 * mib, 256, false},
		{300 * mib, 256, false},
		{300 * mib, 0, true},
	} {
		if got := UnderLimit(tc.peak, tc.limit); got != tc.want {
			t.Errorf("UnderLimit(%d, %d) = %v, want %v", tc.peak, tc.limit, got, tc.want)
		}
	}
}
