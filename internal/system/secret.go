package system

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gamemesh/gamemesh/ticket"
)

// TicketSecretEnv names the environment variable holding the ticket signing
// secret (hex, at least 32 bytes once decoded, or a raw string of 32+ bytes).
const TicketSecretEnv = "GAMEMESH_TICKET_SECRET"

// LoadTicketSecret returns the ticket signing secret: from TicketSecretEnv
// when set, else from the file secretPath, which is created with a fresh random
// secret (mode 0600) on first use so that restarts keep tickets valid. The
// secret is never a constant in code.
func LoadTicketSecret(secretPath string) ([]byte, string, error) {
	if v := os.Getenv(TicketSecretEnv); v != "" {
		s, err := decodeSecret(v)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", TicketSecretEnv, err)
		}
		return s, "env " + TicketSecretEnv, nil
	}
	b, err := os.ReadFile(secretPath)
	if err == nil {
		s, err := decodeSecret(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", secretPath, err)
		}
		return s, secretPath, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("reading ticket secret: %w", err)
	}
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, "", fmt.Errorf("generating ticket secret: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(secretPath), 0o700); err != nil {
		return nil, "", fmt.Errorf("creating %s: %w", filepath.Dir(secretPath), err)
	}
	if err := writeFileAtomic(secretPath, []byte(hex.EncodeToString(s)+"\n")); err != nil {
		return nil, "", fmt.Errorf("writing ticket secret: %w", err)
	}
	return s, secretPath + generatedSuffix, nil
}

// writeFileAtomic writes data (mode 0600) to a temporary file, syncs it and
// renames it over path, so a crash leaves either no file or the whole file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func decodeSecret(v string) ([]byte, error) {
	if b, err := hex.DecodeString(v); err == nil && len(b) >= ticket.MinSecretLen {
		return b, nil
	}
	if len(v) >= ticket.MinSecretLen {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("secret too short: need %d bytes (hex-encoded or raw)", ticket.MinSecretLen)
}
