package identity

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"
)

// Key-file errors callers branch on.
var (
	ErrKeyFile       = errors.New("identity: malformed key file")
	ErrKeyFileMode   = errors.New("identity: key file permissions are too open")
	ErrKeyFileExists = errors.New("identity: key file already exists")
	ErrPassphrase    = errors.New("identity: wrong passphrase or damaged sealed key")
	ErrNeedPass      = errors.New("identity: key file is sealed and no passphrase was given")
)

// keyFileMagic is the first line of every key file; its last word is the
// format version.
const keyFileMagic = "sbfeed key v1"

// Scrypt work factors for sealed key files, as log2(N) with r=8, p=1.
const (
	DefaultScryptLogN = 15 // about 32 MiB and 50–100 ms
	MaxScryptLogN     = 22 // refuse files that would take minutes to open
	MinScryptLogN     = 10
)

// SealOptions controls [MarshalKeyFile] when a passphrase is given. The zero
// value uses DefaultScryptLogN.
type SealOptions struct {
	// LogN is log2 of scrypt's N. Zero means DefaultScryptLogN.
	LogN int
	// Rand supplies the salt and nonce. Nil means no sealing is possible
	// (MarshalKeyFile returns an error); pass crypto/rand.Reader.
	Rand io.Reader
}

var b64 = base64.RawStdEncoding.Strict()

// MarshalKeyFile returns the key file for k (docs/spec/keyfile-v1.md). With
// an empty passphrase the seed is stored in the clear; otherwise it is sealed
// with XChaCha20-Poly1305 under a key derived by scrypt from the passphrase,
// with the first two lines as associated data.
func MarshalKeyFile(k *Key, passphrase []byte, opt SealOptions) ([]byte, error) {
	head := keyFileMagic + "\nid " + k.ID().String() + "\n"
	if len(passphrase) == 0 {
		return []byte(head + "seed " + b64.EncodeToString(k.priv.Seed()) + "\n"), nil
	}
	logN := opt.LogN
	if logN == 0 {
		logN = DefaultScryptLogN
	}
	if logN < MinScryptLogN || logN > MaxScryptLogN {
		return nil, fmt.Errorf("identity: scrypt logN %d outside [%d, %d]", logN, MinScryptLogN, MaxScryptLogN)
	}
	if opt.Rand == nil {
		return nil, errors.New("identity: sealing a key file needs a random source")
	}
	var salt [16]byte
	var nonce [chacha20poly1305.NonceSizeX]byte
	if _, err := io.ReadFull(opt.Rand, salt[:]); err != nil {
		return nil, fmt.Errorf("identity: seal key file: %w", err)
	}
	if _, err := io.ReadFull(opt.Rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("identity: seal key file: %w", err)
	}
	aead, err := sealer(passphrase, salt[:], logN)
	if err != nil {
		return nil, err
	}
	ct := aead.Seal(nil, nonce[:], k.priv.Seed(), []byte(head))
	return []byte(head + "sealed scrypt " + strconv.Itoa(logN) + " " + b64.EncodeToString(salt[:]) + " " +
		b64.EncodeToString(nonce[:]) + " " + b64.EncodeToString(ct) + "\n"), nil
}

