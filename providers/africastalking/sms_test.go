package africastalking_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	at "github.com/huduma-ke/huduma/providers/africastalking"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
)

func TestSMSSend(t *testing.T) {
	cases := []struct {
		label  string
		fault  func(f *atfake.Fake)
		key    string
		to     huduma.MSISDN
		want   error
		retry  time.Duration
		reason string
	}{
		{label: "success", key: "k"},
		{label: "recipient blacklisted", fault: func(f *atfake.Fake) { f.RecipientStatus(406) }, key: "k", want: at.ErrSMSPermanent, reason: "UserInBlacklist"},
		{label: "recipient gateway error", fault: func(f *atfake.Fake) { f.RecipientStatus(500) }, key: "k", want: at.ErrSMSRetryable},
		{label: "server error", fault: func(f *atfake.Fake) { f.FailNext(1, 500) }, key: "k", want: at.ErrSMSRetryable},
		{label: "throttled", fault: func(f *atfake.Fake) { f.Throttle("7") }, key: "k", want: at.ErrSMSThrottled, retry: 7 * time.Second},
		{label: "bad api key", key: "wrong", want: at.ErrSMSPermanent},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			f, err := atfake.Start("k")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if tc.fault != nil {
				tc.fault(f)
			}
			c := at.NewSMSClient(at.SMSConfig{Username: "sandbox", APIKey: tc.key, SenderID: "ECITIZEN", URL: f.SMSURL()}, &http.Client{})
			res, err := c.Send(context.Background(), "+254712345678", "OTP 123456")
			if tc.want == nil {
				if err != nil || res.MessageID == "" || res.StatusCode != 101 {
					t.Fatalf("send: %+v %v", res, err)
				}
				s := f.Sent()[0]
				if s.Username != "sandbox" || s.To != "+254712345678" || s.Message != "OTP 123456" || s.From != "ECITIZEN" ||
					s.BulkSMSMode != "1" || s.Enqueue != "1" || s.APIKey != "k" || s.Accept != "application/json" {
					t.Fatalf("wire request %+v", s)
				}
				return
			}
			var se *at.SMSError
			if !errors.Is(err, tc.want) || !errors.As(err, &se) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.retry != 0 && se.RetryAfter != tc.retry {
				t.Fatalf("retry after %s, want %s", se.RetryAfter, tc.retry)
			}
			if tc.reason != "" && se.Reason != tc.reason {
				t.Fatalf("reason %q, want %q", se.Reason, tc.reason)
			}
		})
	}
}

func TestSMSTimeoutAndURLs(t *testing.T) {
	c := at.NewSMSClient(at.SMSConfig{Username: "u", APIKey: "k", URL: "http://127.0.0.1:1/version1/messaging", Timeout: 500 * time.Millisecond}, nil)
	if _, err := c.Send(context.Background(), "+254712345678", "x"); !errors.Is(err, at.ErrSMSRetryable) {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestDecodeCallbacks(t *testing.T) {
	dlr, err := at.DecodeDeliveryReport(atfake.DeliveryReportForm("ATXid_1", "Failed", "+254712345678", "UserInBlackList"))
	if err != nil || dlr.ID != "ATXid_1" || dlr.FailureReason != "UserInBlackList" {
		t.Fatalf("dlr %+v %v", dlr, err)
	}
	if _, err := at.DecodeDeliveryReport(url.Values{"status": {"Success"}}); err == nil {
		t.Fatal("dlr without id accepted")
	}
	for status, want := range map[string]at.DeliveryState{"Success": {State: "delivered", Final: true}, "Sent": {State: "sent"},
		"Buffered": {State: "buffered"}, "Rejected": {State: "failed", Final: true}, "Wibble": {State: "unknown"}} {
		if got := at.MapDeliveryStatus(status); got != want {
			t.Errorf("%s → %+v, want %+v", status, got, want)
		}
	}
	in, err := at.DecodeIncomingSMS(atfake.IncomingSMSForm("m1", "0712345678", "2222", "STATUS 1234567890"))
	if err != nil || in.From != "+254712345678" || in.Text != "STATUS 1234567890" {
		t.Fatalf("incoming %+v %v", in, err)
	}
	for _, bad := range []url.Values{{"from": {"+254712345678"}}, {"id": {"x"}, "from": {"nope"}}, {"id": {"x"}, "from": {"+254712345678"}, "text": {"\xff"}}} {
		if _, err := at.DecodeIncomingSMS(bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}
