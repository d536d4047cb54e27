package texts

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/huduma-ke/huduma/gsm7"
)

// TestEveryTextIsShortGSM7 reads every Text literal in this package's
// source, so a string added anywhere in the catalogue is checked: both
// languages present, GSM-7 only, and no longer than one SMS.
func TestEveryTextIsShortGSM7(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	n := 0
	for _, f := range files {
		if filepath.Ext(f) != ".go" || len(f) > 8 && f[len(f)-8:] == "_test.go" {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(node ast.Node) bool {
			lit, ok := node.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "Text" {
				if _, isMap := lit.Type.(*ast.MapType); !isMap && lit.Type != nil {
					return true
				}
			}
			if len(lit.Elts) != 2 {
				return true
			}
			var pair []string
			for _, e := range lit.Elts {
				b, ok := e.(*ast.BasicLit)
				if !ok || b.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(b.Value)
				pair = append(pair, s)
			}
			n++
			for i, s := range pair {
				if s == "" {
					t.Errorf("%s: a Text lacks its %s", fset.Position(lit.Pos()), []string{"English", "Kiswahili"}[i])
				}
				if !gsm7.Valid(s) || len(s) > 160 {
					t.Errorf("%s: %q is not one short GSM-7 text", fset.Position(lit.Pos()), s)
				}
			}
			return true
		})
	}
	if n < 80 {
		t.Fatalf("found only %d texts; the scan is broken", n)
	}
}
