package main

// cmdExport is not built yet; see the issue that names "sbfeed export".
func cmdExport(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "export")
	return 1
}
