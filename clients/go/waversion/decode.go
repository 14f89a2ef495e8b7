package waversion

import (
	"encoding/json"
	"regexp"
	"strconv"
)

// The rules of the Python and Node clients (wa_version_client/contract): three decimal
// uint32 parts without leading zeros, integers in the hash as plain digits.
var (
	versionText = regexp.MustCompile(`^(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$`)
	digits      = regexp.MustCompile(`^(0|[1-9][0-9]{0,18})$`)
)

func parseVersion(text string) (v [3]uint32, ok bool) {
	parts := versionText.FindStringSubmatch(text)
	if parts == nil {
		return v, false
	}
	for i := range v {
		n, err := strconv.ParseUint(parts[i+1], 10, 32)
		if err != nil {
			return v, false
		}
		v[i] = uint32(n)
	}
	return v, true
}

// object is a JSON object read field by field, strictly, by the generated decoder
// (contract_gen.go), one reader per type the contract model has. Each reader reports
// whether the field is well-formed and stores it: under its exact name (Go's decoder
// alone matches names in any case), of its type (7.0, "7" and true are no integer, null
// no string); an optional field absent is well-formed and keeps its default.
type object map[string]json.RawMessage

func readObject(data []byte) (object, bool) {
	var fields object
	return fields, json.Unmarshal(data, &fields) == nil && fields != nil
}

// value decodes name into into: false when it is absent, null, or of another type.
func (o object) value(name string, into interface{}) bool {
	raw, present := o[name]
	return present && string(raw) != "null" && json.Unmarshal(raw, into) == nil
}

// absentOptional reports whether name is absent and may be.
func (o object) absentOptional(name string, optional bool) bool {
	_, present := o[name]
	return optional && !present
}

func (o object) integer(name string, min, max int64, optional bool, into *int64) bool {
	var n int64
	if o.absentOptional(name, optional) {
		return true
	}
	if !o.value(name, &n) || n < min || n > max {
		return false
	}
	*into = n
	return true
}

func (o object) text(name string, optional bool, into *string) bool {
	return o.absentOptional(name, optional) || o.value(name, into)
}

func (o object) flag(name string, optional bool, into *bool) bool {
	return o.absentOptional(name, optional) || o.value(name, into)
}

func (o object) choice(name string, values []string, optional bool, into *string) bool {
	var word string
	if o.absentOptional(name, optional) {
		return true
	}
	if !o.value(name, &word) {
		return false
	}
	for _, allowed := range values {
		if word == allowed {
			*into = word
			return true
		}
	}
	return false
}

// versionPair reads a version whose "array" and "string" sit in the object itself: they
// must agree, each part of the array an integer (not null, which Go reads as 0).
func (o object) versionPair(array *[3]uint32, text *string) bool {
	var ok bool
	if !o.value("string", text) {
		return false
	}
	if *array, ok = parseVersion(*text); !ok {
		return false
	}
	return o.agrees("array", *array)
}

// agrees reports whether name holds exactly the parts of v.
func (o object) agrees(name string, v [3]uint32) bool {
	var parts []json.RawMessage
	if !o.value(name, &parts) || len(parts) != 3 {
		return false
	}
	for i, raw := range parts {
		var part int64
		if string(raw) == "null" || json.Unmarshal(raw, &part) != nil || part != int64(v[i]) {
			return false
		}
	}
	return true
}

// version reads a version object {"array", "string"}: from its string, and unless
// checkArray is false, its array must agree.
func (o object) version(name string, checkArray, optional bool, into *[3]uint32) bool {
	var shown object
	var text string
	if o.absentOptional(name, optional) {
		return true
	}
	if !o.value(name, &shown) || shown == nil || !shown.value("string", &text) {
		return false
	}
	v, ok := parseVersion(text)
	if !ok || (checkArray && !shown.agrees("array", v)) {
		return false
	}
	*into = v
	return true
}

// nullableVersion reads a version object or null (nil).
func (o object) nullableVersion(name string, checkArray, optional bool, into **[3]uint32) bool {
	var v [3]uint32
	if raw, present := o[name]; present && string(raw) == "null" {
		*into = nil
		return true
	}
	if o.absentOptional(name, optional) {
		return true
	}
	if !o.version(name, checkArray, false, &v) {
		return false
	}
	*into = &v
	return true
}

// jobField is a field of the refresh job a report writes (contract_gen.go's jobFields).
type jobField struct {
	name     string
	required bool
	fallback string
}

// jobArgs is a refresh job as XADD's field-value arguments, in the model's order: each
// field's value from values, or its default. A field without one is a bug here: it panics.
func jobArgs(values map[string]string) []interface{} {
	args := make([]interface{}, 0, 2*len(jobFields))
	for _, field := range jobFields {
		value, given := values[field.name]
		if !given && field.required {
			panic("waversion: a refresh job needs " + field.name)
		}
		if !given {
			value = field.fallback
		}
		args = append(args, field.name, value)
	}
	return args
}
