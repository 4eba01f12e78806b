// Package benchreport holds the parts of `make bench` that run real
// processes against moto_server rather than Go benchmarks: the cold start
// of every function binary beside a minimal aws-lambda-go binary, and the
// DynamoDB, KMS and EventBridge calls each operation makes, counted at the
// wire. Its tests build only with -tags bench, so `make test` never runs
// them (they time process starts, which is a report, not a test):
//
//	go test -c -tags bench -o benchreport.test ./shared/benchreport
//	./benchreport.test -test.run 'TestColdStart|TestCallsPerOperation'
//
// Each prints a table on standard output; TestColdStart fails when a
// function's median time to first response passes MaxColdStartRatio times
// the minimal binary's.
package benchreport

// MaxColdStartRatio is the cold-start target: a function's median time from
// exec to its first response, over the minimal binary's, measured in the
// same run.
const MaxColdStartRatio = 1.5
