package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// logSink collects every log line the gateways in this package's tests
// write, at debug level, so TestMain can check none carries personal data
// (Kenya Data Protection Act).
var logSink = &syncBuffer{}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger is the logger every test gateway gets.
func testLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(logSink, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// secretsInTests are values the tests send that must never be logged:
// keys, tokens, the ID number and birth date the journeys type in.
var secretsInTests = []string{testToken, testPasskey, testAPIKey, testATKey, testKannelPassword, "huduma-kannel-secret", "payment-test-otp-secret",
	"12345678", "01011990"}

// personalData finds full Kenyan phone numbers (the domain always holds
// them as +254…, so that is how a leak would read; a bare 07… could be an
// invoice number) and OTP texts in log text. Masked numbers
// (+2547****5678) do not match.
var personalData = []*regexp.Regexp{
	regexp.MustCompile(`\+?254[17]\d{8}\b`),
	regexp.MustCompile(`code is \d{6}`),
}

// scanLogs returns the lines that leak, at most a few per rule.
func scanLogs(logs string) []string {
	var bad []string
	for _, line := range strings.Split(logs, "\n") {
		for _, re := range personalData {
			if m := re.FindString(line); m != "" {
				bad = append(bad, fmt.Sprintf("%q in %s", m, line))
			}
		}
		for _, s := range secretsInTests {
			// Digits count only as a whole number: an ID number inside an
			// invoice number is a coincidence, not a leak.
			if regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(s) + `($|[^0-9])`).MatchString(line) {
				bad = append(bad, fmt.Sprintf("secret %q in %s", s, line))
			}
		}
	}
	return bad
}

func TestMain(m *testing.M) {
	code := m.Run()
	logs := logSink.String()
	if bad := scanLogs(logs); len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "PRIVACY: %d log lines carry personal data or secrets:\n", len(bad))
		for i, b := range bad {
			if i == 20 {
				break
			}
			fmt.Fprintln(os.Stderr, "  ", b)
		}
		code = 1
	} else if code == 0 && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "privacy: %d bytes of gateway logs scanned, clean\n", len(logs))
	}
	os.Exit(code)
}

// TestLogScannerCatches proves the scan is not vacuous.
func TestLogScannerCatches(t *testing.T) {
	for _, line := range []string{`{"phone":"+254712345678"}`, `{"to":"254712345678"}`, `{"msg":"Your eCitizen code is 123456."}`, `{"key":"` + testAPIKey + `"}`} {
		if len(scanLogs(line)) == 0 {
			t.Errorf("the scan missed %s", line)
		}
	}
	if bad := scanLogs(`{"phone":"+2547****5678","invoice":"1234567894","amount":4600}`); len(bad) != 0 {
		t.Errorf("false alarm: %v", bad)
	}
	testLogger().Info("scanner self-check", "phone", "+2547****5678")
	if !strings.Contains(logSink.String(), "scanner self-check") {
		t.Fatal("the sink does not collect gateway logs")
	}
}
