package scene

import "slices"

// grid is the nine-grid spatial index: square cells of side `size` covering
// the map. Each entity sits in the cell of its position, with a copy of its
// position so that a scan reads one contiguous slice per cell. A cell lists
// its entities in an order that depends only on the history of inserts and
// removals, never on map iteration.
type grid struct {
	size       Fixed
	cols, rows int32
	cells      [][]cellEntry
}

type cellEntry struct {
	pos Pos
	e   *entity
}

func newGrid(w, h, size Fixed) grid {
	cols := int32(w/size) + 1
	rows := int32(h/size) + 1
	return grid{size: size, cols: cols, rows: rows, cells: make([][]cellEntry, int(cols)*int(rows))}
}

func (g *grid) cellOf(p Pos) int32 { return int32(p.Y/g.size)*g.cols + int32(p.X/g.size) }

func (g *grid) insert(e *entity) {
	c := g.cellOf(e.pos)
	e.cell, e.slot = c, int32(len(g.cells[c]))
	g.cells[c] = append(g.cells[c], cellEntry{pos: e.pos, e: e})
}

func (g *grid) remove(e *entity) {
	cell := g.cells[e.cell]
	last := len(cell) - 1
	moved := cell[last]
	cell[e.slot] = moved
	moved.e.slot = e.slot
	cell[last] = cellEntry{}
	g.cells[e.cell] = cell[:last]
	e.cell, e.slot = -1, -1
}

// moved re-files e after its position changed.
func (g *grid) moved(e *entity) {
	if g.cellOf(e.pos) != e.cell {
		g.remove(e)
		g.insert(e)
		return
	}
	g.cells[e.cell][e.slot].pos = e.pos
}

// span returns the cell range covering [c-r, c+r] on one axis.
func span(c, r, size Fixed, n int32) (lo, hi int32) {
	lo = int32(max(c-r, 0) / size)
	hi = min(int32((int64(c)+int64(r))/int64(size)), n-1)
	return lo, hi
}

// near appends to buf the entities of the cells that cover the disk of radius
// r around p and lie in it, in grid order. With r = size these cells are the
// observer's cell and its 8 neighbours.
func (g *grid) near(p Pos, r Fixed, buf []*entity) []*entity {
	x0, x1 := span(p.X, r, g.size, g.cols)
	y0, y1 := span(p.Y, r, g.size, g.rows)
	px, py, r2 := int64(p.X), int64(p.Y), int64(r)*int64(r)
	for cy := y0; cy <= y1; cy++ {
		row := g.cells[cy*g.cols+x0 : cy*g.cols+x1+1]
		for _, cell := range row {
			// Branch-free: write every entry, advance only past those in range
			// (whether one is in range is a coin toss for the branch predictor).
			n := len(buf)
			buf = slices.Grow(buf, len(cell))[:n+len(cell)]
			for _, c := range cell {
				dx, dy := int64(c.pos.X)-px, int64(c.pos.Y)-py
				buf[n] = c.e
				in := 0
				if dx*dx+dy*dy <= r2 {
					in = 1
				}
				n += in
			}
			buf = buf[:n]
		}
	}
	return buf
}
