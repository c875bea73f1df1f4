package main

// cmdState is not built yet; see the issue that names "sbfeed state".
func cmdState(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "state")
	return 1
}
