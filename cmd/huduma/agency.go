package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/messaging"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers/africastalking"
	"github.com/huduma-ke/huduma/providers/kannel"
	"github.com/huduma-ke/huduma/store"
	"github.com/huduma-ke/huduma/store/ledger"
	"github.com/huduma-ke/huduma/texts"
)

// agency joins the services behind the agency API and the USSD invoice
// screens; it only delegates.
type agency struct {
	*payments.Service
	st  store.Store
	l   *ledger.DB
	otp *messaging.OTP
}

func (a *agency) SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error) {
	return a.st.SearchServices(ctx, q, limit)
}

func (a *agency) ServiceByCode(ctx context.Context, code int) (huduma.Service, error) {
	return a.st.ServiceByCode(ctx, code)
}

func (a *agency) SendMessage(ctx context.Context, to huduma.MSISDN, text string) error {
	return a.l.QueueMessage(ctx, huduma.Message{To: to, Kind: huduma.MessageNotice, Body: gsm7.Fold(text)}, "")
}

func (a *agency) SendOTP(ctx context.Context, phone huduma.MSISDN, purpose string) error {
	return a.otp.Send(ctx, phone, purpose)
}

func (a *agency) VerifyOTP(ctx context.Context, phone huduma.MSISDN, purpose, code string) (bool, error) {
	return a.otp.Verify(ctx, phone, purpose, code)
}

func (a *agency) CreateApplication(ctx context.Context, app huduma.Application) (huduma.Application, error) {
	return a.l.CreateApplication(ctx, app)
}

func (a *agency) Application(ctx context.Context, number string) (huduma.Application, error) {
	return a.l.Application(ctx, number)
}

// UpdateApplication changes the status and texts the applicant, in the
// applicant's chosen language. The language is read before the ledger's
// transaction: the message callback runs inside it, and on the embedded
// database (one connection) a second query there would wait forever.
func (a *agency) UpdateApplication(ctx context.Context, number string, status huduma.ApplicationStatus, note string) (huduma.Application, error) {
	cur, err := a.l.Application(ctx, number)
	if err != nil {
		return huduma.Application{}, err
	}
	lang := callerLanguage(ctx, a.st, cur.Phone)
	return a.l.UpdateApplication(ctx, number, status, note, func(app huduma.Application) huduma.Message {
		return huduma.Message{To: app.Phone, Kind: huduma.MessageNotice, Body: texts.AppStatusSMS(app, lang)}
	})
}

// callerLanguage is the language a phone chose on USSD, or English when
// it never chose or the store cannot say (a text still goes out).
func callerLanguage(ctx context.Context, st store.Store, phone huduma.MSISDN) huduma.Language {
	lang, err := st.Language(ctx, phone)
	if err != nil {
		return huduma.English
	}
	return lang
}

// classifyAT turns Africa's Talking send errors into outbox verdicts.
func classifyAT(err error) messaging.Verdict {
	var se *africastalking.SMSError
	if errors.As(err, &se) {
		switch {
		case errors.Is(err, africastalking.ErrSMSThrottled):
			return messaging.Verdict{Retry: true, After: se.RetryAfter, Reason: se.Error()}
		case errors.Is(err, africastalking.ErrSMSPermanent):
			return messaging.Verdict{Reason: fmt.Sprintf("%d %s", se.Code, se.Reason)}
		}
	}
	return messaging.Verdict{Retry: true, Reason: err.Error()}
}

// breakerAware classifies an open breaker (no call was made) as a retry
// after the cooldown, and leaves every other error to classify.
func breakerAware(classify func(error) messaging.Verdict) func(error) messaging.Verdict {
	return func(err error) messaging.Verdict {
		var open *breaker.OpenError
		if errors.As(err, &open) {
			return messaging.Verdict{Retry: true, After: open.Retry + time.Second, Reason: err.Error()}
		}
		return classify(err)
	}
}

// classifyKannel turns Kannel send errors into outbox verdicts.
func classifyKannel(err error) messaging.Verdict {
	return messaging.Verdict{Retry: !errors.Is(err, kannel.ErrPermanent), Reason: err.Error()}
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
