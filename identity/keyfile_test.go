package identity_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbfeed/sbfeed/identity"
)

// fastSeal keeps scrypt cheap in tests; production uses DefaultScryptLogN.
func fastSeal() identity.SealOptions {
	return identity.SealOptions{LogN: identity.MinScryptLogN, Rand: bytes.NewReader(bytes.Repeat([]byte{0x42}, 64))}
}

func pass(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

func TestKeyFileRoundTrip(t *testing.T) {
	k := rfcKey(t)
	plain, err := identity.MarshalKeyFile(k, nil, identity.SealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := identity.MarshalKeyFile(k, []byte("correct horse"), fastSeal())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("seed ")) || !bytes.Contains(sealed, []byte("\nsealed scrypt 10 ")) {
		t.Fatalf("sealed file:\n%s", sealed)
	}
	for _, tt := range []struct {
		name   string
		file   []byte
		sealed bool
	}{{"plain", plain, false}, {"sealed", sealed, true}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity.ParseKeyFile(tt.file, pass("correct horse"))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID() != k.ID() || !bytes.Equal(got.Seed(), k.Seed()) {
				t.Fatal("round trip changed the key")
			}
			info, err := identity.InspectKeyFile(tt.file)
			if err != nil || info.ID != k.ID() || info.Sealed != tt.sealed {
				t.Fatalf("InspectKeyFile = %+v, %v", info, err)
			}
			if lines := strings.Count(string(tt.file), "\n"); lines != 3 || !strings.HasPrefix(string(tt.file), "sbfeed key v1\nid "+k.ID().String()+"\n") {
				t.Fatalf("layout:\n%s", tt.file)
			}
		})
	}
	// The same key and random source give the same sealed file.
	again, err := identity.MarshalKeyFile(k, []byte("correct horse"), fastSeal())
	if err != nil || !bytes.Equal(again, sealed) {
		t.Fatal("sealing is not a function of key, passphrase and random source")
	}
}

