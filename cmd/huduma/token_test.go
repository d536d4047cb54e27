package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// callbackSample is a request a provider would send to one callback
// route: accepted with the right token, and (when stores) leaving a row
// or a session behind, so the table proves its "nothing stored" check
// can see a write.
type callbackSample struct {
	contentType string
	// query is the route's own query string (GET-style aggregators).
	query  string
	body   func(i int) string
	stores bool
	// status, when set, is the answer the right token gets (a Kannel
	// report for a message not sent yet is 503, so smsbox retries it):
	// any other than 403 shows the request got past the token.
	status int
}

// callbackSamples holds a sample for every callback route a gateway can
// mount, by "METHOD path". A route mounted without an entry fails
// TestEveryCallbackRouteChecksTheToken, so a new route cannot escape it.
var callbackSamples = func() map[string]callbackSample {
	form := "application/x-www-form-urlencoded"
	hop := callbackSample{contentType: form, stores: true, body: func(i int) string {
		return url.Values{"sessionId": {fmt.Sprintf("ATUid_token_%d", i)}, "serviceCode": {"*2222#"}, "phoneNumber": {"+254712000700"},
			"networkCode": {"63902"}, "text": {""}}.Encode()
	}}
	jazaGet := callbackSample{stores: true, query: "SESSIONID=J-token&MSISDN=254712000701&USSDCODE=*2222%23&INPUT=", body: func(int) string { return "" }}
	jazaPost := callbackSample{contentType: form, stores: true, body: func(i int) string {
		return url.Values{"SESSIONID": {fmt.Sprintf("J-token-post-%d", i)}, "MSISDN": {"254712000702"}, "USSDCODE": {"*2222#"}, "INPUT": {""}}.Encode()
	}}
	kannel := callbackSample{query: "id=K-token-1&status=1", body: func(int) string { return "" }, status: http.StatusServiceUnavailable}
	c2b := func(i int) string {
		return fmt.Sprintf(`{"TransactionType":"Pay Bill","TransID":"TOKEN%05d","TransTime":"20261122103000","TransAmount":"70",`+
			`"BusinessShortCode":"174379","BillRefNumber":"nothing of ours","MSISDN":"2547 ***** 126","FirstName":"Jane"}`, i)
	}
	reversal := func(int) string {
		return `{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"done","OriginatorConversationID":"token-1","ConversationID":"AG_token","TransactionID":"RX00000009"}}`
	}
	return map[string]callbackSample{
		"POST /ussd/africastalking": hop,
		"POST /ussd/africastalking/events": {contentType: form, stores: true, body: func(i int) string {
			return url.Values{"sessionId": {fmt.Sprintf("ATUid_token_ev_%d", i)}, "status": {"Success"}, "phoneNumber": {"+254712000700"}}.Encode()
		}},
		"POST /ussd/hubtel": {contentType: "application/json", stores: true, body: func(i int) string {
			return fmt.Sprintf(`{"Type":"Initiation","Mobile":"254712000703","SessionId":"hub-token-%d","ServiceCode":"2222","Message":"*2222#"}`, i)
		}},
		"GET /ussd/jaza":  jazaGet,
		"POST /ussd/jaza": jazaPost,
		"POST /sms/africastalking/inbound": {contentType: form, stores: true, body: func(i int) string {
			return url.Values{"id": {fmt.Sprintf("in-token-%d", i)}, "from": {"+254712000704"}, "to": {"2222"}, "text": {"HELP"},
				"date": {"2026-11-22 10:00:00"}, "linkId": {"l1"}}.Encode()
		}},
		"POST /sms/africastalking/delivery": {contentType: form, body: func(int) string {
			return url.Values{"id": {"ATXid_token"}, "status": {"Success"}, "phoneNumber": {"+254712000704"}}.Encode()
		}},
		"GET /sms/kannel/inbound": {stores: true, query: "id=K-in-token&from=%2B254712000706&text=HELP&coding=0&charset=UTF-8",
			body: func(int) string { return "" }},
		"GET /sms/kannel/delivery":  kannel,
		"POST /sms/kannel/delivery": kannel,
		"POST /payments/stk/callback": {contentType: "application/json", stores: true, body: func(i int) string {
			return string(darajafake.CallbackBody("m-token", fmt.Sprintf("ws_CO_token_%d", i), darajafake.Outcomes["00"], "55", "254712000705", time.Now()))
		}},
		"POST /payments/c2b/validation":   {contentType: "application/json", body: c2b},
		"POST /payments/c2b/confirmation": {contentType: "application/json", stores: true, body: c2b},
		"POST /payments/reversal/result":  {contentType: "application/json", body: reversal},
		"POST /payments/reversal/timeout": {contentType: "application/json", body: reversal},
		"POST /payments/pull/notice":      {contentType: "application/json", stores: true, body: func(int) string { return `{"ResponseCode":"1000"}` }},
	}
}()

