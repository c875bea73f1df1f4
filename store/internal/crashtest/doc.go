// Command crashtest is the helper process of store's crash tests: it opens
// a store and appends to one feed forever, in batches of random size,
// printing the seq of the last entry of each batch once Append has
// returned (so every printed seq is acknowledged). The test kills it with
// SIGKILL at random points and checks that the store kept every printed
// seq.
//
//	crashtest -dir DIR -seed N
//
// It exits with status 3 and the error on stderr if the store cannot be
// opened (for example "in use by process N").
package main
