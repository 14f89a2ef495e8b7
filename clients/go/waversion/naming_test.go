package waversion

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestManagerIDs(t *testing.T) {
	for _, good := range []string{"gw-eu-7", "a", "A.b_c-9", strings.Repeat("x", 64)} {
		if err := CheckManagerID(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"", "gw 7", "gw:7", "gé", strings.Repeat("x", 65)} {
		if err := CheckManagerID(bad); err == nil || !strings.Contains(err.Error(), "manager id") {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

func TestTheDefaultManagerIDIsAValidHostPid(t *testing.T) {
	cases := map[string]string{
		"gw-eu-7":                "gw-eu-7-42",
		"my host.é":              "my_host._-42",
		"":                       "host-42",
		strings.Repeat("h", 100): strings.Repeat("h", 61) + "-42",
	}
	for host, want := range cases {
		if got := defaultManagerID(host, 42); got != want || CheckManagerID(got) != nil {
			t.Errorf("defaultManagerID(%q) = %q, want %q", host, got, want)
		}
	}
	if CheckManagerID(DefaultManagerID()) != nil {
		t.Errorf("DefaultManagerID() = %q, not a valid id", DefaultManagerID())
	}
}

func TestConnectionNames(t *testing.T) {
	if got := connectionName("gw-7", nil); got != "wav1:gw-7:go:-" {
		t.Errorf("before any version: %q", got)
	}
	held := Published{String: "2.3000.1026131876"}
	if got := connectionName("gw-7", &held); got != "wav1:gw-7:go:2.3000.1026131876" {
		t.Errorf("holding a version: %q", got)
	}
}

func TestAnInvalidManagerIDInTheEnvironmentIsAnError(t *testing.T) {
	t.Setenv("WA_MANAGER_ID", "gw 7")
	if _, err := resolveManagerID(""); err == nil || !strings.Contains(err.Error(), "WA_MANAGER_ID") {
		t.Errorf("WA_MANAGER_ID=\"gw 7\" accepted (%v)", err)
	}
	if id, err := resolveManagerID("gw-8"); id != "gw-8" || err != nil {
		t.Errorf("the given id does not win over the environment: %q, %v", id, err)
	}
	t.Setenv("WA_MANAGER_ID", "gw-9")
	if id, _ := resolveManagerID(""); id != "gw-9" {
		t.Errorf("WA_MANAGER_ID not taken: %q", id)
	}
}

func TestRenameDelaysAreDrawnFromTheContractsRange(t *testing.T) {
	f := &Follower{jitter: rand.New(rand.NewSource(time.Now().UnixNano()))}
	seen := map[time.Duration]bool{}
	for i := 0; i < 1000; i++ {
		delay := f.renameDelay()
		if delay < renameDelayMin || delay >= renameDelayMax {
			t.Fatalf("a rename delay of %v, outside [%v, %v)", delay, renameDelayMin, renameDelayMax)
		}
		seen[delay] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%d different delays in 1000: not spread", len(seen))
	}
}

func TestOneRenameIsPendingAtATimeAndStopDropsIt(t *testing.T) {
	n := &naming{}
	fired := make(chan int, 2)
	n.renameSoon(10*time.Millisecond, func() { fired <- 1 })
	n.renameSoon(10*time.Millisecond, func() { fired <- 2 }) // shares the pending one
	select {
	case got := <-fired:
		if got != 1 {
			t.Fatalf("rename %d ran, want the first", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pending rename never ran")
	}
	n.renameSoon(time.Hour, func() { fired <- 3 }) // the first ran: a new one is pending
	n.mu.Lock()
	pending := n.later != nil
	n.mu.Unlock()
	if !pending {
		t.Fatal("no rename pending after a change that followed a rename")
	}
	n.stop()
	n.renameSoon(time.Millisecond, func() { fired <- 4 }) // stopped: nothing is scheduled
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.later != nil || len(fired) != 0 {
		t.Fatalf("a rename after stop: pending %v, ran %d", n.later != nil, len(fired))
	}
}
