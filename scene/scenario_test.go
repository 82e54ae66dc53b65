package scene

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt scenarios")

// TestScenarios runs every testdata/*.txt scenario. A scenario is a list of
// commands, each followed by "----" and its expected output up to a blank
// line (datadriven style). Run with -rewrite to update the expected blocks.
// After every tick the runner also replays each player's updates on a client
// mirror and checks it equals the brute-force view of the server's state.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenario(t, f) })
	}
}

type block struct {
	line    int
	cmd     string
	want    string
	comment []string // lines before the command
}

func parseScenario(t *testing.T, path string) []block {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	var cur *block
	var pre []string
	inOut := false
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case inOut && l == "":
			inOut = false
			blocks = append(blocks, *cur)
			cur = nil
		case inOut:
			cur.want += l + "\n"
		case cur != nil && l == "----":
			inOut = true
		case cur != nil:
			t.Fatalf("%s:%d: expected ---- after %q", path, n, cur.cmd)
		case l == "" || strings.HasPrefix(l, "#"):
			pre = append(pre, l)
		default:
			cur = &block{line: n, cmd: l, comment: pre}
			pre = nil
		}
	}
	if cur != nil {
		if !inOut {
			t.Fatalf("%s:%d: expected ---- after %q", path, cur.line, cur.cmd)
		}
		blocks = append(blocks, *cur)
	}
	return blocks
}

func runScenario(t *testing.T, path string) {
	blocks := parseScenario(t, path)
	h := &harness{t: t, cfg: Config{ID: "test", Width: 100 * Meter, Height: 100 * Meter, ViewRange: 10 * Meter, Seed: 1}}
	var sb strings.Builder
	for _, b := range blocks {
		got := h.run(b.line, b.cmd)
		if *rewrite {
			for _, c := range b.comment {
				sb.WriteString(c + "\n")
			}
			sb.WriteString(b.cmd + "\n----\n" + got + "\n")
			continue
		}
		if got != b.want {
			t.Errorf("%s:%d: %s\n--- got ---\n%s--- want ---\n%s", path, b.line, b.cmd, got, b.want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