// publicRoute reports the routes that are not provider callbacks: the
// operators' probes and scrape, the agency API (its own bearer keys)
// and the web phone (off in these gateways).
func publicRoute(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/v1") || strings.HasPrefix(path, "/simulator")
}

// TestEveryCallbackRouteChecksTheToken: on every callback route the
// gateways really mount (USSD hops and events of every aggregator, the
// SMS providers' inbound and delivery routes, Daraja's STK, C2B,
// reversal and pull routes), a token that is missing, empty, one
// character short, one too long, a prefix, upper-cased, sent in a header
// or the body instead of the query, or preceded by a wrong one gets 403
// and stores nothing: no row in any table, no session. The same request
// with the token is let through (and stores what it should), so the
// table can tell.
func TestEveryCallbackRouteChecksTheToken(t *testing.T) {
	tok := testToken
	variants := []struct {
		name   string
		query  string
		header http.Header
		inBody bool
	}{
		{name: "no token"},
		{name: "empty", query: "token="},
		{name: "one character short", query: "token=" + url.QueryEscape(tok[:len(tok)-1])},
		{name: "one character extra", query: "token=" + url.QueryEscape(tok+"1")},
		{name: "a prefix", query: "token=" + url.QueryEscape(tok[:8])},
		{name: "upper-cased", query: "token=" + url.QueryEscape(strings.ToUpper(tok))},
		{name: "another name", query: "Token=" + url.QueryEscape(tok)},
		{name: "a wrong one first", query: "token=wrong&token=" + url.QueryEscape(tok)},
		{name: "in headers instead", header: http.Header{"Authorization": {"Bearer " + tok}, "X-Token": {tok}, "Token": {tok}}},
		{name: "in the body instead", inBody: true},
	}
	rdb := redis.NewClient(mustRedisOptions(t))
	defer rdb.Close()
	gateways := map[string]map[string]string{
		"africa's talking SMS": {"AT_USERNAME": "huduma", "AT_API_KEY": "at-key-for-the-token-test", "AT_SMS_URL": "http://" + testenv.FreeAddr(t) + "/version1/messaging"},
		"kannel SMS": {"KANNEL_SENDSMS_URL": "http://" + testenv.FreeAddr(t) + "/cgi-bin/sendsms", "KANNEL_USERNAME": "huduma",
			"KANNEL_PASSWORD": "kannel-password-for-the-token-test"},
	}
	covered := map[string]bool{}
	for name, sms := range gateways {
		t.Run(name, func(t *testing.T) {
			prefix := redisPrefix(t)
			env := map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": prefix,
				"HUDUMA_CALLBACK_TOKEN": tok, "HUDUMA_CGI_ROUTES": "jaza:session=SESSIONID,phone=MSISDN,code=USSDCODE,input=INPUT",
				"HUDUMA_HOP_RATE": "0", "HUDUMA_SMS_IN_RATE": "0"}
			for k, v := range sms {
				env[k] = v
			}
			simulatedOnPurpose(env)
			cfg, err := loadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			// No background workers: what is stored is stored by the request.
			g, err := newGateway(context.Background(), cfg, testLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer g.close()
			state := func() string {
				t.Helper()
				return tableCounts(t, g) + fmt.Sprintf(" redis keys=%d", redisKeys(t, rdb, prefix))
			}
			var routes []string
			for _, r := range g.server.App().GetRoutes(true) {
				if !publicRoute(r.Path) {
					routes = append(routes, r.Method+" "+r.Path)
				}
			}
			sort.Strings(routes)
			if len(routes) < 12 {
				t.Fatalf("only %d callback routes mounted: %v", len(routes), routes)
			}
			for i, route := range routes {
				sample, ok := callbackSamples[route]
				if !ok {
					t.Errorf("%s is mounted but has no sample in callbackSamples: add one, so its token check is tested", route)
					continue
				}
				covered[route] = true
				method, path, _ := strings.Cut(route, " ")
				send := func(n int, query string, header http.Header, tokenInBody bool) (int, string) {
					t.Helper()
					q := sample.query
					if query != "" {
						q = strings.TrimPrefix(q+"&"+query, "&")
					}
					target := path
					if q != "" {
						target += "?" + q
					}
					body := sample.body(i*100 + n)
					if tokenInBody {
						if sample.contentType == "application/json" {
							body = strings.Replace(body, "{", `{"token":"`+tok+`",`, 1)
						} else {
							body = strings.TrimPrefix(body+"&token="+url.QueryEscape(tok), "&")
						}
					}
					req := httptest.NewRequest(method, target, strings.NewReader(body))
					if sample.contentType != "" {
						req.Header.Set("Content-Type", sample.contentType)
					}
					for k, v := range header {
						req.Header[k] = v
					}
					resp, err := g.server.App().Test(req, -1)
					if err != nil {
						t.Fatalf("%s: %v", route, err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return resp.StatusCode, string(b)
				}
				before := state()
				for n, v := range variants {
					if code, body := send(n, v.query, v.header, v.inBody); code != http.StatusForbidden {
						t.Errorf("%s with the token %s: %d %q, want 403", route, v.name, code, body)
					}
				}
				if after := state(); after != before {
					t.Errorf("%s: refused requests stored something:\nbefore %s\nafter  %s", route, before, after)
				}
				// The control: with the token the same request is let
				// through, and stores what it stores.
				if code, body := send(len(variants), "token="+url.QueryEscape(tok), nil, false); code == http.StatusForbidden ||
					sample.status == 0 && code >= 500 || sample.status != 0 && code != sample.status {
					t.Errorf("%s with the right token: %d %q", route, code, body)
				}
				if after := state(); sample.stores && method != http.MethodHead && after == before {
					t.Errorf("%s with the right token stored nothing (%s): the sample cannot show a leak", route, after)
				}
			}
		})
	}
	for route := range callbackSamples {
		if !covered[route] {
			t.Errorf("callbackSamples has %s, which no gateway here mounts: remove it or mount it", route)
		}
	}
}

// tableCounts is the row count of every table of the gateway's embedded
// database, as one comparable string.
func tableCounts(t *testing.T, g *gateway) string {
	t.Helper()
	db := g.store.SQL()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	var b strings.Builder
	for _, tb := range tables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + tb + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", tb, n)
	}
	return strings.TrimSpace(b.String())
}

func mustRedisOptions(t *testing.T) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// redisKeys counts the keys under prefix but the active-sessions index:
// a background flush may write it at any moment after an earlier, accepted
// hop, which would make a refused request seem to have stored a key.
func redisKeys(t *testing.T, rdb *redis.Client, prefix string) int {
	t.Helper()
	n := 0
	iter := rdb.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		if iter.Val() != prefix+"active" {
			n++
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
