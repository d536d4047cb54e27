package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/smschannel"
	"github.com/huduma-ke/huduma/ussd"
)

// update rewrites the expected replies of testdata/journeys from a run
// on the embedded backend through Africa's Talking.
var update = flag.Bool("update", false, "rewrite testdata/journeys/*.journey replies from this run")

// wire is one aggregator's USSD format as the journey runner drives it:
// send posts one request and returns the reply as "CON …"/"END …".
type wire struct {
	name string
	// provider is the route the hops arrive on (the session key's first
	// part); latest-only formats cannot express a retried or stale hop.
	provider   string
	cumulative bool
	send       func(t *testing.T, base string, r hopRequest) string
}

// hopRequest is one USSD request in wire-neutral form.
type hopRequest struct {
	session, phone, code string
	// inputs are every input of the session so far; raw, when set, is the
	// exact cumulative text to send instead.
	inputs []string
	raw    *string
	// retry marks a request repeated as it was (same latest input).
	retry bool
}

func (r hopRequest) text() string {
	if r.raw != nil {
		return *r.raw
	}
	return strings.Join(r.inputs, "*")
}

func httpBody(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// cgiRoutes are the GET-style aggregators the runner configures.
const cgiRoutes = "crossgate:session=session_id,phone=msisdn,code=service_code,input=ussd_string,network=network_code;" +
	"bonga:session=session_id,phone=mobile_number,code=service_code,input=message,network=network,mode=latest"

var wires = []wire{
	{name: "africastalking", provider: "africastalking", cumulative: true, send: func(t *testing.T, base string, r hopRequest) string {
		resp, err := http.PostForm(base+"/ussd/africastalking?token="+testToken, url.Values{"sessionId": {r.session},
			"serviceCode": {r.code}, "phoneNumber": {r.phone}, "networkCode": {"63902"}, "text": {r.text()}})
		return httpBody(t, resp, err)
	}},
	{name: "hubtel", provider: "hubtel", send: func(t *testing.T, base string, r hopRequest) string {
		body := map[string]any{"Type": "Response", "Mobile": strings.TrimPrefix(r.phone, "+"), "SessionId": r.session,
			"ServiceCode": strings.Trim(r.code, "*#"), "Operator": "safaricom", "Sequence": strconv.Itoa(len(r.inputs) + 1)}
		if len(r.inputs) == 0 {
			body["Type"], body["Message"] = "Initiation", r.code
		} else {
			body["Message"] = r.inputs[len(r.inputs)-1] // only the latest input
		}
		raw, _ := json.Marshal(body)
		resp, err := http.Post(base+"/ussd/hubtel?token="+testToken, "application/json", strings.NewReader(string(raw)))
		b := httpBody(t, resp, err)
		var reply struct{ Type, Message string }
		if err := json.Unmarshal([]byte(b), &reply); err != nil {
			t.Fatalf("hubtel reply %q", b)
		}
		if reply.Type == "Release" {
			return "END " + reply.Message
		}
		return "CON " + reply.Message
	}},
	{name: "crossgate", provider: "crossgate", cumulative: true, send: func(t *testing.T, base string, r hopRequest) string {
		q := url.Values{"session_id": {r.session}, "msisdn": {strings.TrimPrefix(r.phone, "+")}, "service_code": {r.code},
			"ussd_string": {r.text()}, "network_code": {"63902"}, "token": {testToken}}
		resp, err := http.Get(base + "/ussd/crossgate?" + q.Encode())
		return httpBody(t, resp, err)
	}},
	{name: "bonga", provider: "bonga", send: func(t *testing.T, base string, r hopRequest) string {
		q := url.Values{"session_id": {r.session}, "mobile_number": {"0" + r.phone[4:]}, "service_code": {strings.Trim(r.code, "*#")},
			"network": {"saf"}, "token": {testToken}}
		if len(r.inputs) > 0 {
			q.Set("message", r.inputs[len(r.inputs)-1])
		}
		resp, err := http.Get(base + "/ussd/bonga?" + q.Encode())
		return httpBody(t, resp, err)
	}},
}

// TestJourneys replays every journey file (syntax in
// testdata/journeys/README.md) on both backends through every
// aggregator, each file on a fresh gateway, and compares every reply and
// every assertion exactly. With -update the replies are rewritten from the
// embedded Africa's Talking run.
func TestJourneys(t *testing.T) {
	files, err := filepath.Glob("../../testdata/journeys/*.journey")
	if err != nil || len(files) == 0 {
		t.Fatalf("no journey files: %v", err)
	}
	for _, run := range journeyRuns {
		t.Run(run.name, func(t *testing.T) {
			for _, w := range wires {
				if run.billing == "ecitizen" && w.name != wires[0].name {
					// The aggregators' wire formats are the same on either
					// backend: the ecitizen runs go through the first.
					continue
				}
				t.Run(w.name, func(t *testing.T) {
					// Each file has a gateway of its own, and most of a
					// journey is waiting for prompts and callbacks: the
					// aggregators run side by side.
					t.Parallel()
					for _, f := range files {
						t.Run(strings.TrimSuffix(filepath.Base(f), ".journey"), func(t *testing.T) {
							write := *update && run.store == "embedded" && w.name == "africastalking"
							runJourney(t, f, run.store, run.billing, w, write)
						})
					}
				})
			}
		})
	}
}

// journeyRuns are the backends every journey runs on: both stores on the
// ledger backend, and both again on the ecitizen one for the journeys
// that pay.
var journeyRuns = []struct{ name, store, billing string }{
	{"embedded", "embedded", "ledger"}, {"postgres+redis", "postgres+redis", "ledger"},
	{"embedded+ecitizen", "embedded", "ecitizen"}, {"postgres+redis+ecitizen", "postgres+redis", "ecitizen"},
}

// placeholders turns the values a run makes up (invoice and application
// numbers, M-Pesa receipts, dates and times) into stable names, and back.
type placeholders struct {
	byValue map[string]string
	byName  map[string]string
	count   map[string]int
	// bills lists e-Citizen's bill numbers so far (the ecitizen backend),
	// named {b1}, {b2}… in order of first appearance.
	bills func() []string
}

var (
	tenDigits   = regexp.MustCompile(`\b[0-9]{10}\b`)
	simReceipt  = regexp.MustCompile(`\bSIM(ULATED)?[0-9]{7}\b`)
	dateOrTime  = regexp.MustCompile(`\b[0-9]{2}/[0-9]{2}/[0-9]{4}( [0-9]{2}:[0-9]{2})?\b`)
	placeholder = regexp.MustCompile(`\{[nrb][0-9]+\}`)
)

func (p *placeholders) name(prefix, v string) string {
	if n, ok := p.byValue[v]; ok {
		return n
	}
	p.count[prefix]++
	n := fmt.Sprintf("{%s%d}", prefix, p.count[prefix])
	p.byValue[v], p.byName[n] = n, v
	return n
}

// normalise replaces made-up values by their names.
func (p *placeholders) normalise(s string) string {
	if p.bills != nil {
		for _, b := range p.bills() {
			if strings.Contains(s, b) {
				s = strings.ReplaceAll(s, b, p.name("b", b))
			}
		}
	}
	s = simReceipt.ReplaceAllStringFunc(s, func(v string) string { return p.name("r", v) })
	s = dateOrTime.ReplaceAllStringFunc(s, func(v string) string {
		if strings.Contains(v, ":") {
			return "{date} {time}"
		}
		return "{date}"
	})
	return tenDigits.ReplaceAllStringFunc(s, func(v string) string { return p.name("n", v) })
}

// expand puts the values back into an input.
func (p *placeholders) expand(t *testing.T, line int, s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(n string) string {
		v, ok := p.byName[n]
		if !ok {
			t.Fatalf("line %d: %s names no value seen so far", line, n)
		}
		return v
	})
}

