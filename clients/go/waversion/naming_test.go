package waversion

import (
	"strings"
	"testing"
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