func sealer(passphrase, salt []byte, logN int) (interface {
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	dk, err := scrypt.Key(passphrase, salt, 1<<logN, 8, 1, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("identity: scrypt: %w", err)
	}
	return chacha20poly1305.NewX(dk)
}

// KeyFileInfo describes a parsed key file without opening its seal.
type KeyFileInfo struct {
	ID     ID
	Sealed bool
}

// ParseKeyFile decodes a key file. passphrase is called only when the file
// is sealed; it may be nil, in which case a sealed file returns ErrNeedPass.
// Any deviation from the canonical form is an error naming the line.
func ParseKeyFile(b []byte, passphrase func() ([]byte, error)) (*Key, error) {
	k, _, err := parseKeyFile(b, passphrase)
	return k, err
}

// InspectKeyFile returns what a key file holds without needing a passphrase.
func InspectKeyFile(b []byte) (KeyFileInfo, error) {
	_, info, err := parseKeyFile(b, nil)
	if errors.Is(err, ErrNeedPass) {
		err = nil
	}
	return info, err
}

func parseKeyFile(b []byte, passphrase func() ([]byte, error)) (*Key, KeyFileInfo, error) {
	var info KeyFileInfo
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrKeyFile, line, fmt.Sprintf(format, args...))
	}
	if len(b) > 4096 {
		return nil, info, fmt.Errorf("%w: %d bytes, more than any key file", ErrKeyFile, len(b))
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		return nil, info, fmt.Errorf("%w: missing final newline (truncated?)", ErrKeyFile)
	}
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return nil, info, bad(1+bytes.Count(b[:i], []byte("\n")), "carriage return: key files end lines with LF only (converted to CRLF?)")
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	if lines[0] != keyFileMagic {
		if strings.HasPrefix(lines[0], "sbfeed key ") {
			return nil, info, bad(1, "unsupported version %q (this build reads %q)", lines[0], keyFileMagic)
		}
		return nil, info, bad(1, "not an sbfeed key file")
	}
	if len(lines) != 3 {
		return nil, info, fmt.Errorf("%w: %d lines, want 3", ErrKeyFile, len(lines))
	}
	idText, ok := strings.CutPrefix(lines[1], "id ")
	if !ok {
		return nil, info, bad(2, "want \"id sbf1…\"")
	}
	id, err := ParseID(idText)
	if err != nil {
		return nil, info, bad(2, "%v", err)
	}
	info.ID = id
	head := []byte(lines[0] + "\n" + lines[1] + "\n")
	var seed []byte
	switch f := strings.Split(lines[2], " "); {
	case len(f) == 2 && f[0] == "seed":
		seed, err = b64.DecodeString(f[1])
		if err != nil || len(seed) != SeedSize {
			return nil, info, bad(3, "seed is not %d bytes of base64", SeedSize)
		}
	case len(f) == 6 && f[0] == "sealed" && f[1] == "scrypt":
		info.Sealed = true
		logN, err := strconv.Atoi(f[2])
		if err != nil || strconv.Itoa(logN) != f[2] || logN < MinScryptLogN || logN > MaxScryptLogN {
			return nil, info, bad(3, "scrypt logN %q outside [%d, %d]", f[2], MinScryptLogN, MaxScryptLogN)
		}
		salt, err1 := b64.DecodeString(f[3])
		nonce, err2 := b64.DecodeString(f[4])
		ct, err3 := b64.DecodeString(f[5])
		if err1 != nil || err2 != nil || err3 != nil || len(salt) != 16 ||
			len(nonce) != chacha20poly1305.NonceSizeX || len(ct) != SeedSize+chacha20poly1305.Overhead {
			return nil, info, bad(3, "sealed fields have the wrong encoding or length")
		}
		if passphrase == nil {
			return nil, info, ErrNeedPass
		}
		pass, err := passphrase()
		if err != nil {
			return nil, info, fmt.Errorf("identity: read passphrase: %w", err)
		}
		aead, err := sealer(pass, salt, logN)
		if err != nil {
			return nil, info, err
		}
		seed, err = aead.Open(nil, nonce, ct, head)
		if err != nil {
			return nil, info, ErrPassphrase
		}
	default:
		return nil, info, bad(3, "want \"seed …\" or \"sealed scrypt …\"")
	}
	k, err := FromSeed(seed)
	if err != nil {
		return nil, info, err
	}
	if k.ID() != id {
		return nil, info, bad(2, "identity %s does not match the key (%s)", id.Short(), k.ID().Short())
	}
	return k, info, nil
}

// WriteKeyFile writes k's key file to path with mode 0600, creating it
// exclusively: an existing file is left untouched and ErrKeyFileExists is
// returned unless overwrite is set. Parent directories are created 0700.
func WriteKeyFile(path string, k *Key, passphrase []byte, opt SealOptions, overwrite bool) error {
	data, err := MarshalKeyFile(k, passphrase, opt)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dirOf(path), 0o700); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if !overwrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrKeyFileExists, path)
		}
		if err != nil {
			return fmt.Errorf("identity: %w", err)
		}
		if err := writeClose(f, data); err != nil {
			// Leave no half-written key behind: the next keygen would
			// refuse to replace it.
			os.Remove(path)
			return err
		}
		syncDir(dirOf(path))
		return nil
	}
	// Overwrite through a fresh temporary file and a rename, so a crash
	// never leaves a half-written key. The temporary file is created
	// exclusively: opening a leftover one would keep its (maybe looser) mode.
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("identity: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := writeClose(f, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("identity: %w", err)
	}
	syncDir(dirOf(path))
	return nil
}

// syncDir makes a new directory entry durable. File systems that cannot
// sync a directory are not an error: the data itself was synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func writeClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("identity: write key file: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	i := strings.LastIndexByte(path, os.PathSeparator)
	if i < 0 {
		return "."
	}
	if i == 0 {
		return "/"
	}
	return path[:i]
}

// ReadKeyFile reads and parses the key file at path. Like ssh, it refuses a
// file that group or others may read or write (ErrKeyFileMode), naming the
// mode and the fix.
func ReadKeyFile(path string, passphrase func() ([]byte, error)) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if m := st.Mode().Perm(); m&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrKeyFileMode, path, m, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	k, err := ParseKeyFile(b, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
