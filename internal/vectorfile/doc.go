// Package vectorfile reads sbfeed's test-vector files (docs/vectors): one
// scenario per file, in the style of C2SP CCTV's age vectors.
//
// A vector file is a header of "key: value" lines, one blank line, and a
// body:
//
//	expect: broken chain
//	comment: entry 3 names entry 1 as previous
//	network: sbfnet1…
//
//	<body>
//
// Keys are lower case and unique; "expect" is required and names the
// outcome (an error class or "success"). What the body holds depends on the
// directory; [File.Lines] splits a body of base64 lines.
package vectorfile
