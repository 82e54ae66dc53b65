package scene

import "slices"

// visible returns the entities observer o sees: in ModeFull every entity, in
// ModeGrid those within the view range, found through the nine-grid (or,
// with s.brute, by checking every entity). The order is deterministic (grid
// order, or id order) but not sorted: the diff does not need it. The result
// reuses buf.
func (s *Scene) visible(o *entity, buf []*entity) []*entity {
	buf = buf[:0]
	switch {
	case s.cfg.Mode == ModeFull:
		for _, e := range s.order {
			if !e.removed {
				buf = append(buf, e)
			}
		}
		return buf
	case s.brute:
		return s.visibleBrute(o, buf)
	}
	return s.grid.near(o.pos, s.cfg.ViewRange, buf)
}

// visibleBrute checks every entity against o: the reference the nine-grid is
// tested against, and its baseline in benchmarks (branch-free like the grid
// scan, so that the comparison is fair).
func (s *Scene) visibleBrute(o *entity, buf []*entity) []*entity {
	px, py, r2 := int64(o.pos.X), int64(o.pos.Y), int64(s.cfg.ViewRange)*int64(s.cfg.ViewRange)
	n := len(buf)
	buf = slices.Grow(buf, len(s.order))[:n+len(s.order)]
	for _, e := range s.order {
		dx, dy := int64(e.pos.X)-px, int64(e.pos.Y)-py
		buf[n] = e
		in := 0
		if dx*dx+dy*dy <= r2 && !e.removed {
			in = 1
		}
		n += in
	}
	return buf[:n]
}
