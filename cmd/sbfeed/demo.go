package main

// cmdDemo is not built yet; see the issue that names "sbfeed demo".
func cmdDemo(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "demo")
	return 1
}
