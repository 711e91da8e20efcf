package account

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// refreshGrace is how long a spent refresh token still answers the tokens
// it was traded for: a device that sent several refreshes at once, or lost
// the answer, is not disconnected for it.
const refreshGrace = 5 * time.Second

// Refresh trades a refresh token for new tokens; the old refresh token is
// spent. Within refreshGrace of the trade, presenting it again answers the
// same new tokens; after that it disconnects the device: it was copied.
// Of parallel refreshes with one token, one trades it.
func (s *Service) Refresh(ctx context.Context, clientID, refresh string) (Tokens, error) {
	if clientID != s.cfg.ClientID {
		return Tokens{}, ErrInvalidClient
	}
	hash := keyedHash(s.secret, "refresh", refresh)
	for range 2 { // a parallel refresh may trade the token between read and rotation
		dev, err := s.store.DeviceByRefresh(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return Tokens{}, ErrInvalidGrant
		}
		if err != nil {
			return Tokens{}, fmt.Errorf("find device by refresh token: %w", err)
		}
		switch {
		case dev.Revoked, s.now().After(dev.RefreshUntil):
			return Tokens{}, ErrInvalidGrant
		case equalHash(hash, dev.PreviousHash):
			return s.replay(ctx, dev, hash)
		}
		t, err := s.rotate(ctx, dev, hash)
		if !errors.Is(err, ErrNotFound) {
			return t, err
		}
	}
	return Tokens{}, ErrInvalidGrant
}

// rotate trades the device's current refresh token, oldHash, for new
// tokens, in one step that fails with ErrNotFound when another request
// traded it first. The new tokens are kept sealed for the grace.
func (s *Service) rotate(ctx context.Context, dev Device, oldHash string) (Tokens, error) {
	now := s.now()
	dev.LastSeen = now
	access, err := s.AccessToken(dev)
	if err != nil {
		return Tokens{}, fmt.Errorf("sign access token: %w", err)
	}
	refresh := randomToken(32)
	t := Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()),
		RefreshToken: refresh, AccountID: dev.AccountID, DeviceID: dev.ID}
	sealed, err := s.sealTokens(t, dev.ID, oldHash)
	if err != nil {
		return Tokens{}, err
	}
	_, err = s.store.RotateRefresh(ctx, Rotation{DeviceID: dev.ID, OldHash: oldHash,
		NewHash: keyedHash(s.secret, "refresh", refresh), Until: now.Add(s.cfg.RefreshTTL), At: now, GracePair: sealed})
	if err != nil {
		return Tokens{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return t, nil
}

// replay answers a spent refresh token: the tokens it was traded for
// within the grace, else it disconnects the device.
func (s *Service) replay(ctx context.Context, dev Device, hash string) (Tokens, error) {
	if s.now().Sub(dev.Rotated) <= refreshGrace && dev.GracePair != "" {
		if t, err := s.openTokens(dev.GracePair, dev.ID, hash); err == nil {
			return t, nil
		}
	}
	if err := s.store.RevokeDevice(ctx, dev.ID); err != nil {
		return Tokens{}, fmt.Errorf("revoke device: %w", err)
	}
	s.log.Warn().Str("account", dev.AccountID).Str("device", dev.Name).Msg("a spent refresh token was presented: device disconnected")
	return Tokens{}, ErrInvalidGrant
}

// tokenSeal is the AEAD that keeps the tokens of the last rotation in the
// store: the store alone does not give them away.
func (s *Service) tokenSeal() (cipher.AEAD, error) {
	key, _ := hex.DecodeString(keyedHash(s.secret, "refresh-grace-seal"))
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealTokens seals t for the device id, bound to the spent token's hash.
func (s *Service) sealTokens(t Tokens, id, spentHash string) (string, error) {
	aead, err := s.tokenSeal()
	if err != nil {
		return "", fmt.Errorf("seal tokens: %w", err)
	}
	plain, _ := json.Marshal(t)
	nonce := randomBytes(aead.NonceSize())
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(id+"\x00"+spentHash))), nil
}

// openTokens is the inverse of sealTokens.
func (s *Service) openTokens(sealed, id, spentHash string) (Tokens, error) {
	aead, err := s.tokenSeal()
	if err != nil {
		return Tokens{}, err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return Tokens{}, errors.New("sealed tokens: malformed")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(id+"\x00"+spentHash))
	if err != nil {
		return Tokens{}, fmt.Errorf("open sealed tokens: %w", err)
	}
	var t Tokens
	return t, json.Unmarshal(plain, &t)
}
