package smschannel

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/notices"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/sessions/memstore"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
	"github.com/huduma-ke/huduma/texts"
)

func newConversations(t testing.TB) *memstore.Store {
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	return s
}

// TestParseText: keywords read whatever the case, spacing, glue or slip
// of the thumb; a pending question only yields to a keyword spelt right.
func TestParseText(t *testing.T) {
	for _, c := range []struct {
		text   string
		strict bool
		cmd    command // "" for none
		args   string
	}{
		{"FIND passport", false, cmdFind, "passport"},
		{"  find   birth  certificate ", false, cmdFind, "birth certificate"},
		{"Fnid pasport", false, cmdFind, "pasport"},
		{"FIND:passport", false, cmdFind, "passport"},
		{"tafuta pasipoti", false, cmdFind, "pasipoti"},
		{"TAFTA pasipoti", false, cmdFind, "pasipoti"},
		{"info 1001", false, cmdInfo, "1001"},
		{"INF0 1001", false, cmdInfo, "1001"}, // zero for O
		{"invoce 4001 12345", false, cmdInvoice, "4001 12345"},
		{"INVIOCE 4001", false, cmdInvoice, "4001"},
		{"Ankara 4001", false, cmdInvoice, "4001"},
		{"pay 1234567890", false, cmdPay, "1234567890"},
		{"PAY1234567890", false, cmdPay, "1234567890"},
		{"lipa 123 456 7890", false, cmdPay, "123 456 7890"},
		{"STATAS 1234567890", false, cmdStatus, "1234567890"},
		{"stauts", false, cmdStatus, ""},
		{"Hali", false, cmdStatus, ""},
		{"MSADA", false, cmdHelp, ""},
		{"Halo", false, cmdHelp, ""},
		{"lang sw", false, cmdLang, "sw"},
		{"LUGHA: EN", false, cmdLang, "EN"},
		{"STOP", false, cmdStop, ""},
		{"sitisha", false, cmdStop, ""},
		// STOP and START are never guessed; short words never are.
		{"STIP", false, "", ""}, {"STAR", false, "", ""}, {"PAI 1234567890", false, "", ""}, {"AP 5", false, "", ""},
		// Nothing like any keyword, or as close to two.
		{"passport", false, "", ""}, {"", false, "", ""}, {"12345678", false, "", ""}, {"😀", false, "", ""},
		// Answering a question: only an exact keyword interrupts it.
		{"Fnid passport", true, "", ""}, {"FIND passport", true, cmdFind, "passport"}, {"12345678", true, "", ""},
	} {
		p := parseText(c.text, c.strict)
		got := command("")
		if p.kw != nil {
			got = p.kw.cmd
		}
		if got != c.cmd || (got != "" && strings.Join(p.args, " ") != c.args) {
			t.Errorf("parseText(%q, strict %v) = %q %q, want %q %q", c.text, c.strict, got, p.args, c.cmd, c.args)
		}
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"FIND", "FIND", 0}, {"FNID", "FIND", 1}, {"FIN", "FIND", 1}, {"INVOCE", "INVOICE", 1}, {"INVIOCE", "INVOICE", 1}, {"ENVOYCE", "INVOICE", 2}, {"X", "INVOICE", 3}} {
		if got := distance(c.a, c.b, 2); got != c.d {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// chatEnv is an inbox on a real embedded ledger with the sample catalog,
// the real payments service and the in-process conversations.
type chatEnv struct {
	t     testing.TB
	l     ledgertest.Ledger
	st    InboxStore
	convs *memstore.Store
	in    *Inbox
	ids   int
}

func newChatEnv(t testing.TB, cfg InboxConfig, wrap func(InboxStore) InboxStore) *chatEnv {
	t.Helper()
	return newChatEnvPay(t, cfg, wrap, nil)
}

// newChatEnvPay is newChatEnv with setup run on the payments service
// before the inbox uses it (turning on a billing backend).
func newChatEnvPay(t testing.TB, cfg InboxConfig, wrap func(InboxStore) InboxStore, setup func(*payments.Service, ledgertest.Ledger)) *chatEnv {
	t.Helper()
	l := ledgertest.New(sqlitetest.OpenWithSample(t))
	var st InboxStore = l
	if wrap != nil {
		st = wrap(l)
	}
	if cfg.Paybill == "" {
		cfg.Paybill = "174379"
	}
	e := &chatEnv{t: t, l: l, st: st, convs: newConversations(t)}
	pay := payments.New(l, l, nil, payments.Config{Paybill: cfg.Paybill}, quiet)
	if setup != nil {
		setup(pay, l)
	}
	e.in = NewInbox(InboxDeps{Store: st, Catalog: l, Payments: pay, Conversations: e.convs}, cfg, quiet)
	return e
}

// replies are the replies queued to phone, oldest first.
func (e *chatEnv) replies(phone huduma.MSISDN) []huduma.Message {
	e.t.Helper()
	msgs, err := e.l.Messages(context.Background(), phone, 200)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []huduma.Message
	for k := len(msgs) - 1; k >= 0; k-- {
		if msgs[k].Kind == huduma.MessageReply {
			out = append(out, msgs[k])
		}
	}
	return out
}

// send texts from phone under a new id and returns the one reply it got,
// checked against the reply rules.
func (e *chatEnv) send(phone huduma.MSISDN, text string) string {
	e.t.Helper()
	e.ids++
	return e.sendID(phone, fmt.Sprintf("in-%d", e.ids), text)
}

func (e *chatEnv) sendID(phone huduma.MSISDN, id, text string) string {
	e.t.Helper()
	var last int64
	if r := e.replies(phone); len(r) > 0 {
		last = r[len(r)-1].ID
	}
	if err := e.in.Receive(context.Background(), id, phone, text); err != nil {
		e.t.Fatalf("%q: %v", text, err)
	}
	var got []huduma.Message
	for _, m := range e.replies(phone) {
		if m.ID > last {
			got = append(got, m)
		}
	}
	if len(got) != 1 {
		e.t.Fatalf("%q: %d new replies, want 1", text, len(got))
	}
	body := got[0].Body
	checkReply(e.t, text, body)
	return trimLines(body)
}

// sameWords reports whether a and b are the same words: a reply of two
// parts pads words across the boundary (gsm7.KeepWords).
func sameWords(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// trimLines drops the spaces at the ends of lines: the padding that keeps
// lines whole across parts (checked by checkReply), not the text.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for k, l := range lines {
		lines[k] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// checkReply holds a reply to the rules: GSM-7, at most MaxReplyParts,
// and no word cut between two parts.
func checkReply(t testing.TB, text, body string) {
	t.Helper()
	if !gsm7.Valid(body) || gsm7.SMSParts(body) > MaxReplyParts {
		t.Fatalf("%q: reply is not GSM-7 in at most %d parts (%d): %q", text, MaxReplyParts, gsm7.SMSParts(body), body)
	}
	var inParts []string
	for _, p := range gsm7.SplitParts(body) {
		inParts = append(inParts, strings.Fields(p)...)
	}
	if strings.Join(inParts, " ") != strings.Join(strings.Fields(body), " ") {
		t.Fatalf("%q: a word of the reply is cut between parts: %q", text, gsm7.SplitParts(body))
	}
}

func (e *chatEnv) pushJobs() int {
	e.t.Helper()
	jobs, err := e.l.Claim(context.Background(), 100, time.Hour, huduma.JobPush)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(jobs)
}

func (e *chatEnv) invoices(phone huduma.MSISDN) []huduma.Invoice {
	e.t.Helper()
	invs, err := e.l.InvoicesByPhone(context.Background(), phone, 0, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	return invs
}

func match(t *testing.T, what, got, pattern string) {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(got) {
		t.Fatalf("%s: reply\n%s\ndoes not match %s", what, got, pattern)
	}
}

var invoiceNo = regexp.MustCompile(`Invoice ([0-9]{10}):`)

// TestSMSChannel: find, details, an invoice with a missing input asked
// and a bad one refused, a prompt, a repeat id; the same rules as USSD.
func TestSMSChannel(t *testing.T) {
	e := newChatEnv(t, InboxConfig{ServiceCode: "*2222#"}, nil)
	const saf = huduma.MSISDN("+254708374149")

	got := e.send(saf, "FIND passport")
	match(t, "find", got, `^Results for 'passport':\n1001 Ordinary passport 34 pages KES 4550\n1002 Ordinary passport 50 pages KES 6050\n`)
	match(t, "find", got, `\nSend INFO and a code for details\.$`)
	if got2 := e.send(saf, "fnid   pasport"); !strings.Contains(got2, "1001 Ordinary passport 34 pages KES 4550") {
		t.Fatalf("a misspelt keyword and query: %q", got2)
	}
	if got := e.send(saf, "FIND zzqqxx"); got != "No service matches 'zzqqxx'. Send FIND and another word." {
		t.Fatalf("no match: %q", got)
	}
	got = e.send(saf, "INFO 1001")
	want := "Ordinary passport 34 pages (code 1001)\nDepartment of Immigration Services\nFee KES 4550 + KES 50 convenience fee = KES 4600.\n" +
		"To pay send: INVOICE 1001 <ID number> <Date of birth DDMMYYYY>"
	if got != want {
		t.Fatalf("info:\n%s\nwant\n%s", got, want)
	}
	for _, c := range []struct{ text, want string }{
		{"INFO 99999", "No service has code 99999. Send FIND and a word to find one."},
		{"INFO abc", "A service code is digits, e.g. INFO 1001. Send FIND and a word to find one."},
	} {
		if got := e.send(saf, c.text); got != c.want {
			t.Fatalf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	// INVOICE alone means the service last shown; the inputs are asked
	// one by one, each checked by the catalog's own rule.
	e.send(saf, "INFO 1001")
	for _, c := range []struct{ text, want string }{
		{"INVOICE", "Ordinary passport 34 pages: send your ID number."},
		{"12x", "That ID number is not valid. Use the 7 or 8 digits on your ID card. Send your ID number again."},
		{"12345678", "Ordinary passport 34 pages: send your Date of birth DDMMYYYY."},
	} {
		if got := e.send(saf, c.text); got != c.want {
			t.Fatalf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	e.ids++
	orderID := fmt.Sprintf("in-%d", e.ids)
	got = e.sendID(saf, orderID, "01011990")
	m := invoiceNo.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no invoice: %q", got)
	}
	n := m[1]
	if want := "Invoice " + n + ": Ordinary passport 34 pages, KES 4600. Send PAY " + n + " for an M-Pesa prompt. Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account " + n + " > KES 4,600 > PIN."; !sameWords(got, want) {
		t.Fatalf("invoice reply %q, want %q", got, want)
	}
	invs := e.invoices(saf)
	if len(invs) != 1 || invs[0].Total != 4600 || invs[0].ConvenienceFee != 50 || invs[0].Fields["id_number"] != "12345678" || invs[0].Fields["date_of_birth"] != "01011990" {
		t.Fatalf("invoices: %+v", invs)
	}
	// The repeat of the text that made it: nothing new.
	if err := e.in.Receive(context.Background(), orderID, saf, "01011990"); err != nil {
		t.Fatal(err)
	}
	if len(e.invoices(saf)) != 1 {
		t.Fatal("a repeated text made a second invoice")
	}
	// PAY alone pays it; a second PAY while the prompt is out is refused.
	if got := e.send(saf, "PAY"); got != "Check your phone: an M-Pesa prompt for KES 4600 (invoice "+n+") is on its way. Enter your PIN to pay." {
		t.Fatalf("pay: %q", got)
	}
	if got := e.send(saf, "pay "+n); !strings.HasPrefix(got, "A prompt for invoice "+n+" is already on its way.") {
		t.Fatalf("second pay: %q", got)
	}
	if jobs := e.pushJobs(); jobs != 1 {
		t.Fatalf("%d prompts queued, want 1", jobs)
	}
	// Check digits: a mistyped number is caught before any lookup.
	bad := n[:9] + string("0123456789"[(n[9]-'0'+1)%10])
	if got := e.send(saf, "PAY "+bad); got != "That invoice number is not valid. Send PAY and the 10-digit invoice number." {
		t.Fatalf("mistyped number: %q", got)
	}
	if got := e.send(saf, "STATUS"); got != "Invoice "+n+" is PENDING. Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account "+n+" > KES 4,600 > PIN." {
		t.Fatalf("status of the last invoice: %q", got)
	}
	// All inputs inline; a plate of two words; a keyword interrupts a question.
	if got := e.send(saf, "invoice 4001 12345"); !strings.HasPrefix(got, "Invoice ") || !strings.Contains(got, "Birth certificate, KES 55.") {
		t.Fatalf("inline invoice: %q", got)
	}
	if got := e.send(saf, "INVOICE 1001 12345678"); got != "Ordinary passport 34 pages: send your Date of birth DDMMYYYY." {
		t.Fatalf("one of two inputs inline: %q", got)
	}
	if got := e.send(saf, "INVOICE 1001 1234 01011990"); got != "That ID number is not valid. Use the 7 or 8 digits on your ID card. Send your ID number again." {
		t.Fatalf("a bad inline input: %q", got)
	}
	e.send(saf, "HELP")
	if got := e.send(saf, "01011990"); !strings.HasPrefix(got, "eCitizen by SMS: FIND") {
		t.Fatalf("after HELP the question is gone, so a date is not an answer: %q", got)
	}
	// A bare code is its details; a bare invoice number its status.
	if got := e.send(saf, "4001"); !strings.HasPrefix(got, "Birth certificate (code 4001)") {
		t.Fatalf("bare code: %q", got)
	}
	if got := e.send(saf, n); !strings.HasPrefix(got, "Invoice "+n+" is PENDING") {
		t.Fatalf("bare invoice number: %q", got)
	}
	// Not a word of it understood: the help text, never silence.
	if got := e.send(saf, "asdf qwer"); !strings.HasPrefix(got, "eCitizen by SMS: FIND <name>, INFO <code>") {
		t.Fatalf("unknown text: %q", got)
	}
	// No invoice SMS besides the replies.
	msgs, _ := e.l.Messages(context.Background(), saf, 200)
	for _, m := range msgs {
		if m.Kind != huduma.MessageReply {
			t.Fatalf("a %s message besides the replies: %q", m.Kind, m.Body)
		}
	}
}

// TestSMSChannelOtherNetwork: M-Pesa prompts reach Safaricom numbers
// only; an Airtel sender is told the paybill instead, and no prompt goes.
// TestSMSInputsMeanWhatTheySay: INVOICE checks each value for what it
// means with the validator the USSD screens and the API use: a date of
// birth that is no calendar day, or not yet, is refused and asked again
// with what to send, in the phone's language, and no invoice is made.
func TestSMSInputsMeanWhatTheySay(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	const saf = huduma.MSISDN("+254708374150")
	for _, c := range []struct{ text, want string }{
		{"INVOICE 1001 12345678 31021990", "That Date of birth DDMMYYYY is not valid. Use a real date as DDMMYYYY, e.g. 01011990. Send your Date of birth DDMMYYYY again."},
		{"12345678", "That Date of birth DDMMYYYY is not valid. Use a real date as DDMMYYYY, e.g. 01011990. Send your Date of birth DDMMYYYY again."},
		{"01012999", "That Date of birth DDMMYYYY is not valid. The date cannot be in the future. Send your Date of birth DDMMYYYY again."},
		{"01011850", "That Date of birth DDMMYYYY is not valid. The date cannot be over 120 years ago. Send your Date of birth DDMMYYYY again."},
		{"INVOICE 1001 123456 01011990", "That ID number is not valid. Use the 7 or 8 digits on your ID card. Send your ID number again."},
		{"LUGHA SW", "eCitizen itakuandikia kwa Kiswahili sasa, kwa SMS na kwenye *2222#."},
		{"ANKARA 1001 12345678 31021990", "Tarehe ya kuzaliwa DDMMYYYY si sahihi. Tumia tarehe halisi kama DDMMYYYY, k.m. 01011990. Tuma Tarehe ya kuzaliwa DDMMYYYY tena."},
	} {
		if got := e.send(saf, c.text); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if invs := e.invoices(saf); len(invs) != 0 {
		t.Fatalf("refused values made invoices: %+v", invs)
	}
}

// TestTrackingBySMS: APP and OMBI take the application's number or the
// number of the invoice that opened it; STATUS of a paid invoice names
// its application; the reply and the status-change notice name the
// service in the phone's language, whatever language the record kept.
func TestTrackingBySMS(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	ctx := context.Background()
	const en, sw = huduma.MSISDN("+254708374151"), huduma.MSISDN("+254708374152")
	paid := func(phone huduma.MSISDN, trans string) (huduma.Invoice, huduma.Application) {
		t.Helper()
		now := time.Now()
		inv := huduma.Invoice{Number: huduma.NewInvoiceNumber(), ServiceCode: 1001, ServiceName: "Ordinary passport 34 pages", Phone: phone,
			Fee: 4550, ConvenienceFee: 50, Total: 4600, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, _, err := e.l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.SettleC2B(ctx, huduma.C2BPayment{TransID: trans, Invoice: inv.Number, Amount: inv.Total}, nil); err != nil {
			t.Fatal(err)
		}
		app, err := e.l.ApplicationForInvoice(ctx, inv.Number)
		if err != nil {
			t.Fatal(err)
		}
		return inv, app
	}
	inv, app := paid(en, "TRK1")
	since := app.UpdatedAt.In(huduma.EAT).Format("02/01/2006")
	for _, c := range []struct{ text, want string }{
		{"APP " + app.Number, "Application " + app.Number + " (Ordinary passport 34 pages): SUBMITTED since " + since + "."},
		{"APP " + string(inv.Number), "Application " + app.Number + " (Ordinary passport 34 pages): SUBMITTED since " + since + "."},
		{"STATUS " + string(inv.Number), "Invoice " + string(inv.Number) + " is PAID (KES 4600), M-Pesa ref TRK1. Application " + app.Number + "."},
		{"APP 12", "No application has that number. Send APP and the application number, or the invoice number you paid."},
	} {
		if got := e.send(en, c.text); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	swInv, swApp := paid(sw, "TRK2")
	since = swApp.UpdatedAt.In(huduma.EAT).Format("02/01/2006")
	e.send(sw, "LUGHA SW")
	for _, c := range []struct{ text, want string }{
		{"OMBI " + string(swInv.Number), "Ombi " + swApp.Number + " (Pasipoti ya kawaida kurasa 34): IMEWASILISHWA tangu " + since + "."},
		{"APP " + swApp.Number, "Ombi " + swApp.Number + " (Pasipoti ya kawaida kurasa 34): IMEWASILISHWA tangu " + since + "."},
	} {
		if got := e.send(sw, c.text); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	// The agency moves it on: the notice speaks Kiswahili, the service's
	// name included.
	if err := e.l.SetLanguage(ctx, sw, huduma.Kiswahili); err != nil {
		t.Fatal(err)
	}
	moved, err := notices.NewApplications(e.l, e.l, e.l).UpdateApplication(ctx, swApp.Number, huduma.AppReady, "")
	if err != nil {
		t.Fatal(err)
	}
	since = moved.UpdatedAt.In(huduma.EAT).Format("02/01/2006")
	msgs, _ := e.l.Messages(ctx, sw, 20)
	if len(msgs) == 0 || msgs[0].Kind != huduma.MessageNotice || msgs[0].Body != "Ombi "+swApp.Number+" (Pasipoti ya kawaida kurasa 34): TAYARI KUCHUKULIWA tangu "+since+"." {
		t.Fatalf("status notice %+v", msgs)
	}
}

// TestSMSChannelOtherNetwork: an Airtel, an Equitel and a Telkom sender,
// who no M-Pesa prompt can reach, is told its own network's steps in both
// languages, for INVOICE, PAY and STATUS, and no prompt is queued; a
// Safaricom sender is prompted for the same invoice.
func TestSMSChannelOtherNetwork(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	how := texts.HowToPay{Paybill: "174379"}
	number := regexp.MustCompile(`^(?:Invoice|Ankara) ([0-9]{10}):`)
	var last string
	for _, c := range []struct {
		phone huduma.MSISDN
		net   huduma.Network
		step  string
	}{
		{"+254733123456", huduma.Airtel, "Airtel Money: *334# > Paybill & Till > Airtel Paybill > Government > e-Citizen > ref "},
		{"+254763123456", huduma.Equitel, "Equitel: My Money "},
		{"+254771123456", huduma.Telkom, "T-Kash"},
	} {
		if c.phone.Network() != c.net {
			t.Fatalf("%s is not on %s", c.phone, c.net)
		}
		for _, k := range []struct {
			lang                 huduma.Language
			invoice, pay, status string
		}{{huduma.English, "INVOICE", "PAY", "STATUS"}, {huduma.Kiswahili, "ANKARA", "LIPA", "HALI"}} {
			got := e.send(c.phone, k.invoice+" 4001 12345")
			m := number.FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("%s %s: no invoice: %q", c.net, k.lang, got)
			}
			inv := huduma.Invoice{Number: huduma.InvoiceNumber(m[1]), Total: 55}
			steps := how.For(c.phone, inv, k.lang)
			if !strings.Contains(steps, c.step) {
				t.Fatalf("%s %s: steps %q are not the network's", c.net, k.lang, steps)
			}
			name := map[huduma.Language]string{huduma.English: "Birth certificate", huduma.Kiswahili: "Cheti cha kuzaliwa"}[k.lang]
			if want := texts.SMSInvoiceSteps.F(k.lang, m[1], name, 55, steps); !sameWords(got, want) {
				t.Errorf("%s %s: invoice %q, want %q", c.net, k.lang, got, want)
			}
			if got, want := e.send(c.phone, k.pay+" "+m[1]), texts.SMSPaySteps.F(k.lang, steps); !sameWords(got, want) {
				t.Errorf("%s %s: pay %q, want %q", c.net, k.lang, got, want)
			}
			want := map[huduma.Language]string{huduma.English: "Invoice " + m[1] + " is PENDING. ", huduma.Kiswahili: "Ankara " + m[1] + " INASUBIRI. "}[k.lang] + steps
			if got := e.send(c.phone, k.status+" "+m[1]); !sameWords(got, want) {
				t.Errorf("%s %s: status %q, want %q", c.net, k.lang, got, want)
			}
			last = m[1]
		}
	}
	if e.pushJobs() != 0 {
		t.Fatal("a prompt was queued for a number no prompt reaches")
	}
	if got := e.send("+254708374149", "PAY "+last); !strings.HasPrefix(got, "Check your phone: an M-Pesa prompt for KES 55 (invoice "+last+")") {
		t.Fatalf("a Safaricom payer: %q", got)
	}
	if e.pushJobs() != 1 {
		t.Fatal("no prompt for the Safaricom payer")
	}
}

// TestSMSChannelLanguage: LANG SW sets the language USSD reads (the
// session store's) and the durable copy; replies follow the phone's
// choice over the keyword's language; a phone with no choice is answered
// in its keyword's.
func TestSMSChannelLanguage(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	const p = huduma.MSISDN("+254708374150")
	if got := e.send(p, "tafuta pasipoti"); !strings.HasPrefix(got, "Matokeo ya 'pasipoti':\n1001 Pasipoti ya kawaida kurasa 34 KES 4550") {
		t.Fatalf("a Kiswahili keyword: %q", got)
	}
	if got := e.send(p, "HELP"); !strings.HasPrefix(got, "eCitizen by SMS") {
		t.Fatalf("an English keyword, no choice made: %q", got)
	}
	if got := e.send(p, "LANG SW"); got != "eCitizen itakuandikia kwa Kiswahili sasa, kwa SMS na kwenye *2222#." {
		t.Fatalf("LANG SW: %q", got)
	}
	if lang, err := e.l.Language(context.Background(), p); err != nil || lang != huduma.Kiswahili {
		t.Fatalf("durable language %q %v", lang, err)
	}
	ld, err := e.convs.Load(context.Background(), sessions.Key{Provider: "africastalking", Session: "new", Phone: string(p)})
	if err != nil || ld.Language != "sw" {
		t.Fatalf("a new USSD session after LANG SW: %+v %v", ld, err)
	}
	for _, c := range []struct{ text, prefix string }{
		{"HELP", "eCitizen kwa SMS: TAFUTA"},
		{"INFO 4001", "Cheti cha kuzaliwa (nambari 4001)\nCivil Registration Services\nAda KES 50 + ada ya huduma KES 5 = KES 55.\nKulipa tuma: ANKARA 4001 <Nambari ya usajili wa kuzaliwa>"},
		{"INVOICE 4001", "Cheti cha kuzaliwa: tuma Nambari ya usajili wa kuzaliwa."},
		{"12a", "Nambari ya usajili wa kuzaliwa si sahihi. Tuma Nambari ya usajili wa kuzaliwa tena."},
		{"12345", "Ankara "},
		{"LIPA", "Angalia simu yako: ombi la M-Pesa la KES 55"},
		{"habari yako", "eCitizen kwa SMS"},
		{"LANG FR", "Tuma LUGHA SW kwa Kiswahili au LUGHA EN kwa Kiingereza."},
		{"lang en", "eCitizen will now write to you in English"},
		{"MSAADA", "eCitizen by SMS"},
	} {
		if got := e.send(p, c.text); !strings.HasPrefix(got, c.prefix) {
			t.Fatalf("%q: %q, want it to start %q", c.text, got, c.prefix)
		}
	}
	// A choice made on USSD is what the next text is answered in.
	if _, err := e.convs.Save(context.Background(), sessions.Key{Provider: "africastalking", Session: "u", Phone: string(p)}, 0,
		sessions.Write{Value: []byte("{}"), TTL: time.Minute, Language: "sw"}); err != nil {
		t.Fatal(err)
	}
	if got := e.send(p, "HELP"); !strings.HasPrefix(got, "eCitizen kwa SMS") {
		t.Fatalf("after Kiswahili chosen on USSD: %q", got)
	}
}

// TestSMSChannelStop: STOP holds notices, never the replies to what the
// phone itself asks.
func TestSMSChannelStop(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	const p = huduma.MSISDN("+254708374151")
	e.send(p, "STOP")
	if out, _ := e.l.OptedOut(context.Background(), p); !out {
		t.Fatal("STOP did not opt the phone out")
	}
	if got := e.send(p, "FIND birth"); !strings.Contains(got, "4001 Birth certificate KES 50") {
		t.Fatalf("FIND after STOP: %q", got)
	}
	e.send(p, "START")
	if out, _ := e.l.OptedOut(context.Background(), p); out {
		t.Fatal("START left the phone opted out")
	}
}

// TestSMSChannelDuplicatesRace: one text delivered sixteen times at once
// makes one invoice and one reply (the real Postgres and Redis version is
// cmd/huduma's TestSMSDuplicateInboundRace).
func TestSMSChannelDuplicatesRace(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	const p = huduma.MSISDN("+254708374152")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for k := 0; k < 16; k++ {
		wg.Go(func() { errs <- e.in.Receive(context.Background(), "dup-1", p, "INVOICE 4001 12345") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.invoices(p)); n != 1 {
		t.Fatalf("%d invoices from one text, want 1", n)
	}
	if n := len(e.replies(p)); n != 1 {
		t.Fatalf("%d replies to one text, want 1", n)
	}
}

// flakyStore fails chosen calls once, as a database that drops a
// connection would.
type flakyStore struct {
	InboxStore
	mu   sync.Mutex
	fail map[string]bool
}

func (f *flakyStore) failing(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[name] {
		f.fail[name] = false
		return true
	}
	return false
}

func (f *flakyStore) QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error {
	if f.failing("QueueMessage") {
		return errors.New("connection reset")
	}
	return f.InboxStore.QueueMessage(ctx, m, dedupe)
}

func (f *flakyStore) SetOptOut(ctx context.Context, phone huduma.MSISDN, out bool) error {
	if f.failing("SetOptOut") {
		return errors.New("connection reset")
	}
	return f.InboxStore.SetOptOut(ctx, phone, out)
}

// TestSMSChannelRetryAfterFailure: a failure after the invoice (the
// reply could not be queued) or after the save (the opt-out could not be
// written) returns an error, so the aggregator delivers the text again;
// the second delivery finishes the job without doing anything twice.
func TestSMSChannelRetryAfterFailure(t *testing.T) {
	var flaky *flakyStore
	e := newChatEnv(t, InboxConfig{}, func(s InboxStore) InboxStore {
		flaky = &flakyStore{InboxStore: s, fail: map[string]bool{"QueueMessage": true, "SetOptOut": true}}
		return flaky
	})
	const p = huduma.MSISDN("+254708374153")
	ctx := context.Background()
	if err := e.in.Receive(ctx, "r-1", p, "INVOICE 4001 12345"); err == nil {
		t.Fatal("a failed reply was not reported")
	}
	if len(e.invoices(p)) != 1 || len(e.replies(p)) != 0 {
		t.Fatalf("after the failure: %d invoices, %d replies", len(e.invoices(p)), len(e.replies(p)))
	}
	if err := e.in.Receive(ctx, "r-1", p, "INVOICE 4001 12345"); err != nil {
		t.Fatal(err)
	}
	if invs, replies := e.invoices(p), e.replies(p); len(invs) != 1 || len(replies) != 1 || !strings.Contains(replies[0].Body, string(invs[0].Number)) {
		t.Fatalf("after the retry: %d invoices, replies %v", len(invs), replies)
	}
	if err := e.in.Receive(ctx, "r-2", p, "STOP"); err == nil {
		t.Fatal("a failed opt-out was not reported")
	}
	if out, _ := e.l.OptedOut(ctx, p); out || len(e.replies(p)) != 1 {
		t.Fatal("the failed STOP was half done")
	}
	if err := e.in.Receive(ctx, "r-2", p, "STOP"); err != nil {
		t.Fatal(err)
	}
	if out, _ := e.l.OptedOut(ctx, p); !out || len(e.replies(p)) != 2 {
		t.Fatal("the retried STOP did not finish")
	}
	// Once answered, a repeat is dropped before anything is read.
	if err := e.in.Receive(ctx, "r-2", p, "STOP"); err != nil || len(e.replies(p)) != 2 {
		t.Fatalf("a third delivery: %v, %d replies", err, len(e.replies(p)))
	}
}

// TestSMSChannelRateCap: beyond the per-phone cap a phone is told once
// to slow down and its texts are not handled; other phones are not
// affected.
func TestSMSChannelRateCap(t *testing.T) {
	e := newChatEnv(t, InboxConfig{PerMinute: 1, Burst: 2}, nil)
	const p, other = huduma.MSISDN("+254708374154"), huduma.MSISDN("+254708374155")
	ctx := context.Background()
	for k := 0; k < 5; k++ {
		if err := e.in.Receive(ctx, fmt.Sprintf("cap-%d", k), p, "INVOICE 4001 12345"); err != nil {
			t.Fatal(err)
		}
	}
	replies := e.replies(p)
	if len(replies) != 3 || !strings.HasPrefix(replies[2].Body, "Too many messages from this phone.") {
		t.Fatalf("replies over the cap: %v", replies)
	}
	if n := len(e.invoices(p)); n != 2 {
		t.Fatalf("%d invoices, want 2 (the burst)", n)
	}
	if got := e.send(other, "HELP"); !strings.HasPrefix(got, "eCitizen by SMS") {
		t.Fatalf("another phone: %q", got)
	}
}

// TestSMSChannelCapSparesStopAndHelp: a phone over its cap still gets
// STOP honoured and HELP answered, in every form the inbox reads them
// (any case, glued, Kiswahili, the greetings), and a slip of STOP is
// answered with the help text, which says how to stop; the cap still
// holds back everything else.
func TestSMSChannelCapSparesStopAndHelp(t *testing.T) {
	e := newChatEnv(t, InboxConfig{PerMinute: 1, Burst: 2}, nil)
	ctx := context.Background()
	phones := 0
	// overCap returns a new phone that has used its burst and been told
	// to slow down.
	overCap := func() huduma.MSISDN {
		phones++
		p := huduma.MSISDN(fmt.Sprintf("+2547083742%02d", phones))
		for k := 0; k < 3; k++ {
			if err := e.in.Receive(ctx, fmt.Sprintf("use-%s-%d", p, k), p, "FIND birth"); err != nil {
				t.Fatal(err)
			}
		}
		if r := e.replies(p); len(r) != 3 || !strings.HasPrefix(r[2].Body, "Too many messages") {
			t.Fatalf("%s is not over its cap: %v", p, r)
		}
		return p
	}
	// last is the phone's newest reply after sending text.
	last := func(p huduma.MSISDN, text string) string {
		t.Helper()
		if err := e.in.Receive(ctx, "x-"+string(p)+"-"+text, p, text); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		r := e.replies(p)
		return r[len(r)-1].Body
	}
	stopEN, stopSW := texts.StopSMS.T(huduma.English), texts.StopSMS.T(huduma.Kiswahili)
	helpEN, helpSW := texts.HelpSMS(huduma.English, "*2222#"), texts.HelpSMS(huduma.Kiswahili, "*2222#")
	for _, c := range []struct {
		text, reply string
		optedOut    bool
	}{
		{"STOP", stopEN, true},
		{"stop", stopEN, true},
		{"  Stop. ", stopEN, true},
		{"STOP!", stopEN, true},
		{"STOP:all", stopEN, true},
		{"SITISHA", stopSW, true},
		{"sitisha tafadhali", stopSW, true},
		{"STPO", helpEN, false},
		{"SOTP", helpEN, false},
		{"STOPP", helpEN, false},
		{"SITSHA", helpEN, false},
		{"HELP", helpEN, false},
		{"help me", helpEN, false},
		{"hlep", helpEN, false},
		{"MSAADA", helpSW, false},
		{"msada", helpSW, false},
		{"Hi", helpEN, false},
		{"HALO", helpSW, false},
	} {
		p := overCap()
		if got := last(p, c.text); got != c.reply {
			t.Errorf("%q over the cap: %q, want %q", c.text, got, c.reply)
		}
		if out, err := e.l.OptedOut(ctx, p); err != nil || out != c.optedOut {
			t.Errorf("%q over the cap: opted out %v (%v), want %v", c.text, out, err, c.optedOut)
		}
	}
	// The exemptions take nothing from the cap, and the cap still holds.
	p := overCap()
	for k := 0; k < 5; k++ {
		last(p, fmt.Sprintf("HELP %d", k))
	}
	before := len(e.replies(p))
	for _, text := range []string{"FIND passport", "START", "INVOICE 4001 12345", "STATUS", "LANG SW", "passport"} {
		if err := e.in.Receive(ctx, "held-"+text, p, text); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.replies(p); len(r) != before || len(e.invoices(p)) != 0 {
		t.Fatalf("over the cap, other texts were answered: %d replies after %d, %d invoices", len(r), before, len(e.invoices(p)))
	}
}

// failReplies fails queueing the reply to one text a number of times, as
// a database blip would, so the aggregator delivers the text again.
type failReplies struct {
	InboxStore
	mu    sync.Mutex
	key   string
	fails int
}

func (f *failReplies) QueueMessage(ctx context.Context, m huduma.Message, dedupe string) error {
	f.mu.Lock()
	fail := dedupe == f.key && f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		return errors.New("connection reset")
	}
	return f.InboxStore.QueueMessage(ctx, m, dedupe)
}

// TestSMSChannelCapCountsATextOnce: the deliveries of one text, however
// many (retries after a failure, or at once), take one place under the
// cap: the text is answered, never told to slow down for its own
// repeats, and the phone's next text still fits.
func TestSMSChannelCapCountsATextOnce(t *testing.T) {
	const p = huduma.MSISDN("+254708374250")
	var fr *failReplies
	e := newChatEnv(t, InboxConfig{PerMinute: 1, Burst: 2}, func(s InboxStore) InboxStore {
		fr = &failReplies{InboxStore: s, key: "sms:" + string(p) + ":t-1", fails: 4}
		return fr
	})
	ctx := context.Background()
	for k := 0; k < 4; k++ {
		if err := e.in.Receive(ctx, "t-1", p, "FIND birth"); err == nil {
			t.Fatalf("delivery %d: the failed reply was not reported", k+1)
		}
	}
	if err := e.in.Receive(ctx, "t-1", p, "FIND birth"); err != nil {
		t.Fatal(err)
	}
	if r := e.replies(p); len(r) != 1 || !strings.HasPrefix(r[0].Body, "Results for 'birth'") {
		t.Fatalf("after five deliveries of one text: %v", r)
	}
	if got := e.send(p, "INFO 4001"); !strings.HasPrefix(got, "Birth certificate (code 4001)") {
		t.Fatalf("the second text within the burst: %q", got)
	}
	if err := e.in.Receive(ctx, "t-3", p, "INFO 1001"); err != nil {
		t.Fatal(err)
	}
	if r := e.replies(p); len(r) != 3 || !strings.HasPrefix(r[2].Body, "Too many messages") {
		t.Fatalf("the third text, beyond the burst of 2: %v", r)
	}

	// Twelve deliveries of one text at once, from a phone with room for
	// one: one answer, and no "too many" for the repeats.
	const q = huduma.MSISDN("+254708374251")
	e2 := newChatEnv(t, InboxConfig{PerMinute: 1, Burst: 1}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for k := 0; k < 12; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e2.in.Receive(ctx, "burst-1", q, "FIND passport")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !strings.Contains(err.Error(), "conflicting updates") {
			t.Fatal(err)
		}
	}
	if err := e2.in.Receive(ctx, "burst-1", q, "FIND passport"); err != nil {
		t.Fatal(err)
	}
	if r := e2.replies(q); len(r) != 1 || !strings.HasPrefix(r[0].Body, "Results for 'passport'") {
		t.Fatalf("twelve deliveries of one text at once: %d replies %v", len(r), r)
	}
}

// TestEveryReplyFits sends every keyword, in both languages, with and
// without arguments, through the rules checked on each reply.
func TestEveryReplyFits(t *testing.T) {
	e := newChatEnv(t, InboxConfig{}, nil)
	texts := []string{"FIND a", "FIND certificate", "TAFUTA cheti", "FIND police", "FIND licence", "INFO 1001", "INFO 2001", "MAELEZO 2001",
		"INFO", "INVOICE", "ANKARA", "PAY", "LIPA", "STATUS", "HALI", "APP", "OMBI", "HELP", "MSAADA", "LANG", "LUGHA", "STOP", "START", "x"}
	for _, phone := range []huduma.MSISDN{"+254708374156", "+254733123457"} {
		for _, text := range texts {
			e.send(phone, text)
		}
	}
}

// FuzzInboxText: whatever a phone texts, in whatever state its
// conversation is, it gets exactly one reply within the SMS rules.
func FuzzInboxText(f *testing.F) {
	for _, s := range []string{"FIND passport", "INVOICE 1001", "12345678", "fnid", "PAY", "LANG SW", "INFO", "1001", "STATUS:1", "", "😀 ☺", "INVOICE 2001 12345678 abc 123"} {
		f.Add(s)
	}
	e := newChatEnv(f, InboxConfig{}, nil)
	f.Fuzz(func(t *testing.T, text string) {
		e.t = t
		got := e.send("+254708374149", text)
		if strings.TrimSpace(got) == "" {
			t.Fatalf("%q: an empty reply", text)
		}
	})
}

// TestSMSServiceWithoutECitizenID: with NeedServiceID (the ecitizen
// billing backend), INFO for a service the catalog has no e-Citizen
// service ID for says how to pay it instead of how to invoice it, and
// INVOICE says it cannot be paid here yet, asks for nothing and makes no
// invoice, in both languages; a service with an ID, and every service
// with the flag off, is invoiced as before.
func TestSMSServiceWithoutECitizenID(t *testing.T) {
	const saf = huduma.MSISDN("+254708374160")
	on := newChatEnv(t, InboxConfig{NeedServiceID: true}, nil)
	for _, k := range []struct {
		lang          huduma.Language
		info, invoice string
		name          string
	}{{huduma.English, "INFO", "INVOICE", "KRA PIN registration"}, {huduma.Kiswahili, "MAELEZO", "ANKARA", "Usajili wa PIN ya KRA"}} {
		got := on.send(saf, k.info+" 9001")
		if !strings.HasSuffix(got, "\n"+texts.SMSInfoNotPayable.T(k.lang)) || strings.Contains(got, "INVOICE") || strings.Contains(got, "ANKARA") {
			t.Errorf("%s: info %q", k.lang, got)
		}
		want := texts.SMSNotPayable.F(k.lang, k.name, 9001)
		for _, text := range []string{k.invoice + " 9001", k.invoice + " 9001 12345678", k.invoice} {
			if got := on.send(saf, text); got != want {
				t.Errorf("%s: %q: %q, want %q", k.lang, text, got, want)
			}
		}
		// Nothing was asked: a reply is not read as an ID number.
		if got := on.send(saf, "12345678"); strings.HasPrefix(got, "Invoice") || strings.HasPrefix(got, "Ankara") {
			t.Errorf("%s: an answer after the refusal made an invoice: %q", k.lang, got)
		}
	}
	if invs := on.invoices(saf); len(invs) != 0 {
		t.Fatalf("%d invoices for a service not payable here", len(invs))
	}
	if got := on.send(saf, "INVOICE 4001 12345"); !invoiceNo.MatchString(got) {
		t.Fatalf("a service with an ID: %q", got)
	}
	off := newChatEnv(t, InboxConfig{}, nil)
	if got := off.send(saf, "INFO 9001"); !strings.Contains(got, "To pay send: INVOICE 9001 <ID number>") {
		t.Fatalf("flag off, info: %q", got)
	}
	if got := off.send(saf, "INVOICE 9001 12345678"); !invoiceNo.MatchString(got) {
		t.Fatalf("flag off, invoice: %q", got)
	}
}

var anyInvoiceNo = regexp.MustCompile(`(?:Invoice|Ankara) ([0-9]{10}):`)

// failingBiller is an e-Citizen failing every checkout with its code:
// unavailable (the checkout job retries) or invalid (it gives up at once
// and texts the payer); every invoice stays unbilled.
type failingBiller string

func (b failingBiller) CreateBill(context.Context, providers.BillOrder) (providers.CreatedBill, error) {
	return providers.CreatedBill{}, huduma.Errorf(string(b), "e-Citizen failed the checkout")
}

// TestSMSPayBeforeBilled: on the ecitizen backend, PAY from the invoice's
// own Safaricom phone before e-Citizen has billed it says the bill number
// comes by SMS (no prompt can exist before the bill), in both languages,
// and never that a prompt is already on its way; once the checkout gave
// up, it says the invoice could not be billed instead.
func TestSMSPayBeforeBilled(t *testing.T) {
	for _, code := range []string{huduma.EUnavailable, huduma.EInvalid} {
		t.Run(code, func(t *testing.T) { testSMSPayBeforeBilled(t, code) })
	}
}

func testSMSPayBeforeBilled(t *testing.T, code string) {
	const saf = huduma.MSISDN("+254708374170")
	e := newChatEnvPay(t, InboxConfig{NeedServiceID: true, ServiceCode: "*2222#"}, nil, func(p *payments.Service, l ledgertest.Ledger) {
		p.EnableBilling(failingBiller(code), l)
	})
	for _, k := range []struct {
		lang           huduma.Language
		lang2, invoice string
		pay            string
	}{{huduma.English, "LANG EN", "INVOICE", "PAY"}, {huduma.Kiswahili, "LUGHA SW", "ANKARA", "LIPA"}} {
		e.send(saf, k.lang2)
		m := anyInvoiceNo.FindStringSubmatch(e.send(saf, k.invoice+" 4001 12345"))
		if m == nil {
			t.Fatalf("%s: no invoice", k.lang)
		}
		n := huduma.InvoiceNumber(m[1])
		if inv, err := e.l.Invoice(context.Background(), n); err != nil || inv.Bill != "" {
			t.Fatalf("%s: %+v %v: billed by an e-Citizen that is down", k.lang, inv, err)
		}
		want := texts.SMSPayBillComing.F(k.lang, n)
		if code == huduma.EInvalid {
			want = texts.CheckoutFailedSMS(huduma.Invoice{Number: n, Language: k.lang}, "*2222#")
		}
		for _, text := range []string{k.pay + " " + string(n), k.pay} {
			if got := e.send(saf, text); got != want {
				t.Errorf("%s: %q: %q, want %q", k.lang, text, got, want)
			}
		}
	}
}
