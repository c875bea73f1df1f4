package main

// cmdPeer is not built yet; see the issue that names "sbfeed peer".
func cmdPeer(e *env, args []string) int {
	e.errorf("%q is not available in this build yet", "peer")
	return 1
}
