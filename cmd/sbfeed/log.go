package main

// cmdLog is not built yet; see the issue that names "sbfeed log".
func cmdLog(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "log")
	return 1
}
