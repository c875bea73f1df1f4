package main

// cmdVerify is not built yet; see the issue that names "sbfeed verify".
func cmdVerify(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "verify")
	return 1
}
