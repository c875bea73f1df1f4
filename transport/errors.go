package transport

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/quic-go/quic-go"

	"github.com/sbfeed/sbfeed/identity"
)

// Code is an application error code sent in a QUIC CONNECTION_CLOSE frame
// (docs/spec/transport-v1.md, "Error codes"). Codes 0 to 0xff are the
// replication protocol's Goodbye codes (replicate.Code, same values), so a
// session's reason for ending reaches the peer even when its Goodbye could
// not be sent; codes from 0x100 are the transport's own. Each code maps to
// one sentinel error, so both ends of a closed connection branch with
// errors.Is.
type Code uint64

// Application error codes. Values are part of the wire protocol.
const (
	CodeShutdown     Code = 0x0 // clean shutdown; everything sent before it was delivered
	CodeProtocol     Code = 0x1 // malformed or out-of-order message or stream
	CodeWrongNetwork Code = 0x2 // the replication handshake found another network
	CodeVersion      Code = 0x3 // no common replication protocol version
	CodeBadProof     Code = 0x4 // the network proof does not verify
	CodeLimit        Code = 0x5 // a replication limit was broken
	CodeBadEntry     Code = 0x6 // an invalid (forged) entry or fork proof
	CodeInternal     Code = 0x7 // the closing side failed (disk error, …); retry later

	CodeFrameTooLarge Code = 0x100 // a frame over the receiver's MaxFrameSize
	CodeTooManyConns  Code = 0x101 // over the connection limit, per peer or in total
	CodeNotAllowed    Code = 0x102 // identity not on the receiver's allowlist
)

// Sentinel errors. Errors returned by this package wrap one of them (or a
// context or net error) so callers branch with errors.Is.
var (
	ErrClosed         = errors.New("transport: closed")
	ErrShutdown       = errors.New("transport: connection shut down")
	ErrProtocol       = errors.New("transport: protocol violation")
	ErrWrongNetwork   = errors.New("transport: wrong network")
	ErrVersion        = errors.New("transport: unsupported protocol version")
	ErrBadProof       = errors.New("transport: bad network proof")
	ErrLimit          = errors.New("transport: limit exceeded")
	ErrBadEntry       = errors.New("transport: invalid entry")
	ErrInternal       = errors.New("transport: peer failed")
	ErrFrameTooLarge  = errors.New("transport: frame too large")
	ErrTooManyConns   = errors.New("transport: too many connections")
	ErrNotAllowed     = errors.New("transport: identity not allowed")
	ErrTimeout        = errors.New("transport: timeout")
	ErrWrongPeer      = errors.New("transport: wrong peer identity")
	ErrBadCertificate = errors.New("transport: bad certificate")
	ErrUnknownCode    = errors.New("transport: unknown application error code")
)

var codes = []struct {
	code Code
	err  error
	name string
}{
	{CodeShutdown, ErrShutdown, "shutdown"},
	{CodeProtocol, ErrProtocol, "protocol"},
	{CodeWrongNetwork, ErrWrongNetwork, "wrong-network"},
	{CodeVersion, ErrVersion, "version"},
	{CodeBadProof, ErrBadProof, "bad-proof"},
	{CodeLimit, ErrLimit, "limit"},
	{CodeBadEntry, ErrBadEntry, "bad-entry"},
	{CodeInternal, ErrInternal, "internal"},
	{CodeFrameTooLarge, ErrFrameTooLarge, "frame-too-large"},
	{CodeTooManyConns, ErrTooManyConns, "too-many-conns"},
	{CodeNotAllowed, ErrNotAllowed, "not-allowed"},
}

// Err returns the sentinel error of c (ErrUnknownCode for a code this build
// does not know).
func (c Code) Err() error {
	for _, x := range codes {
		if x.code == c {
			return x.err
		}
	}
	return ErrUnknownCode
}

// CodeOf returns the code to close a connection with for err: the code
// whose sentinel err wraps, or CodeInternal. Callers with their own error
// codes (the replication Goodbye codes) use [Conn.CloseWithCode].
func CodeOf(err error) Code {
	if err == nil {
		return CodeShutdown
	}
	for _, x := range codes {
		if errors.Is(err, x.err) {
			return x.code
		}
	}
	return CodeInternal
}

