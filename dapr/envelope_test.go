package dapr

import (
	"testing"
	"time"
)

func TestHandlerTimeoutLeavesTheWayBack(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{300 * time.Millisecond, 270 * time.Millisecond},
		{5 * time.Second, 4950 * time.Millisecond},
		{20 * time.Millisecond, 15 * time.Millisecond},
		{4 * time.Millisecond, 2 * time.Millisecond},
	} {
		if got := handlerTimeout(tc.in); got != tc.want {
			t.Errorf("handlerTimeout(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
