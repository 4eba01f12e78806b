// Package benchreport holds the parts of `make bench` that run real
// processes against moto_server rather than Go benchmarks: the cold start
// of every function binary beside a minimal aws-lambda-go binary, and the
// DynamoDB, KMS and EventBridge calls each operation makes, counted at the
// wire. Its tests build only with -tags bench, so `make test` never runs
// them (they time process starts, which is a report, not a test):
//
//	go test -c -tags bench -o benchreport.test ./shared/testkit/benchreport
//	./benchreport.test -test.run 'TestColdStart|TestCallsPerOperation'
//
// Each prints a table on standard output. TestColdStart reports each
// function's own time to its first response in milliseconds over the
// minimal binary's, with no bound: the minimal binary alone moves by
// several milliseconds from run to run on a shared machine, so a ratio to
// it would say more about the machine than about the function.
package benchreport
