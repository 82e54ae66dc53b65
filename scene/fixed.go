package scene

import (
	"math"
	"strconv"
)

// Fixed is a length in millimetres. Positions, ranges and speeds are integers
// so that a scene steps identically on every run and every machine: no float
// arithmetic touches the simulation, only the check of client input.
type Fixed int32

// Meter is one metre in Fixed units.
const Meter Fixed = 1000

// MaxMapSize bounds a map's width and height (1 000 km), so that squared
// distances fit in an int64.
const MaxMapSize Fixed = 1_000_000 * Meter

// String formats f in metres ("12.5").
func (f Fixed) String() string {
	return strconv.FormatFloat(float64(f)/float64(Meter), 'f', -1, 64)
}

// Pos is a position on a scene's map, (0,0) at a corner.
type Pos struct {
	X, Y Fixed
}

// P returns the position (x, y) given in metres, rounded to the millimetre.
// It is meant for configuration and tests; client input goes through the
// scene's own checks.
func P(x, y float64) Pos {
	return Pos{X: Fixed(math.Round(x * float64(Meter))), Y: Fixed(math.Round(y * float64(Meter)))}
}

// String formats p as "(x,y)" in metres.
func (p Pos) String() string { return "(" + p.X.String() + "," + p.Y.String() + ")" }

// dist2 returns the squared distance between a and b.
func dist2(a, b Pos) int64 {
	dx := int64(b.X) - int64(a.X)
	dy := int64(b.Y) - int64(a.Y)
	return dx*dx + dy*dy
}

// within reports whether a and b are at most r apart.
func within(a, b Pos, r Fixed) bool { return dist2(a, b) <= int64(r)*int64(r) }

// isqrt returns floor(sqrt(v)) for v ≥ 0, exactly.
func isqrt(v int64) int64 {
	if v <= 0 {
		return 0
	}
	// floor(sqrt(MaxInt64)); math.Sqrt is correctly rounded, the loops fix
	// up the float's last bit.
	const maxRoot = 3037000499
	r := min(int64(math.Sqrt(float64(v))), maxRoot)
	for r*r > v {
		r--
	}
	for r < maxRoot && (r+1)*(r+1) <= v {
		r++
	}
	return r
}

// stepToward returns the point reached from p moving toward t by at most
// step, stopping stop short of t (stop ≥ 0). Integer division truncates
// toward zero, so the distance covered never exceeds step.
func stepToward(p, t Pos, step, stop Fixed) Pos {
	dx := int64(t.X) - int64(p.X)
	dy := int64(t.Y) - int64(p.Y)
	d := isqrt(dx*dx + dy*dy)
	want := d - int64(stop)
	if want <= 0 || step <= 0 {
		return p
	}
	if want > int64(step) {
		want = int64(step)
	}
	if want == d {
		return t
	}
	return Pos{X: p.X + Fixed(dx*want/d), Y: p.Y + Fixed(dy*want/d)}
}

// atanTable[i] is round(atan(i/64) in binary-angle units), i in 0..64.
var atanTable = [65]uint8{
	0, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10, 11, 11, 12, 12, 13, 13, 14, 15, 15, 16, 16, 17, 17, 18, 18,
	19, 19, 20, 20, 21, 21, 22, 22, 23, 23, 24, 24, 25, 25, 25, 26, 26, 27, 27, 27, 28, 28, 29, 29, 29, 30, 30, 30,
	31, 31, 31, 32, 32,
}

// facingOf returns the binary angle (256 to a turn, 0 = +x, 64 = +y) of the
// vector from a to b, or old if they coincide. Integer only.
func facingOf(a, b Pos, old uint8) uint8 {
	dx := int64(b.X) - int64(a.X)
	dy := int64(b.Y) - int64(a.Y)
	if dx == 0 && dy == 0 {
		return old
	}
	ax, ay := dx, dy
	if ax < 0 {
		ax = -ax
	}
	if ay < 0 {
		ay = -ay
	}
	var q int // angle in the first quadrant, 0..64
	if ax >= ay {
		q = int(atanTable[(ay*64+ax/2)/ax])
	} else {
		q = 64 - int(atanTable[(ax*64+ay/2)/ay])
	}
	switch {
	case dx >= 0 && dy >= 0:
		return uint8(q)
	case dx < 0 && dy >= 0:
		return uint8(128 - q)
	case dx < 0:
		return uint8(128 + q)
	default:
		return uint8(256 - q)
	}
}

// clampPos returns p moved inside [0,w]×[0,h].
func clampPos(p Pos, w, h Fixed) Pos {
	p.X = min(max(p.X, 0), w)
	p.Y = min(max(p.Y, 0), h)
	return p
}
