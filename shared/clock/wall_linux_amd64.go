package clock

import (
	"syscall"
	"time"
)

// wallNow reads the wall clock alone. time.Now also reads the monotonic
// clock, which System throws away (UTC strips it), and on this platform that
// second read is half the cost: the authorizer reads the clock on every
// decision. syscall.Gettimeofday goes through the vDSO on linux/amd64 (no
// system call); it has microsecond resolution, far finer than anything
// System's callers compare (expiry to the second, five-minute throttles,
// stored timestamps). Should the call ever fail, time.Now answers.
func wallNow() time.Time {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Now().UTC()
	}
	return time.Unix(tv.Sec, tv.Usec*int64(time.Microsecond)).UTC()
}
