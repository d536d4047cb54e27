package huduma

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
)

func TestRedact(t *testing.T) {
	kannel := &url.Error{Op: "Get", URL: "http://127.0.0.1:13013/cgi-bin/sendsms?username=huduma&password=s3cret-pass&to=%2B254712345678&text=Your+eCitizen+code+is+123456",
		Err: errors.New("dial tcp 127.0.0.1:13013: connect: connection refused")}
	cases := []struct {
		in      string
		secrets []string
		want    string
		absent  []string
	}{
		{kannel.Error(), []string{"s3cret-pass"}, `Get "http://127.0.0.1:13013/cgi-bin/sendsms?[redacted]": dial tcp 127.0.0.1:13013: connect: connection refused`,
			[]string{"s3cret-pass", "254712345678", "123456", "username"}},
		{"https://user:pw@api.example.com/v1/x#frag", nil, "https://api.example.com/v1/x?[redacted]", []string{"user", "pw"}},
		{"InvalidPhoneNumber +254712345678, or 0712345678, or 254112345678", nil, "InvalidPhoneNumber +2547*****678, or 07*****678, or 2541*****678", nil},
		{"invoice 1234567890 amount 4600", nil, "invoice 1234567890 amount 4600", nil},
		{"apiKey=key with space", []string{"key with space"}, "apiKey=[redacted]", nil},
		{"token=a%2Bb", []string{"a+b"}, "token=[redacted]", nil},
		{strings.Repeat("x", 1000), nil, strings.Repeat("x", 297) + "...", nil},
	}
	for _, tc := range cases {
		got := Redact(tc.in, tc.secrets...)
		if got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		for _, a := range tc.absent {
			if strings.Contains(got, a) {
				t.Errorf("Redact(%q) keeps %q", tc.in, a)
			}
		}
	}
}

func TestRedactedErrorKeepsTheChain(t *testing.T) {
	sentinel := errors.New("provider down")
	inner := fmt.Errorf("%w: %w", sentinel, &url.Error{Op: "Post", URL: "http://h/p?password=pw", Err: context.DeadlineExceeded})
	err := RedactedError(inner, "pw")
	if !errors.Is(err, sentinel) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the redacted error lost its chain")
	}
	if strings.Contains(err.Error(), "pw") || !strings.Contains(err.Error(), "http://h/p?[redacted]") {
		t.Fatalf("error text %q", err.Error())
	}
	if RedactedError(nil) != nil || RedactError(nil) != "" {
		t.Fatal("nil must stay nil")
	}
}

func TestKnownSentence(t *testing.T) {
	known := []string{"Accepted for delivery", "Tried to change dlr_url to '%s', denied.", "Number(s) denied."}
	for _, tc := range []struct{ in, want string }{
		{"0: Accepted for delivery", "Accepted for delivery"},
		{"Tried to change dlr_url to 'https://h/p?token=abc%26x', denied.", "Tried to change dlr_url to '…', denied."},
		{"Number(s) denied. Denied receivers are: +254712345678", "Number(s) denied."},
		{"refused: Accepted for delivery", ""},
		{"Tried to change dlr_url to 'x'", ""},
		{"", ""},
	} {
		if got := KnownSentence(tc.in, known...); got != tc.want {
			t.Errorf("KnownSentence(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProviderWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bad Request - Invalid PhoneNumber", "Bad Request - Invalid PhoneNumber"},
		{"[STK_CB - ]DS timeout user cannot be reached", "[STK_CB - ]DS timeout user cannot be reached"},
		{"Internal error for 254712000207", ""},
		{"Bad Request - Invalid CallBackURL: https://h/payments/stk/callback?token=x", ""},
		{"Invalid CallBackURL http%3A%2F%2Fh", ""},
		{"Invalid token abcdefghijklmnopq", ""}, // a letters-only secret, named below
		{strings.Repeat("word ", 40), ""},
	} {
		if got := ProviderWords(tc.in, "abcdefghijklmnopq"); got != tc.want {
			t.Errorf("ProviderWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNetFailure(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://h/cgi-bin/sendsms?password=pw&to=%2B254712345678&text=Your+code+is+123456", Err: err}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), "connection refused"},
		{wrap(context.DeadlineExceeded), "timed out"},
		{wrap(&net.DNSError{Err: "no such host", Name: "h"}), "host not found"},
		{wrap(io.EOF), "connection closed before an answer"},
		{wrap(errors.New("something else")), "connection failed"},
	} {
		if got := NetFailure(tc.err); got != tc.want {
			t.Errorf("NetFailure(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