func TestKeyFileSealErrors(t *testing.T) {
	k := rfcKey(t)
	sealed, err := identity.MarshalKeyFile(k, []byte("correct horse"), fastSeal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := identity.ParseKeyFile(sealed, pass("wrong horse")); !errors.Is(err, identity.ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := identity.ParseKeyFile(sealed, pass("")); !errors.Is(err, identity.ErrPassphrase) {
		t.Errorf("empty passphrase: %v", err)
	}
	if _, err := identity.ParseKeyFile(sealed, nil); !errors.Is(err, identity.ErrNeedPass) {
		t.Errorf("no passphrase: %v", err)
	}
	boom := errors.New("no terminal")
	if _, err := identity.ParseKeyFile(sealed, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("failing passphrase reader: %v", err)
	}
	// Flip one byte of the ciphertext: authentication fails.
	i := bytes.LastIndexByte(sealed, ' ') + 5
	tampered := bytes.Clone(sealed)
	tampered[i] ^= 'A' ^ 'B'
	if tampered[i] == sealed[i] || bytes.Equal(tampered, sealed) {
		t.Fatal("tamper did nothing")
	}
	if _, err := identity.ParseKeyFile(tampered, pass("correct horse")); !errors.Is(err, identity.ErrPassphrase) && !errors.Is(err, identity.ErrKeyFile) {
		t.Errorf("tampered ciphertext: %v", err)
	}
	// Swap the id line for another valid identity: the id line is
	// associated data of the seal, so this is refused too.
	other, _ := identity.FromSeed(bytes.Repeat([]byte{3}, 32))
	swapped := []byte(strings.Replace(string(sealed), k.ID().String(), other.ID().String(), 1))
	if _, err := identity.ParseKeyFile(swapped, pass("correct horse")); !errors.Is(err, identity.ErrPassphrase) {
		t.Errorf("swapped id line: %v", err)
	}
	for _, opt := range []identity.SealOptions{
		{LogN: identity.MinScryptLogN - 1, Rand: bytes.NewReader(make([]byte, 64))},
		{LogN: identity.MaxScryptLogN + 1, Rand: bytes.NewReader(make([]byte, 64))},
		{LogN: identity.MinScryptLogN},                             // no random source
		{LogN: identity.MinScryptLogN, Rand: bytes.NewReader(nil)}, // empty random source
	} {
		if _, err := identity.MarshalKeyFile(k, []byte("p"), opt); err == nil {
			t.Errorf("MarshalKeyFile(%+v) succeeded", opt)
		}
	}
}

func TestKeyFileMalformed(t *testing.T) {
	k := rfcKey(t)
	plain, _ := identity.MarshalKeyFile(k, nil, identity.SealOptions{})
	sealed, _ := identity.MarshalKeyFile(k, []byte("p"), fastSeal())
	lines := strings.SplitAfter(string(plain), "\n")
	other, _ := identity.FromSeed(bytes.Repeat([]byte{3}, 32))
	sealedFields := strings.Fields(strings.SplitAfter(string(sealed), "\n")[2])
	withLogN := func(n string) string {
		f := append([]string(nil), sealedFields...)
		f[2] = n
		return lines[0] + lines[1] + strings.Join(f, " ") + "\n"
	}
	tests := []struct {
		name string
		file string
		msg  string
	}{
		{"empty", "", "missing final newline"},
		{"newer version", "sbfeed key v2\n" + lines[1] + lines[2], "unsupported version"},
		{"not a key file", "-----BEGIN OPENSSH PRIVATE KEY-----\n", "not an sbfeed key file"},
		{"CRLF", strings.ReplaceAll(string(plain), "\n", "\r\n"), "line 1: carriage return"},
		{"extra line", string(plain) + "comment\n", "4 lines"},
		{"missing seed line", lines[0] + lines[1], "2 lines"},
		{"no id line", lines[0] + "x\n" + lines[2], "line 2"},
		{"bad id", lines[0] + "id sbf1aaaa\n" + lines[2], "line 2"},
		{"id of another key", lines[0] + "id " + other.ID().String() + "\n" + lines[2], "does not match"},
		{"short seed", lines[0] + lines[1] + "seed AAAA\n", "line 3"},
		{"padded seed", lines[0] + lines[1] + strings.TrimSuffix(lines[2], "\n") + "=\n", "line 3"},
		{"double space", lines[0] + lines[1] + "seed  " + lines[2][5:], "line 3"},
		{"unknown line 3", lines[0] + lines[1] + "key abc\n", "line 3"},
		{"logN too small", withLogN("9"), "logN"},
		{"logN too large", withLogN("23"), "logN"},
		{"logN leading zero", withLogN("010"), "logN"},
		{"logN not a number", withLogN("x"), "logN"},
		{"sealed field count", lines[0] + lines[1] + strings.Join(sealedFields[:5], " ") + "\n", "line 3"},
		{"huge", strings.Repeat("x", 5000) + "\n", "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.ParseKeyFile([]byte(tt.file), pass("p"))
			if !errors.Is(err, identity.ErrKeyFile) {
				t.Fatalf("err = %v, want ErrKeyFile", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not say %q", err, tt.msg)
			}
		})
	}
	// Every truncation of both forms is refused as malformed.
	for _, f := range [][]byte{plain, sealed} {
		for n := 0; n < len(f); n++ {
			if _, err := identity.ParseKeyFile(f[:n], pass("p")); !errors.Is(err, identity.ErrKeyFile) {
				t.Fatalf("truncated to %d bytes: %v", n, err)
			}
		}
	}
}

func TestWriteReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	k := rfcKey(t)
	path := filepath.Join(dir, "sub", "identity")
	if err := identity.WriteKeyFile(path, k, nil, identity.SealOptions{}, false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Errorf("new parent directory mode %04o, want 0700", dst.Mode().Perm())
	}
	got, err := identity.ReadKeyFile(path, nil)
	if err != nil || got.ID() != k.ID() {
		t.Fatalf("ReadKeyFile = %v, %v", got, err)
	}

	// No overwrite: the file is untouched.
	before, _ := os.ReadFile(path)
	other, _ := identity.FromSeed(bytes.Repeat([]byte{3}, 32))
	err = identity.WriteKeyFile(path, other, nil, identity.SealOptions{}, false)
	if !errors.Is(err, identity.ErrKeyFileExists) || !strings.Contains(err.Error(), path) {
		t.Fatalf("overwrite without permission: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("refused write changed the file")
	}

	// Overwrite replaces it, still 0600, even when a stale temporary
	// file with a looser mode lies around.
	if err := os.WriteFile(path+".tmp", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := identity.WriteKeyFile(path, other, []byte("pw"), fastSeal(), true); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("overwritten key file mode %04o", st.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	if _, err := identity.ReadKeyFile(path, nil); !errors.Is(err, identity.ErrNeedPass) {
		t.Fatalf("sealed file without passphrase: %v", err)
	}
	got, err = identity.ReadKeyFile(path, pass("pw"))
	if err != nil || got.ID() != other.ID() {
		t.Fatalf("overwritten key = %v, %v", got, err)
	}

	// Loose permissions are refused, naming the mode and the fix.
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := identity.ReadKeyFile(path, pass("pw"))
		if !errors.Is(err, identity.ErrKeyFileMode) {
			t.Fatalf("mode %04o: %v, want ErrKeyFileMode", mode, err)
		}
		for _, want := range []string{"chmod 600 " + path, fmt.Sprintf("mode %04o", mode)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %04o: message %q lacks %q", mode, err, want)
			}
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.ReadKeyFile(path, pass("pw")); err != nil {
		t.Fatalf("read-only 0400 file refused: %v", err)
	}

	if _, err := identity.ReadKeyFile(filepath.Join(dir, "absent"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.ReadKeyFile(bad, nil); !errors.Is(err, identity.ErrKeyFile) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("junk file: %v, want ErrKeyFile naming the path", err)
	}
}
