// Package vault encrypts what the agent and the relay keep on disk: small
// records (Seal/Open) and large payloads such as attachments (streamed in
// chunks, so a 100 MB file is never held whole in memory).
//
// One 32-byte key from the OS keyring unlocks everything; subkeys for
// separate uses are derived with HKDF so that a record can never be opened
// as something else. "Corrupt" (wrong key, tampering, truncation) is a
// distinct error from an I/O failure so the caller can say which.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// KeySize is the size of every key.
const KeySize = 32

// ErrCorrupt means the data could not be authenticated: the wrong key, or
// the data was changed or cut short.
var ErrCorrupt = errors.New("vault: data corrupt or wrong key")

// Key encrypts with AES-256-GCM.
type Key struct {
	raw  []byte
	aead cipher.AEAD
}

// New wraps a 32-byte key.
func New(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("vault: key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Key{raw: append([]byte(nil), raw...), aead: aead}, nil
}

// NewRandomKey makes fresh key material.
func NewRandomKey() []byte {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic("vault: no randomness: " + err.Error())
	}
	return b
}

// Derive returns an independent subkey for one purpose.
func (k *Key) Derive(purpose string) *Key {
	raw, err := hkdf.Key(sha256.New, k.raw, nil, "sendsikkert/"+purpose, KeySize)
	if err != nil {
		panic("vault: hkdf: " + err.Error())
	}
	d, err := New(raw)
	if err != nil {
		panic(err)
	}
	return d
}

// Seal encrypts a small record. additionalData binds it to its place (for
// example its id), so records cannot be swapped.
func (k *Key) Seal(plaintext, additionalData []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("vault: nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, plaintext, additionalData), nil
}

// Open decrypts what Seal made.
func (k *Key) Open(ciphertext, additionalData []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(ciphertext) < n+k.aead.Overhead() {
		return nil, ErrCorrupt
	}
	pt, err := k.aead.Open(nil, ciphertext[:n], ciphertext[n:], additionalData)
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// SealJSON seals v as JSON (Seal): how the stores keep a record.
func (k *Key) SealJSON(v any, additionalData []byte) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return k.Seal(b, additionalData)
}

// OpenJSON opens a record SealJSON made (Open) and decodes it into v.
func (k *Key) OpenJSON(sealed, additionalData []byte, v any) error {
	b, err := k.Open(sealed, additionalData)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Raw returns the key material, for keyed hashes (HMAC) that need bytes.
func (k *Key) Raw() []byte { return append([]byte(nil), k.raw...) }
