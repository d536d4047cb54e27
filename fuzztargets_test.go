package huduma

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryFuzzTargetRuns: every fuzz target in the repository is in the
// Makefile's FUZZ_TARGETS (so CI's `make fuzz` runs it), every entry
// there names a target that exists, has a seed corpus in its package's
// testdata/fuzz, and is in docs/testing.md's list of what is fuzzed.
func TestEveryFuzzTargetRuns(t *testing.T) {
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?ms)^FUZZ_TARGETS = (.*?[^\\])$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("no FUZZ_TARGETS in the Makefile")
	}
	listed := map[string]bool{}
	for _, f := range strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " ")) {
		listed[f] = true
	}
	found := map[string]bool{}
	fuzzFunc := regexp.MustCompile(`^func (Fuzz\w+)\(`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || (strings.HasPrefix(d.Name(), ".") && path != ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fm := fuzzFunc.FindStringSubmatch(sc.Text()); fm != nil {
				found["./"+filepath.ToSlash(filepath.Dir(path))+":"+fm[1]] = true
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	for target := range found {
		if !listed[target] {
			t.Errorf("%s is not in the Makefile's FUZZ_TARGETS: CI never fuzzes it", target)
		}
	}
	for target := range listed {
		if !found[target] {
			t.Errorf("FUZZ_TARGETS names %s, which does not exist", target)
			continue
		}
		pkg, name, _ := strings.Cut(target, ":")
		if entries, err := os.ReadDir(filepath.Join(pkg, "testdata", "fuzz", name)); err != nil || len(entries) == 0 {
			t.Errorf("%s has no seed corpus in %s", target, filepath.Join(pkg, "testdata", "fuzz", name))
		}
		if !strings.Contains(string(doc), "`"+target+"`") {
			t.Errorf("docs/testing.md's list of fuzz targets lacks `%s`", target)
		}
	}
}
