package gamedata

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/gamemesh/gamemesh"
)

// Item is one kind of item in the catalogue.
type Item struct {
	// ID names the kind: gamemesh.ValidItemID.
	ID string `json:"id"`
	// Name is what players see.
	Name string `json:"name"`
	// MaxStack is the most a player may hold of it.
	MaxStack int64 `json:"max_stack"`
	// Kind groups items: currency, consumable, material, equipment, cosmetic, title.
	Kind string `json:"kind"`
}

// Catalog is a read-only item catalogue, safe for concurrent use.
type Catalog struct {
	byID  map[string]Item
	order []string
}

//go:embed items.json
var itemsJSON []byte

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Items returns the catalogue compiled into the binary. It panics if
// items.json is malformed, which a test of this package catches first.
func Items() *Catalog {
	defaultOnce.Do(func() {
		c, err := ParseCatalog(itemsJSON)
		if err != nil {
			panic(fmt.Sprintf("gamedata: items.json: %v", err))
		}
		defaultCat = c
	})
	return defaultCat
}

// ParseCatalog reads a catalogue in the format of items.json, refusing
// invalid or duplicate ids, empty names and non-positive stack caps.
func ParseCatalog(data []byte) (*Catalog, error) {
	var doc struct {
		Items []Item `json:"items"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("gamedata: %w", err)
	}
	c := &Catalog{byID: make(map[string]Item, len(doc.Items))}
	for _, it := range doc.Items {
		switch {
		case !gamemesh.ValidItemID(it.ID):
			return nil, fmt.Errorf("gamedata: item id %q: want 1 to 64 characters of [a-z0-9_.-]", it.ID)
		case it.Name == "":
			return nil, fmt.Errorf("gamedata: item %s has no name", it.ID)
		case it.MaxStack <= 0:
			return nil, fmt.Errorf("gamedata: item %s: max_stack must be positive", it.ID)
		}
		if _, dup := c.byID[it.ID]; dup {
			return nil, fmt.Errorf("gamedata: item %s is listed twice", it.ID)
		}
		c.byID[it.ID] = it
		c.order = append(c.order, it.ID)
	}
	return c, nil
}

// Lookup returns the item id names, and whether it exists.
func (c *Catalog) Lookup(id string) (Item, bool) {
	it, ok := c.byID[id]
	return it, ok
}

// Known reports whether id names an item of the catalogue.
func (c *Catalog) Known(id string) bool {
	_, ok := c.byID[id]
	return ok
}

// IDs returns every item id in catalogue order.
func (c *Catalog) IDs() []string { return slices.Clone(c.order) }

// CheckItem returns an INVALID_ARGUMENT error when id is malformed or not in
// the catalogue, or count is not 1 to the item's stack cap.
func (c *Catalog) CheckItem(id string, count int64) error {
	if !gamemesh.ValidItemID(id) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "item id %.64q: want 1 to 64 characters of [a-z0-9_.-]", id)
	}
	it, ok := c.byID[id]
	if !ok {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "unknown item %q", id)
	}
	if count < 1 || count > it.MaxStack {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "item %s: count %d out of range [1, %d]", id, count, it.MaxStack)
	}
	return nil
}
