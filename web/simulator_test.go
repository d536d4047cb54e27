package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
)

type fakeInbox struct{}

func (fakeInbox) Messages(context.Context, huduma.MSISDN, int) ([]huduma.Message, error) {
	return nil, nil
}

type recordTexts struct {
	got []string
	err error
}

func (r *recordTexts) Receive(_ context.Context, id string, from huduma.MSISDN, text string) error {
	r.got = append(r.got, id+"|"+string(from)+"|"+text)
	return r.err
}

// TestSimulatorTexts: the web phone's "text the service" hands a valid
// text to the inbox under an id of its own, and refuses bad input with a
// clear 400 before anything is received.
func TestSimulatorTexts(t *testing.T) {
	texts := &recordTexts{}
	s := New(Config{}, Deps{Hops: &fakeHops{}, Events: &fakeEvents{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountSimulator(SimulatorConfig{ServiceCode: "*2222#"}, fakeInbox{}, texts)
	send := func(body string) (int, string) {
		req := httptest.NewRequest("POST", SimulatorSMSPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := send(`{"id":"S1","phone":"0712345600","text":"  find passport "}`); code != 202 {
		t.Fatalf("a good text: %d %s", code, body)
	}
	if len(texts.got) != 1 || texts.got[0] != "sim-S1|+254712345600|find passport" {
		t.Fatalf("received %q", texts.got)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"id":"S2","phone":"12","text":"FIND"}`, "phone"},
		{`{"phone":"0712345600","text":"FIND"}`, "id"},
		{`{"id":"S 3","phone":"0712345600","text":"FIND"}`, "id"},
		{`{"id":"S4","phone":"0712345600","text":"   "}`, "text"},
		{`{"id":"S5","phone":"0712345600","text":"` + strings.Repeat("x", maxSimulatorSMS+1) + `"}`, "at most"},
		{`{"id":"S6","phone":"0712345600","text":"FIND","extra":1}`, "unknown field"},
		{`not json`, "invalid"},
	} {
		if code, body := send(tc.body); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%.60s: %d %s, want 400 naming %q", tc.body, code, body, tc.want)
		}
	}
	if len(texts.got) != 1 {
		t.Fatalf("bad input reached the inbox: %q", texts.got)
	}
	texts.err = errors.New("database down")
	if code, body := send(`{"id":"S7","phone":"0712345600","text":"FIND"}`); code != 500 || strings.Contains(body, "database") {
		t.Fatalf("an inbox failure: %d %s, want a bare 500", code, body)
	}

	// Without an inbox there is no route, and the page hides the form.
	s = New(Config{}, Deps{Hops: &fakeHops{}, Events: &fakeEvents{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountSimulator(SimulatorConfig{}, fakeInbox{}, nil)
	resp, _ := s.App().Test(httptest.NewRequest("GET", "/simulator/config.json", nil), -1)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"sms_url":""`) {
		t.Fatalf("config without texts: %s", b)
	}
}
