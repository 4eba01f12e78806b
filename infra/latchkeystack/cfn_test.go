package latchkeystack

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
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

// noValue stands for a branch that is AWS::NoValue while chosen walks.
var noValue = &struct{}{}

// chosen is v as a deploy with the template's parameter defaults sees it:
// each Fn::If replaced by the branch its condition picks (a branch that is
// AWS::NoValue leaves its list or map), and each parameter an Fn::Sub
// names, or computes a variable from (Ref, Fn::Select over Fn::Split),
// replaced by its default. Anything else is left as it is.
func (t cfn) chosen(v any) any {
	out := t.choose(v)
	if out == noValue {
		return nil
	}
	return out
}

func (t cfn) choose(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if ref, _ := v["Ref"].(string); ref == "AWS::NoValue" {
				return noValue
			}
			if args, ok := v["Fn::If"].([]any); ok && len(args) == 3 {
				name, _ := args[0].(string)
				if t.holds(name) {
					return t.choose(args[1])
				}
				return t.choose(args[2])
			}
			if sub, ok := v["Fn::Sub"]; ok {
				return map[string]any{"Fn::Sub": t.substitute(sub)}
			}
		}
		out := map[string]any{}
		for k, x := range v {
			if c := t.choose(x); c != noValue {
				out[k] = c
			}
		}
		return out
	case []any:
		out := []any{}
		for _, x := range v {
			if c := t.choose(x); c != noValue {
				out = append(out, c)
			}
		}
		return out
	}
	return v
}

// param is the default of the template's parameter name, as a string.
func (t cfn) param(name string) (string, bool) {
	p, ok := path(map[string]any(t), "Parameters", name).(map[string]any)
	if !ok {
		return "", false
	}
	d, ok := p["Default"]
	if !ok {
		return "", false
	}
	return fmt.Sprint(d), true
}

// value is a string-valued intrinsic under the parameter defaults: a
// literal, a Ref to a parameter, or Fn::Select over Fn::Split.
func (t cfn) value(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			return t.param(ref)
		}
		if sel, ok := v["Fn::Select"].([]any); ok && len(sel) == 2 {
			split, ok := path(sel[1], "Fn::Split").([]any)
			if !ok || len(split) != 2 {
				return "", false
			}
			sep, _ := split[0].(string)
			s, ok := t.value(split[1])
			if !ok {
				return "", false
			}
			i, err := strconv.Atoi(fmt.Sprint(sel[0]))
			parts := strings.Split(s, sep)
			if err != nil || i < 0 || i >= len(parts) {
				return "", false
			}
			return parts[i], true
		}
	}
	return "", false
}

// substitute fills an Fn::Sub's parameters (and, in its list form, the
// variables it defines) with their values, leaving resources and pseudo
// parameters for normalize.
func (t cfn) substitute(sub any) any {
	s, vars := "", map[string]any{}
	switch sub := sub.(type) {
	case string:
		s = sub
	case []any:
		if len(sub) != 2 {
			return sub
		}
		s, _ = sub[0].(string)
		vars, _ = sub[1].(map[string]any)
	default:
		return sub
	}
	return subPattern.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if x, ok := vars[name]; ok {
			if v, ok := t.value(x); ok {
				return v
			}
		}
		if v, ok := t.param(name); ok {
			return v
		}
		return m
	})
}

// holds evaluates the template's condition name under the parameter
// defaults (Fn::Not, Fn::Equals, Fn::And, Fn::Or, Condition).
func (t cfn) holds(name string) bool {
	var eval func(any) bool
	eval = func(v any) bool {
		m, _ := v.(map[string]any)
		switch {
		case m["Condition"] != nil:
			n, _ := m["Condition"].(string)
			return t.holds(n)
		case m["Fn::Not"] != nil:
			args := asList(m["Fn::Not"])
			return len(args) == 1 && !eval(args[0])
		case m["Fn::Equals"] != nil:
			args := asList(m["Fn::Equals"])
			if len(args) != 2 {
				return false
			}
			a, okA := t.value(args[0])
			b, okB := t.value(args[1])
			return okA && okB && a == b
		case m["Fn::And"] != nil:
			for _, x := range asList(m["Fn::And"]) {
				if !eval(x) {
					return false
				}
			}
			return true
		case m["Fn::Or"] != nil:
			for _, x := range asList(m["Fn::Or"]) {
				if eval(x) {
					return true
				}
			}
		}
		return false
	}
	return eval(path(map[string]any(t), "Conditions", name))
}

// withDefaults is a copy of t whose parameters default to params, as a
// deploy that overrides them sees the template.
func (t cfn) withDefaults(params map[string]any) cfn {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	var out cfn
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	for name, v := range params {
		if p, ok := path(map[string]any(out), "Parameters", name).(map[string]any); ok {
			p["Default"] = v
		}
	}
	return out
}
