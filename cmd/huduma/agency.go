package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/notices"
	"github.com/huduma-ke/huduma/otp"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/web"
)

// agency joins the services behind the agency API and the USSD invoice
// screens. It is wiring only: every method is one of the services'.
type agency struct {
	*payments.Service
	*otp.Codes
	*notices.AgencyTexts
	*notices.Applications
	catalogReads
}

// The agency API serves the finance routes only for a web.Finance.
var _ web.Finance = (*agency)(nil)

// catalogReads is the catalog the agency API searches.
type catalogReads interface {
	SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error)
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
}

// otpSecret is HUDUMA_OTP_SECRET or, embedded, a random key kept in the
// data dir so codes survive a restart.
func otpSecret(cfg Config) ([]byte, error) {
	if cfg.OTPSecret != "" {
		return []byte(cfg.OTPSecret), nil
	}
	path := filepath.Join(cfg.DataDir, "otp_secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate otp secret: %w", err)
	}
	secret := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("store otp secret: %w", err)
	}
	return []byte(secret), nil
}
