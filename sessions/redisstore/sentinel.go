package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// Sentinel URL schemes. Client libraries reuse redis:// with a
// master_name or master_set option, so one URL could mean a plain server
// or a Sentinel; a scheme of its own makes the operator's intent explicit and
// lets the config check tell the two apart.
const (
	sentinelScheme    = "redis+sentinel://"
	sentinelTLSScheme = "rediss+sentinel://"
	// DefaultSentinelPort is used for a Sentinel address without a port.
	DefaultSentinelPort = "26379"
)

// IsSentinelURL reports whether raw asks for Redis through Sentinel
// (redis+sentinel:// or rediss+sentinel://).
func IsSentinelURL(raw string) bool {
	return strings.HasPrefix(raw, sentinelScheme) || strings.HasPrefix(raw, sentinelTLSScheme)
}

// ParseSentinelURL reads a Sentinel URL:
//
//	redis+sentinel://[[user]:password@]host1[:26379],host2[:26379],…/<master-name>[/<db>][?sentinel_username=…&sentinel_password=…]
//
// The user and password are those of the Redis servers holding the data
// (the same as in a redis:// URL); sentinel_username and
// sentinel_password authenticate to the Sentinels when they have their
// own requirepass. rediss+sentinel:// speaks TLS to both, checking each
// host's certificate against its own name. Any other option is refused,
// so a typo is not silently ignored. Errors never quote the URL, which may
// hold a password.
//
// The result has no timeouts set; Open adds the hop-budget ones.
func ParseSentinelURL(raw string) (rueidis.ClientOption, error) {
	opt, err := parseSentinelURL(raw)
	if err != nil {
		return rueidis.ClientOption{}, err
	}
	return opt, nil
}

func parseSentinelURL(raw string) (opt rueidis.ClientOption, _ error) {
	var rest string
	switch {
	case strings.HasPrefix(raw, sentinelScheme):
		rest = raw[len(sentinelScheme):]
	case strings.HasPrefix(raw, sentinelTLSScheme):
		rest = raw[len(sentinelTLSScheme):]
		// No ServerName: crypto/tls then checks each dialled host's own name.
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		opt.Sentinel.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		return opt, errors.New("want a redis+sentinel:// or rediss+sentinel:// URL")
	}
	rest, query, _ := strings.Cut(rest, "?")
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		return opt, errors.New("a fragment (#…) has no meaning in a sentinel URL")
	}
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, pass, hasPass := strings.Cut(authority[:i], ":")
		var err error
		if opt.Username, err = url.PathUnescape(user); err != nil {
			return opt, errors.New("the user name is not valid percent-encoding")
		}
		if hasPass {
			if opt.Password, err = url.PathUnescape(pass); err != nil {
				return opt, errors.New("the password is not valid percent-encoding")
			}
		}
		authority = authority[i+1:]
	}
	if authority == "" {
		return opt, errors.New("no sentinel address: want host:port[,host:port…] after the scheme")
	}
	for _, a := range strings.Split(authority, ",") {
		addr, err := sentinelAddr(a)
		if err != nil {
			return opt, err
		}
		opt.InitAddress = append(opt.InitAddress, addr)
	}
	name, db, hasDB := strings.Cut(path, "/")
	if name == "" {
		return opt, errors.New("no master name: want …/<master-name>[/<db>] after the sentinel addresses")
	}
	var err error
	if opt.Sentinel.MasterSet, err = url.PathUnescape(name); err != nil {
		return opt, errors.New("the master name is not valid percent-encoding")
	}
	if hasDB {
		if opt.SelectDB, err = strconv.Atoi(db); err != nil || opt.SelectDB < 0 {
			return opt, fmt.Errorf("database %q after the master name: want a number such as 0", db)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return opt, errors.New("the options after ? are not a valid query string")
	}
	for k, v := range q {
		switch k {
		case "sentinel_username":
			opt.Sentinel.Username = v[len(v)-1]
		case "sentinel_password":
			opt.Sentinel.Password = v[len(v)-1]
		default:
			return opt, fmt.Errorf("unknown option %q (supported: sentinel_username, sentinel_password)", k)
		}
	}
	return opt, nil
}

// urlOptions are the query options a redis:// URL may carry; any other is
// refused, so a typo (or another client's option) is not silently ignored.
var urlOptions = map[string]bool{"db": true, "dial_timeout": true, "write_timeout": true, "client_name": true, "skip_verify": true}

// ParseURL reads a redis:// or rediss:// URL for one server:
//
//	redis[s]://[[user]:password@]host[:6379][/<db>][?db=…&dial_timeout=…&write_timeout=…&client_name=…&skip_verify=…]
//
// write_timeout is how long a connection may go without taking a write or
// answering before it is closed (500 ms unless set). Any other option is
// refused. Errors never quote the URL, which may hold a password.
func ParseURL(raw string) (rueidis.ClientOption, error) {
	if !strings.HasPrefix(raw, "redis://") && !strings.HasPrefix(raw, "rediss://") {
		return rueidis.ClientOption{}, errors.New("want a redis:// or rediss:// URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return rueidis.ClientOption{}, errors.New("not a valid URL (check the password's percent-encoding)")
	}
	for k := range u.Query() {
		if !urlOptions[k] {
			return rueidis.ClientOption{}, fmt.Errorf("unknown option %q (supported: db, dial_timeout, write_timeout, client_name, skip_verify)", k)
		}
	}
	opt, err := rueidis.ParseURL(raw)
	if err != nil {
		return rueidis.ClientOption{}, errors.New(strings.TrimPrefix(err.Error(), "redis: "))
	}
	return opt, nil
}

// sentinelAddr checks one host[:port] of the address list.
func sentinelAddr(a string) (string, error) {
	if a == "" {
		return "", errors.New("an empty sentinel address in the list")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		// No port (or a bare IPv6 literal in brackets): the default one.
		host, port = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]"), DefaultSentinelPort
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && !strings.HasPrefix(a, "[")) {
			return "", fmt.Errorf("sentinel address %q: want host:port", a)
		}
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("sentinel address %q: want host:port", a)
	}
	return net.JoinHostPort(host, port), nil
}
