package directory

import "strconv"

// Lagging returns the members that have not yet applied version (or a newer
// one) of the configuration key: those whose InfoConfigPrefix+key is absent
// or older. Versions of the Redis and file configuration stores are whole
// numbers and compare as numbers; any other version must match exactly.
func Lagging(members []Member, key, version string) []Member {
	want, wantNum := strconv.ParseUint(version, 10, 64)
	var out []Member
	for _, m := range members {
		got, ok := m.Info[InfoConfigPrefix+key]
		switch {
		case !ok:
		case wantNum == nil:
			if n, err := strconv.ParseUint(got, 10, 64); err == nil && n >= want {
				continue
			}
		case got == version:
			continue
		}
		out = append(out, m)
	}
	return out
}
