package simphone

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// A script is one step per line; blank lines and lines starting with #
// are ignored:
//
//	dial [code]       start a session (default: the phone's service code)
//	send <input>      answer the current screen
//	expect <regexp>   the current screen must match
//	end [regexp]      the session must have ended (and match)
//	sms <regexp>      an SMS matching must arrive within the SMS wait
//
// Named groups in expect/end/sms patterns, such as (?P<invoice>\d{10}),
// set variables that later steps use as ${invoice}.
type Step struct {
	Line int
	Verb string
	Arg  string
	re   *regexp.Regexp
}

// ParseScript reads a script, checking every verb and pattern up front so
// a typo fails before anything is dialled.
func ParseScript(r io.Reader) ([]Step, error) {
	var steps []Step
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, arg, _ := strings.Cut(line, " ")
		s := Step{Line: n, Verb: verb, Arg: strings.TrimSpace(arg)}
		switch verb {
		case "dial", "send":
		case "expect", "sms":
			if s.Arg == "" {
				return nil, fmt.Errorf("line %d: %s needs a pattern", n, verb)
			}
			fallthrough
		case "end":
			if !strings.Contains(s.Arg, "${") {
				re, err := regexp.Compile(s.Arg)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				s.re = re
			}
		default:
			return nil, fmt.Errorf("line %d: unknown step %q (want dial, send, expect, end or sms)", n, verb)
		}
		steps = append(steps, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read script: %w", err)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("the script has no steps")
	}
	return steps, nil
}

// Mismatch is a step that did not go as the script says.
type Mismatch struct {
	Step Step
	Got  string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("line %d: %s %s: got %q", m.Step.Line, m.Step.Verb, m.Step.Arg, m.Got)
}

// Player runs scripts on a phone.
type Player struct {
	Phone *Phone
	// Code is what a bare "dial" dials.
	Code string
	// SMSWait bounds each sms step.
	SMSWait time.Duration
	// Out receives the screens and SMS as they come.
	Out io.Writer
}

// Play runs steps in order and stops at the first mismatch.
func (pl *Player) Play(ctx context.Context, steps []Step) error {
	vars := map[string]string{}
	var screen Screen
	open := false
	// SMS already in the inbox belong to earlier journeys.
	var seen int64
	if msgs, err := pl.Phone.Inbox(ctx); err == nil && len(msgs) > 0 {
		seen = msgs[len(msgs)-1].ID
	}
	var arrived []SMS
	for _, st := range steps {
		arg := expand(st.Arg, vars, st.Verb != "dial" && st.Verb != "send")
		re := st.re
		if re == nil && arg != "" && st.Verb != "dial" && st.Verb != "send" {
			var err error
			if re, err = regexp.Compile(arg); err != nil {
				return fmt.Errorf("line %d: %w", st.Line, err)
			}
		}
		switch st.Verb {
		case "dial", "send":
			var err error
			if st.Verb == "dial" {
				code := arg
				if code == "" {
					code = pl.Code
				}
				fmt.Fprintf(pl.Out, "> dial %s\n", code)
				screen, err = pl.Phone.Dial(ctx, code)
			} else {
				if !open {
					return &Mismatch{Step: st, Got: "no open session"}
				}
				fmt.Fprintf(pl.Out, "> %s\n", arg)
				screen, err = pl.Phone.Send(ctx, arg)
			}
			if err != nil {
				return fmt.Errorf("line %d: %w", st.Line, err)
			}
			open = !screen.End
			Draw(pl.Out, screen)
		case "expect", "end":
			if st.Verb == "end" && !screen.End {
				return &Mismatch{Step: st, Got: "session still open: " + screen.Text}
			}
			if re != nil {
				if m := re.FindStringSubmatch(screen.Text); m != nil {
					capture(re, m, vars)
				} else {
					return &Mismatch{Step: st, Got: screen.Text}
				}
			}
		case "sms":
			deadline := time.Now().Add(pl.SMSWait)
			for {
				msgs, err := pl.Phone.Inbox(ctx)
				if err != nil {
					return fmt.Errorf("line %d: %w", st.Line, err)
				}
				for _, m := range msgs {
					if m.ID > seen {
						fmt.Fprintf(pl.Out, "[SMS %s] %s\n", m.Kind, m.Body)
						arrived, seen = append(arrived, m), m.ID
					}
				}
				if i := matchSMS(arrived, re, vars); i >= 0 {
					arrived = append(arrived[:i], arrived[i+1:]...) // each SMS answers one step
					break
				}
				if time.Now().After(deadline) {
					bodies := make([]string, len(arrived))
					for i, m := range arrived {
						bodies[i] = m.Body
					}
					return &Mismatch{Step: st, Got: fmt.Sprintf("no matching SMS within %s; unmatched: %q", pl.SMSWait, bodies)}
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(250 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

func matchSMS(msgs []SMS, re *regexp.Regexp, vars map[string]string) int {
	for i, m := range msgs {
		if g := re.FindStringSubmatch(m.Body); g != nil {
			capture(re, g, vars)
			return i
		}
	}
	return -1
}

func capture(re *regexp.Regexp, m []string, vars map[string]string) {
	for i, name := range re.SubexpNames() {
		if name != "" && i < len(m) {
			vars[name] = m[i]
		}
	}
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${name} with captured values. In patterns (quote) the
// values are quoted, so a captured "." does not become a wildcard.
func expand(s string, vars map[string]string, quote bool) string {
	return varRE.ReplaceAllStringFunc(s, func(v string) string {
		val, ok := vars[varRE.FindStringSubmatch(v)[1]]
		if !ok {
			return v
		}
		if quote {
			return regexp.QuoteMeta(val)
		}
		return val
	})
}
