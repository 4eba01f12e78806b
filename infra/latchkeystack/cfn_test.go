package latchkeystack

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// cfn is a CloudFormation template as generic JSON/YAML values, with
// helpers to follow Ref and Fn::GetAtt between resources.
type cfn map[string]any

type resource struct {
	ID    string
	Type  string
	Props map[string]any
	Raw   map[string]any
}

func (t cfn) resources() map[string]any {
	r, _ := t["Resources"].(map[string]any)
	return r
}

// all returns the resources of type typ, sorted by logical ID.
func (t cfn) all(typ string) []resource {
	var out []resource
	for id, v := range t.resources() {
		r, _ := v.(map[string]any)
		if r["Type"] != typ {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		out = append(out, resource{ID: id, Type: typ, Props: props, Raw: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// resolved is v with every Ref to one of the template's parameters
// replaced by the parameter's default, as a deploy without overrides sees
// it, and with numbers as JSON has them (float64), so that a YAML and a
// JSON template compare equal.
func (t cfn) resolved(v any) any {
	params, _ := t["Parameters"].(map[string]any)
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok && len(v) == 1 {
				if p, ok := params[ref].(map[string]any); ok {
					if def, ok := p["Default"]; ok {
						return def
					}
				}
			}
			out := map[string]any{}
			for k, x := range v {
				out[k] = walk(x)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func (t cfn) get(id string) (resource, bool) {
	v, ok := t.resources()[id].(map[string]any)
	if !ok {
		return resource{}, false
	}
	props, _ := v["Properties"].(map[string]any)
	typ, _ := v["Type"].(string)
	return resource{ID: id, Type: typ, Props: props, Raw: v}, true
}

// refOf returns the logical ID a {"Ref": id} or {"Fn::GetAtt": [id, …]}
// names ("" otherwise).
func refOf(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"]; ok {
		switch ga := ga.(type) {
		case []any:
			if len(ga) > 0 {
				s, _ := ga[0].(string)
				return s
			}
		case string:
			id, _, _ := strings.Cut(ga, ".")
			return id
		}
	}
	return ""
}

// refsIn lists every logical ID referenced anywhere inside v.
func refsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if id := refOf(v); id != "" {
				out = append(out, id)
			}
			if sub, ok := v["Fn::Sub"].(string); ok {
				out = append(out, subRefs(sub)...)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// subRefs returns the resources a Fn::Sub string names as ${Id} or ${Id.Attr}.
func subRefs(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return out
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return out
		}
		name, _, _ := strings.Cut(s[i+2:i+j], ".")
		if !strings.HasPrefix(name, "AWS::") && !strings.HasPrefix(name, "!") {
			out = append(out, name)
		}
		s = s[i+j:]
	}
}

// strs turns a string or a list of strings into a list.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func num(v any) int {
	switch v := v.(type) {
	case float64:
		return int(v)
	case int:
		return v
	case string:
		var n int
		fmt.Sscan(v, &n)
		return n
	}
	return -1
}

func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// statements returns the policy statements of doc.
func statements(doc any) []map[string]any {
	var out []map[string]any
	switch s := path(doc, "Statement").(type) {
	case []any:
		for _, x := range s {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}
