package browser

import (
	"errors"
	"image"
	"strings"

	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// treeNode is one object of the left pane's tree: a global (made when its
// row is first laid out) or a child fetched by Image.Children.
type treeNode struct {
	ref         ObjectRef
	lower       string // lower-cased label, for the search
	row, toggle widget.Clickable
	expanded    bool
	loaded      bool // children holds an answer of Image.Children
	asking      bool // queued in Browser.wantChildren
	children    []*treeNode
}

// visRow is one row of the flattened tree the left pane lists.
type visRow struct {
	g     int       // index into globals of a top-level row, else -1
	node  *treeNode // the child's node (nil for a top-level row)
	depth int
}

// label is what the row shows: the global's name, or "slot → object".
func (n *treeNode) label() string {
	if n.ref.Slot != "" {
		return n.ref.Slot + " → " + n.ref.Name
	}
	return n.ref.Name
}

func newNode(ref ObjectRef) *treeNode {
	n := &treeNode{ref: ref}
	n.lower = strings.ToLower(n.label())
	return n
}

// topNode returns the node of global g, making it.
func (b *Browser) topNode(g int) *treeNode {
	n := b.rows[g]
	if n == nil {
		n = newNode(b.globals[g])
		b.rows[g] = n
	}
	return n
}

// Expand expands (or collapses) the tree node of the visible row i, the
// way its toggle does.
func (b *Browser) Expand(i int, on bool) {
	if i < 0 || i >= len(b.visible) {
		return
	}
	if n := b.rowNode(b.visible[i]); n.expanded != on {
		b.toggle(n)
	}
}

func (b *Browser) rowNode(r visRow) *treeNode {
	if r.g >= 0 {
		return b.topNode(r.g)
	}
	return r.node
}

func (b *Browser) toggle(n *treeNode) {
	n.expanded = !n.expanded
	if n.expanded {
		b.anyExpanded = true
		if !n.loaded {
			b.askChildren(n)
		}
	}
	b.filterValid = false
}

func (b *Browser) askChildren(n *treeNode) {
	if !n.asking {
		n.asking = true
		b.wantChildren = append(b.wantChildren, n)
	}
}

// loadChildren asks the Image for the children of the expanded nodes that
// lack them.
func (b *Browser) loadChildren() {
	want := b.wantChildren[:0]
	for _, n := range b.wantChildren {
		cs, err := b.Image.Children(n.ref)
		if errors.Is(err, ErrPending) {
			want = append(want, n)
			continue
		}
		n.asking, n.loaded = false, true
		if err != nil {
			b.setErr(err)
			cs = nil
		}
		b.setChildren(n, cs)
	}
	b.wantChildren = want
}

// setChildren replaces n's children, keeping the nodes (and so what is
// expanded under them) of those that are still there.
func (b *Browser) setChildren(n *treeNode, cs []ObjectRef) {
	old := make(map[ObjectRef]*treeNode, len(n.children))
	for _, c := range n.children {
		old[c.ref] = c
	}
	kids := make([]*treeNode, len(cs))
	for i, r := range cs {
		if c := old[r]; c != nil {
			kids[i] = c
			if c.expanded {
				c.loaded = false
				b.askChildren(c)
			}
			continue
		}
		kids[i] = newNode(r)
	}
	n.children = kids
	b.filterValid = false
}

// keepExpanded carries the expanded globals of the old rows over to the
// new globals gs, by name, and asks for their children again.
func (b *Browser) keepExpanded(old map[int]*treeNode) {
	keep := make(map[string]*treeNode)
	for _, n := range old {
		if n.expanded {
			keep[n.ref.Name] = n
		}
	}
	if len(keep) == 0 {
		return
	}
	for i, g := range b.globals {
		if n := keep[g.Name]; n != nil {
			n.ref = g
			b.rows[i] = n
			n.loaded = false
			b.askChildren(n)
		}
	}
}

// filter flattens the tree into the visible rows: the globals whose name
// contains the search text, and under each expanded node its children
// (all of them under a match, else those that match or lead to a match).
func (b *Browser) filter() {
	q := strings.ToLower(strings.TrimSpace(b.Search.Text()))
	if b.filterValid && q == b.query {
		return
	}
	if q != b.query || b.resetScroll {
		b.Objects.Position = layout.Position{}
		b.resetScroll = false
	}
	b.query, b.filterValid = q, true
	b.visible = b.visible[:0]
	b.shown = 0
	for i, name := range b.lower {
		matched := q == "" || strings.Contains(name, q)
		var n *treeNode
		if b.anyExpanded {
			n = b.rows[i]
		}
		if n == nil || !n.expanded {
			if matched {
				b.visible = append(b.visible, visRow{g: i})
				b.shown++
			}
			continue
		}
		start := len(b.visible)
		b.visible = append(b.visible, visRow{g: i})
		if !b.appendChildren(n, 1, q, matched) && !matched {
			b.visible = b.visible[:start]
			continue
		}
		b.shown++
	}
}

func (b *Browser) appendChildren(n *treeNode, depth int, q string, under bool) bool {
	any := false
	for _, c := range n.children {
		matched := under || q == "" || strings.Contains(c.lower, q)
		start := len(b.visible)
		b.visible = append(b.visible, visRow{g: -1, node: c, depth: depth})
		sub := c.expanded && b.appendChildren(c, depth+1, q, matched)
		if !matched && !sub {
			b.visible = b.visible[:start]
			continue
		}
		any = true
	}
	return any
}

// updateTree handles the clicks on rows and toggles of the last frame.
func (b *Browser) updateTree(gtx layout.Context) {
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		if n.toggle.Clicked(gtx) {
			b.toggle(n)
		}
		if n.row.Clicked(gtx) {
			b.Select(n.ref)
		}
		if n.expanded {
			for _, c := range n.children {
				walk(c)
			}
		}
	}
	for _, n := range b.rows {
		walk(n)
	}
}

// layoutTreeRow draws a row: indentation, the expand toggle ("+" or "-",
// none once the node is known to have no children) and the object.
func (b *Browser) layoutTreeRow(gtx layout.Context, th *material.Theme, r visRow) layout.Dimensions {
	n := b.rowNode(r)
	ref := n.ref
	sel := b.hasSelection && b.selected.OID == ref.OID && b.selected.Name == ref.Name
	return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Left: unit.Dp(float32(14 * r.depth))}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				w := gtx.Dp(unit.Dp(16))
				gtx.Constraints.Min.X, gtx.Constraints.Max.X = w, w
				if n.loaded && len(n.children) == 0 {
					return layout.Dimensions{Size: image.Pt(w, 0)}
				}
				sign := "+"
				if n.expanded {
					sign = "-"
				}
				return n.toggle.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return layout.Center.Layout(gtx, material.Body2(th, sign).Layout)
				})
			})
		}),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return row(gtx, th, &n.row, n.label(), kindLabel(ref), sel)
		}),
	)
}
