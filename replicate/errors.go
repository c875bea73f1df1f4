package replicate

import (
	"errors"
	"fmt"

	"github.com/sbfeed/sbfeed/identity"
)

// Sentinel errors; a [PeerError] or [DecodeError] wraps one of them.
var (
	ErrMalformed    = errors.New("replicate: malformed message")
	ErrNonCanonical = errors.New("replicate: non-canonical encoding")
	ErrVersion      = errors.New("replicate: no common protocol version")
	ErrWrongNetwork = errors.New("replicate: peer of another network")
	ErrBadProof     = errors.New("replicate: bad network proof")
	ErrWrongPeer    = errors.New("replicate: unexpected peer identity")
	ErrProtocol     = errors.New("replicate: protocol violation")
	ErrLimit        = errors.New("replicate: limit exceeded")
	ErrInvalid      = errors.New("replicate: invalid entry")
	ErrStorage      = errors.New("replicate: storage failed")
	ErrClosed       = errors.New("replicate: session closed")
	ErrRemoteClosed = errors.New("replicate: remote said goodbye")
)

// PeerError is why a session dropped its remote: which peer, in which message
// (its String form), what was wrong.
type PeerError struct {
	Peer    identity.ID
	Message string // e.g. "Entries{c3d4e5f6:4..9}"; empty when no message caused it
	Err     error  // a sentinel above, possibly wrapping a feed error
	Detail  string
}

func (e *PeerError) Error() string {
	s := "replicate: peer " + e.Peer.Short()
	if e.Message != "" {
		s += ": " + e.Message
	}
	s += ": " + trimPrefix(e.Err.Error())
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *PeerError) Unwrap() error { return e.Err }

// Code returns the Goodbye code matching the error.
func (e *PeerError) Code() Code { return codeOf(e.Err) }

func codeOf(err error) Code {
	switch {
	case errors.Is(err, ErrWrongNetwork):
		return CodeWrongNetwork
	case errors.Is(err, ErrVersion):
		return CodeVersion
	case errors.Is(err, ErrBadProof), errors.Is(err, ErrWrongPeer):
		return CodeBadProof
	case errors.Is(err, ErrLimit):
		return CodeLimit
	case errors.Is(err, ErrInvalid):
		return CodeInvalid
	case errors.Is(err, ErrStorage):
		return CodeInternal
	case err == nil:
		return CodeNormal
	}
	return CodeProtocol
}

func trimPrefix(s string) string {
	const p = "replicate: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// DecodeError is a message that could not be decoded: where and why.
type DecodeError struct {
	Type   Type // 0 when the type byte itself is missing or unknown
	Offset int
	Field  string
	Err    error // ErrMalformed, ErrNonCanonical, ErrVersion or ErrLimit
	Detail string
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("replicate: decode %s: %s at byte %d: %s", e.Type, e.Field, e.Offset, trimPrefix(e.Err.Error()))
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }

// CodeOf returns the Goodbye code for an error a session returned.
func CodeOf(err error) Code { return codeOf(err) }
