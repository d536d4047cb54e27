package smschannel

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

const phone = huduma.MSISDN("+254708374149")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestInboxKeywords: each text in, the reply queued; case, spaces and
// Kiswahili keywords; one reply per provider id. (The SMS channel's
// finding, invoicing and paying are chat_test.go's.)
func TestInboxKeywords(t *testing.T) {
	l, _ := ledgertest.OnClock(sqlitetest.Open(t))
	// Replies name the configured paybill and USSD code, not e-Citizen's.
	in := NewInbox(InboxDeps{Store: l, Catalog: l, Payments: payments.New(l, l, nil, payments.Config{}, quiet), Conversations: newConversations(t)},
		InboxConfig{Paybill: "174379", ServiceCode: "*384*22#"}, quiet)
	app, err := l.CreateApplication(context.Background(), huduma.Application{ServiceCode: 1001, ServiceName: "Passport (34 pages)", Phone: phone})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pending, _, err := l.CreateInvoice(context.Background(), huduma.InvoiceOrder{Invoice: huduma.Invoice{Number: huduma.NewInvoiceNumber(), ServiceCode: 1001,
		ServiceName: "Passport", Phone: phone, Fee: 4550, ConvenienceFee: 50, Total: 4600, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ text, reply string }{
		{"HELP", `^eCitizen by SMS: FIND <name>, .*Or dial \*384\*22#\.$`},
		{"status " + string(pending.Number), `PENDING\. Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account ` + string(pending.Number) + ` > KES 4,600 > PIN\.$`},
		{"  msaada ", `^eCitizen kwa SMS: TAFUTA`},
		{"", `^eCitizen by SMS: FIND`},
		{"what is this", `^eCitizen by SMS: FIND`},
		{"STATUS", `PENDING`}, // the invoice the phone last asked about
		{"STATUS 12", `not valid`},
		{"hali 12345", `^Nambari hiyo ya ankara si sahihi`},
		{"Status " + string(huduma.NewInvoiceNumber()), `^No invoice has that number`},
		{"app " + app.Number, `^Application ` + app.Number + ` \(Passport \(34 pages\)\): SUBMITTED since 22/11/2026`},
		{"OMBI   " + app.Number, `^Ombi ` + app.Number + ` .*IMEWASILISHWA`},
		{"APP", `^No application has that number`},
		{"Sitisha", `^Hutapokea tena`},
		{"START", `notices are on again`},
	}
	for i, tc := range cases {
		id := "in-" + string(rune('a'+i))
		for j := 0; j < 2; j++ { // AT retries: the second arrival is ignored
			if err := in.Receive(context.Background(), id, phone, tc.text); err != nil {
				t.Fatal(err)
			}
		}
		msgs, _ := l.Messages(context.Background(), phone, 100)
		if len(msgs) != i+1 {
			t.Fatalf("%q: %d replies in the outbox, want %d", tc.text, len(msgs), i+1)
		}
		if !regexp.MustCompile(tc.reply).MatchString(msgs[0].Body) || msgs[0].Kind != huduma.MessageReply {
			t.Errorf("%q: reply %q, want %s", tc.text, msgs[0].Body, tc.reply)
		}
		if len(msgs[0].Body) > 160 {
			t.Errorf("%q: reply is %d characters", tc.text, len(msgs[0].Body))
		}
	}
	if out, _ := l.OptedOut(context.Background(), phone); out {
		t.Fatal("STOP then START left the phone opted out")
	}
}