func (c Code) String() string {
	for _, x := range codes {
		if x.code == c {
			return x.name
		}
	}
	return fmt.Sprintf("code(%#x)", uint64(c))
}

// CloseError is why a connection was closed with an application code: by
// the peer (Remote) or by us. Unwrap returns the code's sentinel.
type CloseError struct {
	Code   Code
	Remote bool   // the peer closed the connection
	Reason string // the peer's (or our) human-readable reason
}

func (e *CloseError) Error() string {
	who := "closed by us"
	if e.Remote {
		who = "closed by peer"
	}
	s := fmt.Sprintf("transport: connection %s: %s", who, e.Code)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func (e *CloseError) Unwrap() error { return e.Code.Err() }

// WrongPeerError reports that a dial to a named identity was answered by
// someone else. It wraps ErrWrongPeer.
type WrongPeerError struct {
	Addr      string
	Want, Got identity.ID
}

func (e *WrongPeerError) Error() string {
	return fmt.Sprintf("transport: dialled %s at %s, but %s answered", e.Want, e.Addr, e.Got)
}

func (e *WrongPeerError) Unwrap() error { return ErrWrongPeer }

// TLS alert codes quic-go reports as CRYPTO_ERROR 0x100+alert.
const (
	alertBadCertificate    = 42
	alertNoAppProtocol     = 120
	cryptoErrBase          = 0x100
	quicConnectionRefused  = quic.ConnectionRefused
	quicCryptoNoAppProto   = quic.TransportErrorCode(cryptoErrBase + alertNoAppProtocol)
	quicCryptoBadCert      = quic.TransportErrorCode(cryptoErrBase + alertBadCertificate)
	quicCryptoCertRequired = quic.TransportErrorCode(cryptoErrBase + 116)
)

// mapErr turns a quic-go error into this package's errors, so that no
// quic-go type leaves the package. Errors that already are ours (wrapped in
// a quic-go error, such as a WrongPeerError from certificate verification)
// come out unwrapped from the quic-go layer.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var wp *WrongPeerError
	if errors.As(err, &wp) {
		return wp
	}
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce
	}
	var certErr *CertError
	if errors.As(err, &certErr) {
		return certErr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ae *quic.ApplicationError
	if errors.As(err, &ae) {
		return &CloseError{Code: Code(ae.ErrorCode), Remote: ae.Remote, Reason: ae.ErrorMessage}
	}
	var ite *quic.IdleTimeoutError
	if errors.As(err, &ite) {
		return fmt.Errorf("%w: peer silent for the idle timeout", ErrTimeout)
	}
	var hte *quic.HandshakeTimeoutError
	if errors.As(err, &hte) {
		return fmt.Errorf("%w: QUIC handshake did not complete", ErrTimeout)
	}
	var te *quic.TransportError
	if errors.As(err, &te) {
		switch {
		case te.ErrorCode == quicCryptoNoAppProto:
			return fmt.Errorf("%w: no common ALPN protocol with the peer (this build speaks %q; a different sbfeed version?)", ErrVersion, ALPN)
		case te.Remote && (te.ErrorCode == quicCryptoBadCert || te.ErrorCode == quicCryptoCertRequired):
			return fmt.Errorf("%w: the peer refused our certificate", ErrBadCertificate)
		case te.Remote && te.ErrorCode == quicConnectionRefused:
			return fmt.Errorf("%w: peer refused the connection (%v)", ErrTooManyConns, err)
		}
		return fmt.Errorf("transport: QUIC: %v", err)
	}
	var se *quic.StreamError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: stream %d reset by peer with code %#x", ErrProtocol, se.StreamID, uint64(se.ErrorCode))
	}
	if errors.Is(err, quic.ErrTransportClosed) || errors.Is(err, quic.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// CertError reports a peer certificate this end refused: not a
// self-signed ed25519 certificate, a weak key, or an identity off the
// allowlist. It wraps ErrBadCertificate or ErrNotAllowed.
type CertError struct {
	Peer   identity.ID // zero when the certificate had no usable key
	Err    error       // ErrBadCertificate or ErrNotAllowed
	Detail string
}

func (e *CertError) Error() string {
	s := "transport: peer certificate"
	if e.Peer != (identity.ID{}) {
		s += " of " + e.Peer.String()
	}
	return s + ": " + e.Detail
}

func (e *CertError) Unwrap() error { return e.Err }
