package main

// cmdImport is not built yet; see the issue that names "sbfeed import".
func cmdImport(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "import")
	return 1
}
