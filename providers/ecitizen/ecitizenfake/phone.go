package ecitizenfake

import (
	"fmt"
	"sort"
	"time"

	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// The payer's side of the fake. With Options.Interactive, a prompt sent
// to a phone a person holds (Hold, as the web phone does while it shows
// that number) waits for that person: the right PIN pays the bill (and
// e-Citizen notifies), a wrong PIN or Cancel ends it unpaid, and so does
// leaving it alone for Options.PromptTimeout. e-Citizen notifies
// payments only, so an unpaid prompt is heard of nowhere. A prompt to a
// phone nobody holds takes its outcome from the phone's last two digits,
// as always.

// DefaultPromptTimeout is how long an interactive prompt waits.
const DefaultPromptTimeout = darajafake.DefaultPromptTimeout

// holdFor is how long a phone counts as held after its last Hold (the
// web phone asks every second).
const holdFor = 10 * time.Second

// ErrNoPrompt and ErrAnswered are Answer's refusals, the M-Pesa
// simulator's own: no such prompt on that phone, or one decided already.
var (
	ErrNoPrompt = darajafake.ErrNoPrompt
	ErrAnswered = darajafake.ErrAnswered
)

// Prompt is a prompt waiting on a held phone for its holder's answer.
type Prompt struct {
	ID string
	// BillNumber is the account the payer sees; Amount what is owed.
	BillNumber string
	Amount     int64
	Expires    time.Time
	phone      string
	timer      *time.Timer
}

// Hold marks phone (2547… digits) as held by a person for a few seconds
// and returns the prompts waiting on it, oldest first.
func (f *Fake) Hold(phone string) []Prompt {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		f.held = map[string]time.Time{}
	}
	f.held[phone] = time.Now().Add(holdFor)
	var out []Prompt
	for _, w := range f.waiting {
		if w.phone == phone {
			out = append(out, *w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out
}

// holds reports whether a prompt to phone waits for a person. Called
// with f.mu held.
func (f *Fake) holds(phone string) bool {
	return f.opts.Interactive && time.Now().Before(f.held[phone])
}

// wait records an interactive prompt for bill b. Called with f.mu held.
func (f *Fake) wait(b Bill) {
	timeout := f.opts.PromptTimeout
	if timeout <= 0 {
		timeout = DefaultPromptTimeout
	}
	if f.waiting == nil {
		f.waiting = map[string]*Prompt{}
	}
	f.prompts++
	id := fmt.Sprintf("ECP%d", f.prompts)
	w := &Prompt{ID: id, BillNumber: b.Number, Amount: b.Amount - f.bills[b.Number].Paid, Expires: time.Now().Add(timeout), phone: b.Phone}
	w.timer = time.AfterFunc(timeout, func() { f.decide(id, "", false) })
	f.waiting[id] = w
}

// Answer gives the person's answer to prompt id on phone: Cancel, or a
// PIN (darajafake.DefaultPIN pays). It reports whether the bill was paid.
func (f *Fake) Answer(phone, id string, cancel bool, pin string) (bool, error) {
	paid := !cancel && pin == darajafake.DefaultPIN
	return paid, f.decide(id, phone, paid)
}

// decide ends prompt id (phone, when given, must be its), paying what
// the bill still owes when paid.
func (f *Fake) decide(id, phone string, paid bool) error {
	f.mu.Lock()
	w, ok := f.waiting[id]
	switch {
	case !ok && f.decided[id]:
		f.mu.Unlock()
		return ErrAnswered
	case !ok || phone != "" && w.phone != phone:
		f.mu.Unlock()
		return ErrNoPrompt
	}
	delete(f.waiting, id)
	if f.decided == nil {
		f.decided = map[string]bool{}
	}
	f.decided[id] = true
	w.timer.Stop()
	owed := f.bills[w.BillNumber].Amount - f.bills[w.BillNumber].Paid
	f.mu.Unlock()
	if paid && owed > 0 {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if _, err := f.PayBill(w.BillNumber, owed, ChannelMpesa); err != nil {
				f.opts.Log.Warn("ecitizenfake: prompt payment", "error", err)
			}
		}()
	}
	return nil
}
