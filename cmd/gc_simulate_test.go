package cmd

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runSimulate(t *testing.T, args ...string) (simJSON, string) {
	t.Helper()
	out, errOut, code := gcRunCmd(t, nil, append([]string{"gc", "simulate"}, args...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
	}
	var doc simJSON
	if strings.Contains(strings.Join(args, " "), "-o json") {
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v printed %q: %v", args, out, err)
		}
	}
	return doc, out
}

func TestGCSimulateModel(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		never     bool
		sweepsPH  float64
		ageMean   float64 // seconds
		unbounded bool
	}{
		{"defaults 1/100 at 10 req/s", []string{"--rate", "10", "--maxlifetime", "1440"}, false, 360, 1450, true},
		{"debian: probability 0", []string{"--rate", "10", "--probability", "0", "--divisor", "1000"}, true, 0, 0, true},
		{"debian with a 30m cron", []string{"--rate", "10", "--probability", "0", "--cron", "30m", "--maxlifetime", "24m"}, false, 0, 1440 + 900, false},
		{"divisor 0 before 8.4: every request", []string{"--rate", "2", "--divisor", "0", "--php-version", "8.2", "--maxlifetime", "60"}, false, 7200, 60.5, true},
		{"divisor 0 refused by 8.4", []string{"--rate", "2", "--divisor", "0", "--php-version", "8.4", "--maxlifetime", "60"}, false, 72, 110, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--no-save-path", "--new-session-rate", "1", "--duration", "0", "-o", "json"}, tt.args...)
			doc, _ := runSimulate(t, args...)
			if len(doc.Models) != 1 {
				t.Fatalf("models %+v", doc.Models)
			}
			a := doc.Models[0].Analysis
			if a.Never != tt.never || math.Abs(a.SweepRate-tt.sweepsPH) > 1e-6 || a.AgeAtDeletion.Unbounded != tt.unbounded {
				t.Errorf("never %v, sweeps/h %v, unbounded %v; want %v %v %v", a.Never, a.SweepRate, a.AgeAtDeletion.Unbounded, tt.never, tt.sweepsPH, tt.unbounded)
			}
			if !tt.never && math.Abs(a.AgeAtDeletion.Mean.Seconds()-tt.ageMean) > 0.01 {
				t.Errorf("mean age %v s, want %v", a.AgeAtDeletion.Mean.Seconds(), tt.ageMean)
			}
		})
	}
}

func TestGCSimulateHumanAndMonteCarlo(t *testing.T) {
	args := []string{"gc", "simulate", "--no-save-path", "--rate", "5", "--probability", "1", "--divisor", "50", "--maxlifetime", "24m,1h,1d", "--new-session-rate", "0.5", "--duration", "2d"}
	r := runTTY(t, args...)
	for _, w := range []string{"sweeps per hour 360 [", "MAXLIFETIME", "24m", "1h", "1d", "unbounded", "Monte Carlo", "files on disk", "────"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("output lacks %q:\n%s", w, r.out)
		}
	}
	// In a pipe the models' table is tab-separated rows, the maxlifetimes
	// in seconds as its first row, no header or rule.
	_, out := runSimulate(t, args[2:]...)
	for _, w := range []string{"\nmaxlifetime_seconds\t1440\t3600\t86400\n", "\nage at deletion: p99\t", "\nfiles on disk (steady)\t"} {
		if !strings.Contains(out, w) {
			t.Errorf("piped output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "MAXLIFETIME") || strings.Contains(out, "────") {
		t.Errorf("piped output has a header or rule:\n%s", out)
	}
	_, out = runSimulate(t, "--no-save-path", "--rate", "5", "--probability", "0")
	if !strings.Contains(out, "NEVER COLLECTED") || !strings.Contains(out, "Debian") {
		t.Errorf("no verdict:\n%s", out)
	}
	// A 2; save_path: PHP's GC does nothing there.
	dir := t.TempDir()
	doc, _ := runSimulate(t, "--save-path", "2;"+dir, "--rate", "5", "-o", "json", "--duration", "0")
	if !doc.Models[0].Analysis.Never || doc.Depth != 2 {
		t.Errorf("2; layout not flagged: %+v", doc.Models[0].Analysis)
	}
}

func TestGCSimulateSavePath(t *testing.T) {
	dir := t.TempDir()
	// 30 files last written in the last 24 minutes, 5 older than an hour, 2
	// older than a day.
	for i := range 30 {
		sessFile(t, filepath.Join(dir, "sess_n"+string(rune('a'+i%26))+string(rune('a'+i/26))), 10, time.Duration(i)*45*time.Second)
	}
	for i := range 5 {
		sessFile(t, filepath.Join(dir, "sess_h"+string(rune('a'+i))), 100, 2*time.Hour)
	}
	for i := range 2 {
		sessFile(t, filepath.Join(dir, "sess_d"+string(rune('a'+i))), 1000, 3*24*time.Hour)
	}
	doc, _ := runSimulate(t, "--save-path", dir, "--maxlifetime", "1440,3600,86400", "--rate", "1", "--duration", "0", "-o", "json")
	sp := doc.SavePath
	if sp == nil || sp.Files != 37 || sp.Bytes != 300+500+2000 {
		t.Fatalf("save_path %+v", sp)
	}
	want := []simSweepNow{{1440, 7, 2500}, {3600, 7, 2500}, {86400, 2, 2000}}
	for i, w := range want {
		if sp.SweepNow[i] != w {
			t.Errorf("sweep now %d: %+v, want %+v", i, sp.SweepNow[i], w)
		}
	}
	var total int64
	for _, b := range sp.Histogram {
		total += b.Files
	}
	if total != 37 {
		t.Errorf("histogram holds %d files", total)
	}
	// 30 files within the first maxlifetime (1440 s) → 30/1440 per second.
	if r := sp.Rate; r == nil || r.Files != 30 || math.Abs(r.PerSecond-30.0/1440) > 1e-9 {
		t.Errorf("rate %+v", sp.Rate)
	}
	if doc.NewSessionRate != sp.Rate.PerSecond || !strings.Contains(doc.NewSessionSource, "estimated") {
		t.Errorf("estimate not used: %v (%s)", doc.NewSessionRate, doc.NewSessionSource)
	}
	_, out := runSimulate(t, "--save-path", dir, "--rate", "1", "--duration", "0")
	for _, w := range []string{"would delete now", "█", "new-session rate", "37 files"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	// A save_path given explicitly that does not exist is an error.
	if _, errOut, code := gcRunCmd(t, nil, "gc", "simulate", "--save-path", filepath.Join(dir, "nope")); code != 1 || errOut == "" {
		t.Errorf("missing save_path: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"--rate", "-1"}, {"--maxlifetime", "1h,x"}, {"--php-version", "eight"}} {
		if _, _, code := gcRunCmd(t, nil, append([]string{"gc", "simulate", "--no-save-path"}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
