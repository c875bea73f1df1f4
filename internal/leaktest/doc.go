// Package leaktest checks, at the end of a test, that no goroutine running
// a package's code outlived the component that started it (a transport
// endpoint, a replication peer): Close must wait for everything it began.
package leaktest
