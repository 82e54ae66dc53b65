package gamemesh

import "context"

// ConfigItem is one configuration value with its version. In Redis-backed
// stores the raw value is "value||version".
type ConfigItem struct {
	Value   string
	Version string
}

// ConfigSource reads live configuration: feature switches and settings.
type ConfigSource interface {
	// Get returns the current items for keys; missing keys are absent from the map.
	Get(ctx context.Context, keys []string) (map[string]ConfigItem, error)
	// Subscribe returns once a subscription to keys is in place; from then
	// until ctx is done, fn is called (from a goroutine the source owns, one
	// call at a time) with the changed items. It does not send current values:
	// subscribe, then Get. A deleted key is reported with an empty Value and
	// Version. The source stops calling fn and releases its goroutine when ctx
	// is done.
	Subscribe(ctx context.Context, keys []string, fn func(map[string]ConfigItem)) error
}
