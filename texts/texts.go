// Package texts is Huduma's one catalogue of user-facing strings: every
// USSD screen line, every SMS and every edge reply, in English and
// Kiswahili. Values that come from configuration (the service code, the
// paybill) are passed in, never written here, so a deployment on another
// code or paybill says the right thing everywhere. Tests render each
// string in each language and check it is GSM-7 and short enough.
package texts

import (
	"fmt"

	"github.com/huduma-ke/huduma"
)

// Text is one user-facing string in both languages.
type Text struct{ EN, SW string }

// T returns the string for lang (English when no Kiswahili is given).
func (t Text) T(lang huduma.Language) string {
	if lang == huduma.Kiswahili && t.SW != "" {
		return t.SW
	}
	return t.EN
}

// F formats the string for lang with args.
func (t Text) F(lang huduma.Language, args ...any) string { return fmt.Sprintf(t.T(lang), args...) }
