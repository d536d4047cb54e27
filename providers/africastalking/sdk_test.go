package africastalking_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	at "github.com/huduma-ke/huduma/providers/africastalking"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
)

// nodeSDK installs the official africastalking npm package (pinned in
// testdata/nodesdk/package-lock.json) into the test's own folder and
// returns that folder. Without node, npm or the registry the test skips
// loudly, or fails under CI.
func nodeSDK(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "nodesdk"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" is not installed (apt install nodejs npm)")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "africastalking", "package.json")); err == nil {
		return dir
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "npm ci in "+dir+" failed: "+err.Error()+"\n"+string(out))
	}
	return dir
}

type sdkOutcome struct {
	Label  string `json:"label"`
	OK     bool   `json:"ok"`
	Status int    `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		SMSMessageData struct {
			Message    string `json:"Message"`
			Recipients []struct {
				StatusCode int    `json:"statusCode"`
				Number     string `json:"number"`
				Status     string `json:"status"`
				MessageID  string `json:"messageId"`
			} `json:"Recipients"`
		} `json:"SMSMessageData"`
	} `json:"data"`
}

// TestOfficialNodeSDK drives the fake with africastalking@0.8.3 as a real
// client: the fake must accept exactly what the SDK sends and answer in a
// shape the SDK resolves. Our own client must then send the same fields,
// so the fake, the SDK and our client agree on one wire format.
func TestOfficialNodeSDK(t *testing.T) {
	dir := nodeSDK(t)
	const key = "sdk-test-api-key"
	f, err := atfake.Start(key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "send.js", f.SMSURL(), key, "wrong-key")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node send.js: %v\n%s", err, stderr.String())
	}
	got := map[string]sdkOutcome{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var o sdkOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("node output %q: %v", sc.Text(), err)
		}
		got[o.Label] = o
	}

	// What the SDK sent: the exact request the live send endpoint takes.
	sent := f.Sent()
	if len(sent) != 2 {
		t.Fatalf("the fake accepted %d SDK requests, want 2: %+v", len(sent), sent)
	}
	one := sent[0]
	want := atfake.Sent{Username: "sandbox", To: "+254700000000", Message: "OTP 1234", From: "ECITIZEN", BulkSMSMode: "1", Enqueue: "1",
		APIKey: key, Accept: "application/json"}
	if one.Username != want.Username || one.To != want.To || one.Message != want.Message || one.From != want.From ||
		one.BulkSMSMode != want.BulkSMSMode || one.Enqueue != want.Enqueue || one.APIKey != want.APIKey || one.Accept != want.Accept {
		t.Errorf("SDK request\n got %+v\nwant %+v", one, want)
	}
	if !strings.HasPrefix(one.ContentType, "application/x-www-form-urlencoded") {
		t.Errorf("SDK content type %q", one.ContentType)
	}
	if sent[1].To != "+254711000001,+254722000002" || sent[1].Message != "Receipt: KES 4,600 paid." || sent[1].Enqueue != "" {
		t.Errorf("SDK bulk request %+v", sent[1])
	}

	// What the SDK made of our answers.
	o := got["one"]
	if !o.OK || len(o.Data.SMSMessageData.Recipients) != 1 {
		t.Fatalf("SDK send one: %+v", o)
	}
	r := o.Data.SMSMessageData.Recipients[0]
	if r.StatusCode != 101 || r.Status != "Success" || r.Number != "+254700000000" || r.MessageID != one.MessageIDs[0] {
		t.Errorf("SDK recipient %+v", r)
	}
	if two := got["two"]; !two.OK || len(two.Data.SMSMessageData.Recipients) != 2 || !strings.HasPrefix(two.Data.SMSMessageData.Message, "Sent to 2/2") {
		t.Errorf("SDK send two: %+v", two)
	}
	if bad := got["badkey"]; bad.OK || bad.Status != http.StatusUnauthorized {
		t.Errorf("SDK with a wrong key: %+v, want a 401 rejection", bad)
	}

	// Our client sends the same fields the same way.
	c := at.NewSMSClient(at.SMSConfig{Username: "sandbox", APIKey: key, SenderID: "ECITIZEN", URL: f.SMSURL()}, nil)
	if _, err := c.Send(context.Background(), huduma.MSISDN("+254700000000"), "OTP 1234"); err != nil {
		t.Fatal(err)
	}
	ours := f.Sent()[2]
	ours.MessageIDs, ours.At, one.MessageIDs, one.At = nil, time.Time{}, nil, time.Time{}
	if !reflect.DeepEqual(ours, one) {
		t.Errorf("our client and the SDK differ\n ours %+v\n  sdk %+v", ours, one)
	}
}
