package transport

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/sbfeed/sbfeed/identity"
)

// ALPN is the TLS application protocol of this version of the transport.
// A peer that offers no protocol this build speaks is refused during the
// TLS handshake (alert no_application_protocol).
const ALPN = "sbfeed/1"

// ExporterLabel is the TLS exporter label of the channel binding
// (RFC 8446 section 7.5). See [Conn.Binding].
const ExporterLabel = "EXPORTER-sbfeed-hello-v1"

// BindingSize is the length of [Conn.Binding].
const BindingSize = 32

// serverName is sent as SNI; identities, not names, are authenticated.
const serverName = "sbfeed"

// Certificate returns the self-signed X.509 certificate of key: subject and
// issuer "sbfeed <ID>", ed25519 public key = the identity. The certificate is
// deterministic (fixed serial from the ID, fixed validity), so it carries
// nothing but the key; validity dates are not checked by peers.
func Certificate(key *identity.Key) (tls.Certificate, error) {
	id := key.ID()
	serial := sha256.Sum256(append([]byte("sbfeed/cert/serial\x00"), id[:]...))
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial[:16]),
		Subject:               pkix.Name{CommonName: "sbfeed " + id.String()},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{serverName},
	}
	priv := key.PrivateKey()
	// ed25519 signing reads no randomness; x509 needs a reader only for
	// other key types.
	der, err := x509.CreateCertificate(zeroReader{}, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("transport: make certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// PeerID extracts the identity from a peer's certificate chain: exactly one
// self-signed X.509 certificate whose key is a valid ed25519 point. The TLS
// 1.3 CertificateVerify message has proved the peer holds the private key.
func PeerID(rawCerts [][]byte) (identity.ID, error) {
	var id identity.ID
	bad := func(format string, args ...any) error {
		return &CertError{Peer: id, Err: ErrBadCertificate, Detail: fmt.Sprintf(format, args...)}
	}
	if len(rawCerts) != 1 {
		return id, bad("%d certificates, want exactly 1 (self-signed)", len(rawCerts))
	}
	cert, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return id, bad("malformed: %v", err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || cert.PublicKeyAlgorithm != x509.Ed25519 {
		return id, bad("key is %v, want Ed25519", cert.PublicKeyAlgorithm)
	}
	copy(id[:], pub)
	if err := id.CheckKey(); err != nil {
		return id, bad("%v", err)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return id, bad("not self-signed by its key: %v", err)
	}
	return id, nil
}

// tlsConfig builds the TLS configuration of an endpoint. verify, if not
// nil, is called with the peer's identity once its certificate has been
// checked; a non-nil error fails the handshake.
func tlsConfig(cert tls.Certificate, server bool, verify func(identity.ID) error) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{ALPN},
		ServerName:   serverName,
		// Chains are not verified against roots: the identity is the key,
		// checked by VerifyPeerCertificate.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			id, err := PeerID(rawCerts)
			if err != nil {
				return err
			}
			if verify == nil {
				return nil
			}
			return verify(id)
		},
		SessionTicketsDisabled: true,
	}
	if server {
		c.ClientAuth = tls.RequireAnyClientCert
	}
	return c
}
