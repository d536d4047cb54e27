package redisstore

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSentinelURL(t *testing.T) {
	for _, c := range []struct {
		url                                string
		addrs                              []string
		master                             string
		db                                 int
		user, pass, sentinelUser, sentinel string
		tls                                bool
	}{
		{url: "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/huduma",
			addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"}, master: "huduma"},
		{url: "redis+sentinel://:s%40cret@s1,s2:26380/mymaster/2",
			addrs: []string{"s1:26379", "s2:26380"}, master: "mymaster", db: 2, pass: "s@cret"},
		{url: "redis+sentinel://app:pw@[::1]:26379,[fe80::1]/m?sentinel_password=sp&sentinel_username=su",
			addrs: []string{"[::1]:26379", "[fe80::1]:26379"}, master: "m", user: "app", pass: "pw", sentinelUser: "su", sentinel: "sp"},
		{url: "rediss+sentinel://s1.example.ke:26379/huduma/0",
			addrs: []string{"s1.example.ke:26379"}, master: "huduma", tls: true},
	} {
		o, err := ParseSentinelURL(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if !reflect.DeepEqual(o.InitAddress, c.addrs) || o.Sentinel.MasterSet != c.master || o.SelectDB != c.db || o.Username != c.user ||
			o.Password != c.pass || o.Sentinel.Username != c.sentinelUser || o.Sentinel.Password != c.sentinel ||
			(o.TLSConfig != nil) != c.tls || (o.Sentinel.TLSConfig != nil) != c.tls {
			t.Errorf("%s: got addrs %v master %q db %d user %q pass %q sentinel %q/%q tls %v", c.url, o.InitAddress, o.Sentinel.MasterSet, o.SelectDB,
				o.Username, o.Password, o.Sentinel.Username, o.Sentinel.Password, o.TLSConfig != nil)
		}
		if o.TLSConfig != nil && o.TLSConfig.ServerName != "" {
			t.Errorf("%s: a fixed TLS server name %q would fail every other host", c.url, o.TLSConfig.ServerName)
		}
	}
	for url, want := range map[string]string{
		"redis://127.0.0.1:6379/0":                         "want a redis+sentinel://",
		"redis+sentinel:///huduma":                         "no sentinel address",
		"redis+sentinel://s1:26379":                        "no master name",
		"redis+sentinel://s1:26379/":                       "no master name",
		"redis+sentinel://s1:26379,,s2/huduma":             "empty sentinel address",
		"redis+sentinel://s1:port/huduma":                  `sentinel address "s1:port"`,
		"redis+sentinel://s1:99999/huduma":                 "want host:port",
		"redis+sentinel://::1/huduma":                      "want host:port",
		"redis+sentinel://s1/huduma/zero":                  `database "zero"`,
		"redis+sentinel://s1/huduma/0?master_name=other":   `unknown option "master_name"`,
		"redis+sentinel://s1/huduma?dial_timeout=10s":      `unknown option "dial_timeout"`,
		"redis+sentinel://:bad%zzsecret@s1/huduma":         "password is not valid",
		"redis+sentinel://s1/huduma#frag":                  "fragment",
		"redis+sentinel://s1/huduma?sentinel_password=%zz": "not a valid query",
	} {
		_, err := ParseSentinelURL(url)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error quotes the password: %v", url, err)
		}
	}
}

func TestParseURL(t *testing.T) {
	o, err := ParseURL("rediss://app:s%40cret@r1.example.ke:6380/2?write_timeout=2s&client_name=huduma")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.InitAddress) != 1 || o.InitAddress[0] != "r1.example.ke:6380" || o.SelectDB != 2 || o.Username != "app" ||
		o.Password != "s@cret" || o.TLSConfig == nil || o.ConnWriteTimeout != 2*time.Second || o.ClientName != "huduma" {
		t.Fatalf("got %+v", o)
	}
	for url, want := range map[string]string{
		"redis+sentinel://s1/huduma":         "want a redis://",
		"redis://h:6379/0?pool_size=10":      `unknown option "pool_size"`,
		"redis://h:6379/zero":                "invalid database number",
		"redis://:bad%zzsecret@h:6379/0":     "not a valid URL",
		"redis://h:6379/0?dial_timeout=soon": "invalid dial timeout",
	} {
		_, err := ParseURL(url)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error quotes the password: %v", url, err)
		}
	}
}
