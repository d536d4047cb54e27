// Package simphone is a terminal phone: a USSD client that dials a running
// Huduma gateway over its Africa's Talking route, exactly as AT would, and
// reads the SMS the gateway queued for that number from the simulator's
// inbox. Scripts of inputs and expected screens let support staff replay a
// reported journey and get a non-zero exit when it goes differently.
package simphone

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Screen is one USSD reply.
type Screen struct {
	Text string
	// End is true when the session is over (an END reply).
	End bool
}

// SMS is one message from the gateway's outbox for the phone.
type SMS struct {
	ID     int64     `json:"id"`
	Kind   string    `json:"kind"`
	Status string    `json:"status"`
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

// Phone dials one gateway as one subscriber.
type Phone struct {
	// URL is the gateway's base URL, e.g. http://localhost:8080.
	URL string
	// Token is the gateway's HUDUMA_CALLBACK_TOKEN, if it has one.
	Token string
	// Number is the subscriber's phone number.
	Number string
	// HTTP does the requests (a client with a timeout by default).
	HTTP *http.Client

	session string
	code    string
	inputs  []string
	seq     int
}

func (p *Phone) client() *http.Client {
	if p.HTTP == nil {
		p.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	return p.HTTP
}

// Dial starts a new session with code (e.g. *2222#).
func (p *Phone) Dial(ctx context.Context, code string) (Screen, error) {
	p.seq++
	p.session = fmt.Sprintf("SIMTERM%d%d", time.Now().UnixNano(), p.seq)
	p.code, p.inputs = code, nil
	return p.hop(ctx)
}

// Send answers the current screen with input.
func (p *Phone) Send(ctx context.Context, input string) (Screen, error) {
	if p.session == "" {
		return Screen{}, fmt.Errorf("no session: dial first")
	}
	p.inputs = append(p.inputs, input)
	return p.hop(ctx)
}

// hop posts the whole input so far, as AT does (text joined by "*").
func (p *Phone) hop(ctx context.Context) (Screen, error) {
	u := strings.TrimRight(p.URL, "/") + "/ussd/africastalking"
	if p.Token != "" {
		u += "?token=" + url.QueryEscape(p.Token)
	}
	form := url.Values{"sessionId": {p.session}, "serviceCode": {p.code}, "phoneNumber": {p.Number},
		"networkCode": {"63902"}, "text": {strings.Join(p.inputs, "*")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return Screen{}, fmt.Errorf("ussd request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client().Do(req)
	if err != nil {
		return Screen{}, fmt.Errorf("ussd hop: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return Screen{}, fmt.Errorf("ussd hop: %w", err)
	}
	text := string(body)
	switch {
	case strings.HasPrefix(text, "CON "):
		return Screen{Text: text[4:]}, nil
	case strings.HasPrefix(text, "END "):
		p.session = ""
		return Screen{Text: text[4:], End: true}, nil
	case resp.StatusCode == http.StatusForbidden:
		return Screen{}, fmt.Errorf("the gateway refused the hop (403): pass its callback token with --token")
	}
	return Screen{}, fmt.Errorf("the gateway answered %d %q, not CON/END", resp.StatusCode, clip(text, 80))
}

// ErrNoInbox means the gateway does not serve the simulator inbox
// (HUDUMA_SIMULATOR is off), so SMS cannot be shown.
var ErrNoInbox = fmt.Errorf("the gateway has no simulator inbox (HUDUMA_SIMULATOR=off)")

// Inbox returns the SMS queued for the phone, oldest first.
func (p *Phone) Inbox(ctx context.Context) ([]SMS, error) {
	u := strings.TrimRight(p.URL, "/") + "/simulator/inbox?phone=" + url.QueryEscape(p.Number)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("inbox request: %w", err)
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrNoInbox
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("inbox: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Messages []SMS `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	// The gateway lists newest first; a phone shows them as they came.
	for i, j := 0, len(out.Messages)-1; i < j; i, j = i+1, j-1 {
		out.Messages[i], out.Messages[j] = out.Messages[j], out.Messages[i]
	}
	return out.Messages, nil
}

// Watch calls fn for each SMS newer than after, polling every interval
// until ctx ends. It returns the newest id it saw.
func (p *Phone) Watch(ctx context.Context, after int64, interval time.Duration, fn func(SMS)) int64 {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		msgs, err := p.Inbox(ctx)
		if err == nil {
			for _, m := range msgs {
				if m.ID > after {
					fn(m)
					after = m.ID
				}
			}
		}
		select {
		case <-ctx.Done():
			return after
		case <-t.C:
		}
	}
}

// Draw renders a screen as a feature phone shows it, in a box.
func Draw(w io.Writer, s Screen) {
	const width = 30
	fmt.Fprintln(w, "+"+strings.Repeat("-", width+2)+"+")
	for _, line := range strings.Split(s.Text, "\n") {
		for _, l := range wrap(line, width) {
			fmt.Fprintf(w, "| %-*s |\n", width, l)
		}
	}
	footer := strconv.Itoa(len([]rune(s.Text))) + "/182"
	if s.End {
		footer = "session ended · " + footer
	}
	fmt.Fprintf(w, "+%s+\n", center(footer, width+2))
}

// wrap breaks a line at spaces into lines of at most width runes, cutting
// a word only when it alone is longer, as phone screens do.
func wrap(line string, width int) []string {
	var out []string
	cur := ""
	for _, word := range strings.Split(line, " ") {
		for len([]rune(word)) > width {
			if cur != "" {
				out, cur = append(out, cur), ""
			}
			r := []rune(word)
			out, word = append(out, string(r[:width])), string(r[width:])
		}
		switch {
		case cur == "":
			cur = word
		case len([]rune(cur))+1+len([]rune(word)) <= width:
			cur += " " + word
		default:
			out, cur = append(out, cur), word
		}
	}
	return append(out, cur)
}

func center(s string, n int) string {
	pad := n - len([]rune(s))
	if pad <= 0 {
		return s
	}
	return strings.Repeat("-", pad/2) + s + strings.Repeat("-", pad-pad/2)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
