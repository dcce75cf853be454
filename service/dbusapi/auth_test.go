package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// The bus is asked once per unique name, never about a name whose answer
// was an error, and the memory stays bounded however many names call.
func TestCallersAsksOncePerName(t *testing.T) {
	asked := map[string]int{}
	c := callers{ask: func(_ context.Context, sender string) (uint32, error) {
		asked[sender]++
		if sender == ":1.bad" {
			return 0, errors.New("no such name")
		}
		return uint32(len(sender)), nil
	}}
	for range 3 {
		for _, sender := range []string{":1.7", ":1.42", ":1.bad"} {
			uid, err := c.uid(context.Background(), sender)
			switch {
			case sender == ":1.bad" && err == nil:
				t.Fatalf("%s: no error", sender)
			case sender != ":1.bad" && (err != nil || uid != uint32(len(sender))):
				t.Fatalf("%s: uid %d, %v", sender, uid, err)
			}
		}
	}
	for sender, want := range map[string]int{":1.7": 1, ":1.42": 1, ":1.bad": 3} {
		if asked[sender] != want {
			t.Errorf("%s asked %d times, want %d", sender, asked[sender], want)
		}
	}
	for i := range 3 * maxCallers {
		if _, err := c.uid(context.Background(), fmt.Sprintf(":2.%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.uids); n > maxCallers {
		t.Errorf("%d callers remembered, bound %d", n, maxCallers)
	}
}