// journey is one file being replayed.
type journey struct {
	t     *testing.T
	path  string
	lines []string
	// ecitizen: the gateway bills on e-Citizen, and a reply's "<e"
	// lines, when it has any, are what it must be there.
	ecitizen bool
	w        wire
	env      *payEnv
	ph       placeholders
	sessions map[string]*hopRequest // by phone: its current session
	phone    string
	last     *hopRequest
	out      []string // the file as it would be rewritten
	inbound  int
}

func runJourney(t *testing.T, path, backend, billing string, w wire, write bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j := &journey{t: t, path: path, lines: strings.Split(strings.TrimRight(string(raw), "\n"), "\n"), w: w, ecitizen: billing == "ecitizen",
		ph: placeholders{byValue: map[string]string{}, byName: map[string]string{}, count: map[string]int{}}, sessions: map[string]*hopRequest{}}
	if j.ecitizen && !pays(j.lines) {
		t.Skipf("%s takes no payment: it runs on the ledger backend only", filepath.Base(path))
	}
	// SMS go to a fake Africa's Talking, whose callback routes (the
	// incoming texts of `sms` lines) only a configured provider mounts.
	at, err := atfake.Start(testATKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { at.Close() })
	// A file of texts only is the same through every aggregator: it runs
	// through the first.
	if !hasDial(j.lines) && w.name != wires[0].name {
		t.Skipf("%s has no USSD session; it runs through %s only", filepath.Base(path), wires[0].name)
	}
	env := map[string]string{"HUDUMA_HOP_RATE": "0", "HUDUMA_SMS_IN_RATE": "0", "HUDUMA_CGI_ROUTES": cgiRoutes,
		"AT_USERNAME": "sandbox", "AT_API_KEY": testATKey, "AT_SMS_URL": at.SMSURL()}
	// The header (env and only lines) comes before the first step.
	for _, l := range j.lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "env":
			k, v, _ := strings.Cut(f[1], "=")
			env[k] = v
		case len(f) == 2 && f[0] == "only":
			if !strings.Contains(","+f[1]+",", ","+w.name+",") {
				t.Skipf("%s is for %s only", filepath.Base(path), f[1])
			}
		case len(f) == 2 && f[0] == "billing" && j.ecitizen && f[1] != "ecitizen":
			t.Skipf("%s is for the %s backend only", filepath.Base(path), f[1])
		}
	}
	if backend == "embedded" {
		env["HUDUMA_DATA_DIR"] = t.TempDir()
	} else {
		for k, v := range payBackends()["postgres+redis"](t) {
			env[k] = v
		}
	}
	if j.ecitizen {
		j.env = newPayEnvECitizen(t, env, nil)
		j.ph.bills = func() []string {
			var out []string
			for _, b := range j.env.ecFake.Bills() {
				out = append(out, b.Number)
			}
			return out
		}
	} else {
		j.env = newPayEnv(t, env)
	}
	for i := 0; i < len(j.lines); i++ {
		i = j.step(i)
	}
	if write {
		if err := os.WriteFile(path, []byte(strings.Join(j.out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// expected returns the "< " block after line i, its "<e" block (the
// reply on the ecitizen backend, when it differs; nil when none) and the
// index of the blocks' last line.
func (j *journey) expected(i int) (block, eblock []string, end int) {
	k := i + 1
	for ; k < len(j.lines) && strings.HasPrefix(j.lines[k], "<") && !isELine(j.lines[k]); k++ {
		block = append(block, strings.TrimPrefix(strings.TrimPrefix(j.lines[k], "<"), " "))
	}
	for ; k < len(j.lines) && isELine(j.lines[k]); k++ {
		eblock = append(eblock, strings.TrimPrefix(strings.TrimPrefix(j.lines[k], "<e"), " "))
	}
	return block, eblock, k - 1
}

// isELine reports whether l is an ecitizen expectation ("<e …").
func isELine(l string) bool { return l == "<e" || strings.HasPrefix(l, "<e ") }

// check compares got with the block after line i (its "<e" block on the
// ecitizen backend, when it has one), records it for a rewrite, and
// returns where the block ends. A rewrite from a ledger run rewrites the
// "<" lines and keeps the "<e" ones; from an ecitizen run it keeps the
// "<" lines and writes "<e" lines only where the reply differs.
func (j *journey) check(i int, what, got string) int {
	got = j.ph.normalise(got)
	block, eblock, end := j.expected(i)
	want := block
	if j.ecitizen && eblock != nil {
		want = eblock
	}
	j.out = append(j.out, j.lines[i])
	if j.ecitizen {
		j.out = append(j.out, j.lines[i+1:i+1+len(block)]...)
		if got != strings.Join(block, "\n") {
			for _, l := range strings.Split(got, "\n") {
				j.out = append(j.out, "<e "+l)
			}
		}
	} else {
		for _, l := range strings.Split(got, "\n") {
			j.out = append(j.out, "< "+l)
		}
		j.out = append(j.out, j.lines[i+1+len(block):end+1]...)
	}
	if !*update && strings.Join(want, "\n") != got {
		j.t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", filepath.Base(j.path), i+1, what, got, strings.Join(want, "\n"))
	}
	return end
}

// pays reports whether a journey takes a payment: it runs on both
// billing backends.
func pays(lines []string) bool {
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 1 && (f[0] == "wait" && f[1] == "invoice" || f[0] == "count" && f[1] == "pushes") {
			return true
		}
	}
	return false
}

// hop sends r and checks the reply against the block after line i.
func (j *journey) hop(i int, r hopRequest) int {
	j.last = &r
	reply := j.w.send(j.t, j.env.base, r)
	content := strings.TrimPrefix(strings.TrimPrefix(reply, "CON "), "END ")
	if content == reply {
		j.t.Fatalf("%s:%d: reply lacks CON/END: %q", filepath.Base(j.path), i+1, reply)
	}
	// 182 GSM-7 characters, the network's page, by the number: not
	// huduma.MaxScreen, which the screens are made to fit.
	if k, ok := gsm7.Septets(content); k > 182 || !ok {
		j.t.Fatalf("%s:%d: screen breaks the page rules (%d septets):\n%s", filepath.Base(j.path), i+1, k, reply)
	}
	return j.check(i, "reply", reply)
}

func (j *journey) current(i int) *hopRequest {
	s := j.sessions[j.phone]
	if s == nil {
		j.t.Fatalf("%s:%d: input before dial", filepath.Base(j.path), i+1)
	}
	return s
}

// step runs line i and returns the index of its last line.
func (j *journey) step(i int) int {
	t, l := j.t, j.lines[i]
	f := strings.Fields(l)
	switch {
	case strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") || (len(f) > 0 && (f[0] == "env" || f[0] == "only" || f[0] == "billing")):
		j.out = append(j.out, l)
		return i
	case f[0] == "dial":
		code := "*2222#"
		if len(f) > 2 {
			code = j.ph.expand(t, i+1, f[2])
		}
		j.phone = f[1]
		r := &hopRequest{session: fmt.Sprintf("J%d_%d", i, time.Now().UnixNano()), phone: f[1], code: code}
		j.sessions[f[1]] = r
		return j.hop(i, *r)
	case strings.HasPrefix(l, ">>"):
		if !j.w.cumulative {
			t.Fatalf("%s:%d: an exact path needs a cumulative aggregator (add an `only` line)", filepath.Base(j.path), i+1)
		}
		s := j.current(i)
		text := j.ph.expand(t, i+1, strings.TrimSpace(strings.TrimPrefix(l, ">>")))
		r := *s
		r.raw = &text
		return j.hop(i, r)
	case strings.HasPrefix(l, ">"):
		s := j.current(i)
		s.inputs = append(s.inputs, j.ph.expand(t, i+1, strings.TrimSpace(strings.TrimPrefix(l, ">"))))
		return j.hop(i, hopRequest{session: s.session, phone: s.phone, code: s.code, inputs: append([]string(nil), s.inputs...)})
	case f[0] == "again":
		if j.last == nil {
			t.Fatalf("%s:%d: again before any request", filepath.Base(j.path), i+1)
		}
		r := *j.last
		r.retry = true
		return j.hop(i, r)
	case f[0] == "sms" && len(f) >= 3:
		j.inbound++
		id := fmt.Sprintf("in_%d", j.inbound)
		if f[1] == "again" {
			id = fmt.Sprintf("in_%d", j.inbound-1)
			j.inbound--
			f = f[1:]
		}
		if len(f) < 3 {
			t.Fatalf("%s:%d: an sms line needs a phone and a text", filepath.Base(j.path), i+1)
		}
		text := j.ph.expand(t, i+1, strings.Join(f[2:], " "))
		phone := huduma.MSISDN(f[1])
		before := j.lastReply(phone)
		if code, body := j.env.postForm("/sms/africastalking/inbound?token="+testToken, atfake.IncomingSMSForm(id, f[1], "22222", text)); code != 200 {
			t.Fatalf("%s:%d: inbound sms: %d %s", filepath.Base(j.path), i+1, code, body)
		}
		if want, ewant, _ := j.expected(i); len(want) == 0 && len(ewant) == 0 {
			j.out = append(j.out, l)
			return i
		}
		// The replies are queued before the 200: they are the reply
		// messages newer than before.
		return j.check(i, "sms reply", j.smsReplies(i, phone, before))
	case f[0] == "wait" && len(f) == 4 && f[1] == "invoice":
		n := huduma.InvoiceNumber(j.ph.expand(t, i+1, f[2]))
		j.env.waitStatus(n, huduma.InvoiceStatus(f[3]), 10*time.Second)
		j.out = append(j.out, l)
		return i
	case f[0] == "outbox" && len(f) == 3:
		if _, ewant, _ := j.expected(i); j.ecitizen && (*update || strings.Join(ewant, "\n") == "(none)") {
			// The message is not sent there: none once the gateway has
			// drained.
			j.env.drain()
			if msgs := j.env.messagesOf(huduma.MSISDN(f[1]), huduma.MessageKind(f[2])); len(msgs) > 0 {
				return j.check(i, "outbox message", msgs[0].Body)
			}
			return j.check(i, "outbox message", "(none)")
		}
		m := j.newest(i, huduma.MSISDN(f[1]), huduma.MessageKind(f[2]))
		return j.check(i, "outbox message", m.Body)
	case f[0] == "count" && len(f) == 5 && f[1] == "outbox":
		want, _ := strconv.Atoi(f[4])
		got := j.settledCount(func() int { return len(j.env.messagesOf(huduma.MSISDN(f[2]), huduma.MessageKind(f[3]))) }, want)
		if got != want {
			t.Errorf("%s:%d: %d %s messages to %s, want %d", filepath.Base(j.path), i+1, got, f[3], f[2], want)
		}
		j.out = append(j.out, l)
		return i
	case f[0] == "count" && len(f) == 4 && f[1] == "pushes":
		want, _ := strconv.Atoi(f[3])
		n := huduma.InvoiceNumber(j.ph.expand(t, i+1, f[2]))
		got := j.settledCount(func() int { return j.env.promptsFor(n) }, want)
		if got != want {
			t.Errorf("%s:%d: %d prompts for %s, want %d", filepath.Base(j.path), i+1, got, f[2], want)
		}
		j.out = append(j.out, l)
		return i
	case f[0] == "state" && len(f) == 3:
		if got := j.sessionState(i, f[1]); got != f[2] {
			t.Errorf("%s:%d: the session of %s is stored in state %q, want %q", filepath.Base(j.path), i+1, f[1], got, f[2])
		}
		j.out = append(j.out, l)
		return i
	case f[0] == "sql":
		q := strings.TrimSpace(strings.TrimPrefix(l, "sql"))
		return j.check(i, "query "+q, strings.Join(queryRows(t, j.env.env, j.ph.expand(t, i+1, q)), "\n"))
	}
	t.Fatalf("%s:%d: cannot read %q", filepath.Base(j.path), i+1, l)
	return i
}

// hasDial reports whether a journey has a USSD session.
func hasDial(lines []string) bool {
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "dial" {
			return true
		}
	}
	return false
}

// lastReply is the id of the newest reply message to phone (0: none).
func (j *journey) lastReply(phone huduma.MSISDN) int64 {
	if msgs := j.env.messagesOf(phone, huduma.MessageReply); len(msgs) > 0 {
		return msgs[0].ID
	}
	return 0
}

// smsReplies are the replies to phone newer than message after, oldest
// first, each checked against the SMS rules (GSM-7, at most
// smschannel.MaxReplyParts parts, no word cut between two parts) and
// shown without the spaces that pad lines to part boundaries; several are
// separated by a "--" line, none is "(no reply)".
func (j *journey) smsReplies(i int, phone huduma.MSISDN, after int64) string {
	msgs := j.env.messagesOf(phone, huduma.MessageReply)
	var bodies []string
	for k := len(msgs) - 1; k >= 0; k-- {
		m := msgs[k]
		if m.ID <= after {
			continue
		}
		if !gsm7.Valid(m.Body) || gsm7.SMSParts(m.Body) > smschannel.MaxReplyParts {
			j.t.Fatalf("%s:%d: the reply breaks the SMS rules (%d parts):\n%s", filepath.Base(j.path), i+1, gsm7.SMSParts(m.Body), m.Body)
		}
		var inParts []string
		for _, p := range gsm7.SplitParts(m.Body) {
			inParts = append(inParts, strings.Fields(p)...)
		}
		if strings.Join(inParts, " ") != strings.Join(strings.Fields(m.Body), " ") {
			j.t.Fatalf("%s:%d: a word of the reply is cut between parts: %q", filepath.Base(j.path), i+1, gsm7.SplitParts(m.Body))
		}
		lines := strings.Split(m.Body, "\n")
		for n, l := range lines {
			lines[n] = strings.TrimRight(l, " ")
		}
		bodies = append(bodies, strings.Join(lines, "\n"))
	}
	if len(bodies) == 0 {
		return "(no reply)"
	}
	return strings.Join(bodies, "\n--\n")
}

// settledCount waits (up to 5 s) for count to reach want, then for the
// gateway to drain its prompts and texts, so that a duplicate, if there
// were one, would show.
func (j *journey) settledCount(count func() int, want int) int {
	for deadline := time.Now().Add(5 * time.Second); count() < want && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	j.env.drain()
	return count()
}

// newest waits for the newest outbox message of kind to phone.
func (j *journey) newest(i int, phone huduma.MSISDN, kind huduma.MessageKind) huduma.Message {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if msgs := j.env.messagesOf(phone, kind); len(msgs) > 0 {
			return msgs[0]
		}
		if time.Now().After(deadline) {
			j.t.Fatalf("%s:%d: no %s message to %s", filepath.Base(j.path), i+1, kind, phone)
		}
	}
}

// sessionState reads the stored state of phone's current session, as the
// gateway keeps it (Redis, or the in-process store).
func (j *journey) sessionState(i int, phone string) string {
	s := j.sessions[phone]
	if s == nil {
		j.t.Fatalf("%s:%d: %s never dialled", filepath.Base(j.path), i+1, phone)
	}
	ld, err := j.env.g.sessions.Load(context.Background(), sessions.Key{Provider: j.w.provider, Session: s.session, Phone: phone})
	if err != nil {
		j.t.Fatal(err)
	}
	if ld.Record.Version == 0 {
		return "(none)"
	}
	rec, err := ussd.Inspect(ld.Record.Value)
	if err != nil {
		j.t.Fatal(err)
	}
	return rec.State
}

// queryRows runs q on a gateway's database and returns its rows, columns
// joined by " | ".
func queryRows(t *testing.T, env map[string]string, q string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	driver, dsn := "sqlite", filepath.Join(env["HUDUMA_DATA_DIR"], "huduma.db")
	if dbURL := env["DATABASE_URL"]; dbURL != "" {
		driver, dsn = "pgx", dbURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for k := range vals {
			ptrs[k] = &vals[k]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, joinValues(vals))
	}
	return out
}

func joinValues(vals []any) string {
	parts := make([]string, len(vals))
	for k, v := range vals {
		switch x := v.(type) {
		case []byte:
			parts[k] = string(x)
		case nil:
			parts[k] = "NULL"
		default:
			parts[k] = fmt.Sprint(x)
		}
	}
	return strings.Join(parts, " | ")
}
