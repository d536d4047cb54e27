package otp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// recordingSender keeps what it was asked to send.
type recordingSender struct{ texts []string }

func (r *recordingSender) Send(_ context.Context, _ huduma.MSISDN, text string) (string, error) {
	r.texts = append(r.texts, text)
	return "P1", nil
}

// TestSealedTextsOpenOnlyOnTheirWayOut: a sealed text shows nothing of
// its words, opens only with the same secret, and reaches the provider
// in clear through Unsealing; one that cannot be opened never reaches it.
func TestSealedTextsOpenOnlyOnTheirWayOut(t *testing.T) {
	s := NewSealer([]byte("unit-test-otp-secret-0123456789"))
	const text = "Your eCitizen code is 493817. It expires in 5 minutes. Never share it."
	sealed, err := s.Seal(text)
	if err != nil {
		t.Fatal(err)
	}
	if !Sealed(sealed) || strings.Contains(sealed, "493817") || strings.Contains(sealed, "eCitizen") {
		t.Fatalf("sealed text %q", sealed)
	}
	if again, _ := s.Seal(text); again == sealed {
		t.Fatal("two seals of one text are alike (a reused nonce)")
	}
	if got, err := s.Open(sealed); got != text || err != nil {
		t.Fatalf("open: %q %v", got, err)
	}
	if got, err := s.Open("a notice"); got != "a notice" || err != nil {
		t.Fatalf("open of a clear text: %q %v", got, err)
	}
	other := NewSealer([]byte("another-secret-entirely-000000"))
	if _, err := other.Open(sealed); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("another secret opened it: %v", err)
	}
	if _, err := s.Open(sealed[:len(sealed)-2] + "AA"); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("an altered text opened: %v", err)
	}

	provider := &recordingSender{}
	send := Unsealing(provider, s)
	if _, err := send.Send(context.Background(), "+254712345678", sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := send.Send(context.Background(), "+254712345678", "a notice"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(provider.texts, "|") != text+"|a notice" {
		t.Fatalf("the provider got %q", provider.texts)
	}
	if _, err := Unsealing(provider, other).Send(context.Background(), "+254712345678", sealed); !errors.Is(err, providers.ErrPermanent) || len(provider.texts) != 2 {
		t.Fatalf("an unopenable text: %v, provider called %d times", err, len(provider.texts))
	}
	if Unsealing(nil, s) != nil {
		t.Fatal("the record-only outbox got a sender")
	}
}
