package huduma_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The direction of imports (docs/architecture.md draws it): the domain at
// the centre imports nothing of the house; the services around it speak
// interfaces they declare; the adapters (stores, session stores, providers,
// the HTTP edge) implement those interfaces and see only the domain and
// their own contract; cmd/huduma alone wires concrete adapters to
// services. Each rule below names who may not import what, and why.

// importRule forbids packages matching from to import packages matching
// to. Paths are relative to the module ("" is the domain).
type importRule struct {
	name     string
	from, to func(pkg string) bool
	// allow spares a pair the rule would otherwise catch (nil: none).
	allow func(from, to string) bool
	why   string
}

// in matches a package and everything under it.
func in(roots ...string) func(string) bool {
	return func(p string) bool {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, r+"/") {
				return true
			}
		}
		return false
	}
}

// is matches exactly the packages named.
func is(names ...string) func(string) bool {
	return func(p string) bool {
		for _, n := range names {
			if p == n {
				return true
			}
		}
		return false
	}
}

func anything(string) bool { return true }

// not matches what m does not.
func not(m func(string) bool) func(string) bool { return func(p string) bool { return !m(p) } }

// providerOf is the provider package p belongs to ("providers/daraja" for
// providers/daraja/darajafake), or "" outside providers/*.
func providerOf(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || parts[0] != "providers" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// fake reports whether p is a provider's test double (its name ends in
// "fake"): a stand-in for the provider's far side, not part of the gateway.
func fake(p string) bool { return strings.HasSuffix(p, "fake") }

// services are the packages that decide what the gateway does, behind
// interfaces they declare.
var services = in("payments", "outbox", "otp", "notices", "smschannel", "menus", "ussd")

// testHelpers exist for tests; no gateway code may depend on them.
var testHelpers = in("internal/ledgertest", "internal/memledger", "internal/moneyprop", "internal/fakesms", "internal/fakempesa",
	"internal/testenv", "internal/promtest", "store/storetest", "store/schematest", "store/sqlitestore/sqlitetest",
	"sessions/sessionstest", "providers/providertest")

var importRules = []importRule{
	{name: "domain-imports-nothing", from: is(""), to: anything,
		why: "the domain is the centre: every package may import it, so it imports none of them"},
	{name: "contracts-see-only-the-domain", from: is("providers"), to: not(is("")),
		why: "the provider contracts are what adapters implement; they speak domain types only"},
	{name: "providers-see-only-their-contract", from: func(p string) bool { return providerOf(p) != "" },
		to: in("store", "sessions", "payments", "outbox", "otp", "notices", "smschannel", "menus", "ussd", "web", "metrics", "catalog", "texts"),
		why: "a provider turns a wire format into domain values and calls back through the contract's interfaces; " +
			"it never reaches a store, a session or a service"},
	{name: "no-provider-reaches-into-another", from: func(p string) bool { return providerOf(p) != "" },
		to:    func(p string) bool { return providerOf(p) != "" },
		allow: func(from, to string) bool { return providerOf(from) == providerOf(to) || (fake(from) && fake(to)) },
		why: "each provider is one package plus one import line, so none may depend on another's internals " +
			"(test doubles may share a fake's conventions)"},
	{name: "services-speak-interfaces", from: services,
		to: func(p string) bool {
			return in("store", "web", "sessions/memstore", "sessions/redisstore")(p) || providerOf(p) != ""
		},
		why: "a service declares the interfaces it uses; cmd/huduma hands it the concrete store, session store or provider"},
	{name: "stores-only-load-and-write", from: in("store"),
		to:  in("payments", "outbox", "otp", "notices", "smschannel", "menus", "ussd", "web", "providers", "sessions", "texts"),
		why: "the store loads, locks and writes what the domain decided; wording and decisions are not its business"},
	{name: "session-stores-stand-alone", from: in("sessions"), to: not(func(p string) bool { return p == "" || in("sessions")(p) }),
		why: "a session store keeps hop state; it knows nothing of money, texts or providers"},
	{name: "the-edge-is-thin", from: in("web"),
		to: func(p string) bool {
			return in("store", "payments", "outbox", "otp", "notices", "smschannel", "menus", "ussd")(p) || providerOf(p) != ""
		},
		why: "handlers decode, call a service through an interface, and encode; they own no rule"},
	{name: "test-helpers-stay-in-tests", from: func(p string) bool { return !in("internal", "bench")(p) && !testHelpers(p) }, to: testHelpers,
		why: "gateway code must not depend on what exists only to test it"},
}

// broken returns the rules the import from → to breaks.
func broken(from, to string) []string {
	var out []string
	for _, r := range importRules {
		if r.from(from) && r.to(to) && (r.allow == nil || !r.allow(from, to)) {
			out = append(out, r.name)
		}
	}
	return out
}

// TestImportRulesCatch: each rule catches the import it is there for and
// lets the house's ordinary imports through, so the table cannot pass by
// matching nothing.
func TestImportRulesCatch(t *testing.T) {
	for _, c := range []struct {
		from, to string
		want     string // "" = allowed
	}{
		{"", "store/sqlstore", "domain-imports-nothing"},
		{"", "gsm7", "domain-imports-nothing"},
		{"providers", "breaker", "contracts-see-only-the-domain"},
		{"providers", "", ""},
		{"providers/daraja", "payments", "providers-see-only-their-contract"},
		{"providers/kannel", "smschannel", "providers-see-only-their-contract"},
		{"providers/africastalking", "store/sqlstore", "providers-see-only-their-contract"},
		{"providers/daraja", "providers", ""},
		{"providers/kannel", "providers/africastalking", "no-provider-reaches-into-another"},
		{"providers/daraja", "providers/daraja/darajafake", ""},
		{"providers/ecitizen/ecitizenfake", "providers/daraja/darajafake", ""},
		{"providers/ecitizen", "providers/daraja", "no-provider-reaches-into-another"},
		{"payments", "store/sqlstore", "services-speak-interfaces"},
		{"smschannel", "providers/africastalking", "services-speak-interfaces"},
		{"outbox", "providers", ""},
		{"smschannel", "sessions", ""},
		{"ussd", "sessions/redisstore", "services-speak-interfaces"},
		{"store/sqlstore", "texts", "stores-only-load-and-write"},
		{"store/pgstore", "payments", "stores-only-load-and-write"},
		{"store/sqlstore", "gsm7", ""},
		{"sessions/redisstore", "store/sqlstore", "session-stores-stand-alone"},
		{"sessions/memstore", "sessions", ""},
		{"web", "payments", "the-edge-is-thin"},
		{"web", "providers", ""},
		{"cmd/huduma", "internal/ledgertest", "test-helpers-stay-in-tests"},
		{"payments", "internal/memledger", "test-helpers-stay-in-tests"},
		{"store/storetest", "internal/ledgertest", ""},
		{"bench/load", "internal/ledgertest", ""},
		{"cmd/huduma", "store/pgstore", ""},
		{"cmd/huduma", "providers/daraja/darajafake", ""},
	} {
		got := strings.Join(broken(c.from, c.to), ",")
		if got != c.want {
			t.Errorf("%q importing %q breaks [%s], want [%s]", c.from, c.to, got, c.want)
		}
	}
}

// TestImportsPointInward: no package's code (tests aside) imports against
// the rules.
func TestImportsPointInward(t *testing.T) {
	mod := modulePath(t)
	imports := map[string]map[string]bool{} // package → module packages it imports
	eachGoFile(t, func(path string) error {
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			pkg = ""
		}
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, s := range f.Imports {
			p, _ := strconv.Unquote(s.Path.Value)
			if p == mod {
				imports[pkg][""] = true
			} else if rest, ok := strings.CutPrefix(p, mod+"/"); ok {
				imports[pkg][rest] = true
			}
		}
		return nil
	})
	if len(imports) < 20 || len(imports["cmd/huduma"]) == 0 {
		t.Fatalf("read %d packages; the walk missed the house", len(imports))
	}
	why := map[string]string{}
	for _, r := range importRules {
		why[r.name] = r.why
	}
	var bad []string
	for from, tos := range imports {
		for to := range tos {
			for _, name := range broken(from, to) {
				bad = append(bad, name+": "+show(from)+" imports "+show(to)+" ("+why[name]+")")
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// show names a module-relative package for a message.
func show(p string) string {
	if p == "" {
		return "the domain (huduma)"
	}
	return p
}

// modulePath reads the module's path from go.mod.
func modulePath(t *testing.T) string {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(p)
		}
	}
	t.Fatal("go.mod names no module")
	return ""
}

// TestCommentsStayInTheRepo: no Go comment sends the reader to a document
// outside the repository (the product's specification, the wire
// reference); the fact is written where it is needed, or in docs/.
func TestCommentsStayInTheRepo(t *testing.T) {
	outside := []string{"SPEC " + "§", "SPEC" + ".md", "protocols" + ".md"}
	eachGoFile(t, func(path string) error {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, g := range f.Comments {
			for _, c := range g.List {
				for _, o := range outside {
					if strings.Contains(c.Text, o) {
						t.Errorf("%s: a comment cites %q, outside the repository", fset.Position(c.Pos()), o)
					}
				}
			}
		}
		return nil
	})
}

// eachGoFile calls visit with every Go file of the module (testdata,
// vendored JavaScript and hidden directories aside); an error stops the
// test.
func eachGoFile(t *testing.T, visit func(path string) error) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != "." && (n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		return visit(path)
	})
	if err != nil {
		t.Fatal(err)
	}
}
