package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/sbfeed/sbfeed/identity"
)

func cmdKeygen(e *env, args []string) int {
	fs := e.newFlags("keygen", "[--out FILE] [--passphrase] [--force]", `
Create a new ed25519 identity, write its key file (mode 0600) and print the
public identity (sbf1…) on stdout. The default file is $SBFEED_HOME/identity.
An existing file is never overwritten unless --force is given.

With --passphrase the private key is sealed (scrypt + XChaCha20-Poly1305); the
passphrase is read from the terminal, or from the SBFEED_PASSPHRASE
environment variable when set (for scripts).`)
	out := fs.String("out", "", "key file to write (default $SBFEED_HOME/identity)")
	pass := fs.Bool("passphrase", false, "seal the key file with a passphrase")
	force := fs.Bool("force", false, "overwrite an existing key file")
	if st, done := parseFlags(fs, args); done {
		return st
	}
	if fs.NArg() != 0 {
		e.errorf("keygen takes no arguments, got %q", fs.Args())
		return 2
	}
	path := *out
	if path == "" {
		path = e.defaultKeyFile()
	}
	if !*force {
		if _, err := os.Stat(path); err == nil {
			e.errorf("%s already exists; not overwriting it", path)
			e.hint("use --force to replace it (the old identity is lost), or --out to choose another file")
			return 1
		}
	}
	var secret []byte
	if *pass {
		p, err := e.readNewPassphrase()
		if err != nil {
			e.errorf("%v", err)
			return 1
		}
		secret = p
	}
	k, err := identity.Generate(rand.Reader)
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	if err := identity.WriteKeyFile(path, k, secret, identity.SealOptions{Rand: rand.Reader}, *force); err != nil {
		if errors.Is(err, identity.ErrKeyFileExists) {
			// Someone created the file since the check above.
			e.errorf("%s already exists; not overwriting it", path)
			return 1
		}
		e.errorf("%v", err)
		return 1
	}
	// The file was created 0600, but some file systems (network mounts,
	// FAT) ignore modes: say so rather than leave a readable secret.
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		e.warnf("%s has mode %04o: others can read your private key", path, st.Mode().Perm())
		e.hint("keep key files on a file system that honours permissions, then chmod 600 %s", path)
	}
	fmt.Fprintf(e.stderr, "sbfeed: wrote %s\n", path)
	fmt.Fprintln(e.stdout, k.ID())
	return 0
}

// readNewPassphrase reads a passphrase twice from the terminal, or once from
// SBFEED_PASSPHRASE.
func (e *env) readNewPassphrase() ([]byte, error) {
	if p := e.getenv("SBFEED_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("--passphrase needs a terminal, or SBFEED_PASSPHRASE set")
	}
	fmt.Fprint(e.stderr, "passphrase: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(e.stderr, "again: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p1, p2) {
		return nil, errors.New("the passphrases differ")
	}
	if len(p1) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return p1, nil
}

// passphraseFunc returns the passphrase reader used to open sealed key files.
func (e *env) passphraseFunc() func() ([]byte, error) {
	return func() ([]byte, error) {
		if p := e.getenv("SBFEED_PASSPHRASE"); p != "" {
			return []byte(p), nil
		}
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, fmt.Errorf("the key file is sealed: set SBFEED_PASSPHRASE or run in a terminal")
		}
		fmt.Fprint(e.stderr, "passphrase: ")
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(e.stderr)
		return p, err
	}
}

// loadKey reads the key file at path (default $SBFEED_HOME/identity).
func (e *env) loadKey(path string) (*identity.Key, error) {
	if path == "" {
		path = e.defaultKeyFile()
	}
	k, err := identity.ReadKeyFile(path, e.passphraseFunc())
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no key file at %s: run \"sbfeed keygen\" first, or pass --key", path)
	}
	return k, err
}
