package scene

import (
	"math"
	"testing"
)

func TestStepTowardNeverOvershoots(t *testing.T) {
	r := NewRand(1)
	for range 100_000 {
		p := Pos{X: Fixed(r.Between(0, 1e9)), Y: Fixed(r.Between(0, 1e9))}
		q := Pos{X: Fixed(r.Between(0, 1e9)), Y: Fixed(r.Between(0, 1e9))}
		if r.Intn(2) == 0 { // near targets too
			q = Pos{X: p.X + Fixed(r.Between(-5000, 5000)), Y: p.Y + Fixed(r.Between(-5000, 5000))}
		}
		step := Fixed(r.Between(0, 3000))
		stop := Fixed(r.Between(0, 2)) * Fixed(r.Between(0, 2000))
		n := stepToward(p, q, step, stop)
		moved := isqrt(dist2(p, n))
		if moved > int64(step) {
			t.Fatalf("stepToward(%v, %v, %d, %d) = %v: moved %d > step", p, q, step, stop, n, moved)
		}
		before, after := isqrt(dist2(p, q)), isqrt(dist2(n, q))
		if after > before {
			t.Fatalf("stepToward(%v, %v) = %v went away from the target", p, q, n)
		}
		if stop == 0 && before <= int64(step) && n != q {
			t.Fatalf("stepToward(%v, %v, %d) = %v: target within a step not reached", p, q, step, n)
		}
	}
}

func TestIsqrt(t *testing.T) {
	for _, v := range []int64{0, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) - 1, 2e18, math.MaxInt64} {
		r := isqrt(v)
		if r*r > v || r < 3037000499 && (r+1)*(r+1) <= v {
			t.Errorf("isqrt(%d) = %d", v, r)
		}
	}
}

func TestFacing(t *testing.T) {
	o := Pos{X: 1000, Y: 1000}
	cases := []struct {
		to   Pos
		want uint8
	}{
		{Pos{X: 2000, Y: 1000}, 0}, {Pos{X: 2000, Y: 2000}, 32}, {Pos{X: 1000, Y: 2000}, 64}, {Pos{X: 0, Y: 2000}, 96},
		{Pos{X: 0, Y: 1000}, 128}, {Pos{X: 0, Y: 0}, 160}, {Pos{X: 1000, Y: 0}, 192}, {Pos{X: 2000, Y: 0}, 224},
		{o, 77}, // no direction: unchanged
	}
	for _, c := range cases {
		if got := facingOf(o, c.to, 77); got != c.want {
			t.Errorf("facingOf(%v, %v) = %d, want %d", o, c.to, got, c.want)
		}
	}
	// Against the float formula, within one unit everywhere.
	r := NewRand(2)
	for range 10_000 {
		to := Pos{X: Fixed(r.Between(-1e6, 1e6)), Y: Fixed(r.Between(-1e6, 1e6))}
		if to == (Pos{}) {
			continue
		}
		want := math.Mod(math.Atan2(float64(to.Y), float64(to.X))*128/math.Pi+256, 256)
		got := float64(facingOf(Pos{}, to, 0))
		if d := math.Abs(got - want); d > 1 && d < 255 {
			t.Fatalf("facingOf(%v) = %v, want about %.2f", to, got, want)
		}
	}
}
