package main

// cmdAppend is not built yet; see the issue that names "sbfeed append".
func cmdAppend(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "append")
	return 1
}
