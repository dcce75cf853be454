package dbusapi

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5/introspect"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/timers"
)

// filledSnapshot has a value of its own in every field: "vNAME" in each
// string, true in each bool, a distinct number in each number.
func filledSnapshot() timers.Snapshot {
	var s timers.Snapshot
	v := reflect.ValueOf(&s).Elem()
	n := 0
	for _, f := range reflect.VisibleFields(v.Type()) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		n++
		switch field := v.FieldByIndex(f.Index); field.Kind() {
		case reflect.String:
			field.SetString("v" + f.Name)
		case reflect.Bool:
			field.SetBool(true)
		case reflect.Uint64:
			field.SetUint(uint64(1000 + n))
		case reflect.Int32:
			field.SetInt(int64(-n))
		}
	}
	return s
}

// The Timer interface's properties are exactly the XML's, each of the
// XML's type, each read from the Snapshot field of its name but for the
// derived few: adding a property is a change to the XML and the domain.
func TestTimerPropsFollowTheXML(t *testing.T) {
	iface, err := introspection.Interface(introspection.Timer)
	if err != nil {
		t.Fatal(err)
	}
	s := filledSnapshot()
	props := timerProps(s)
	if len(props) != len(iface.Properties) {
		t.Errorf("%d properties published, the XML declares %d", len(props), len(iface.Properties))
	}
	fields := reflect.ValueOf(s)
	for _, p := range iface.Properties {
		got, ok := props[p.Name]
		if !ok {
			t.Errorf("%s is declared but not published", p.Name)
			continue
		}
		if got.Signature().String() != p.Type {
			t.Errorf("%s is published as %s, declared %s", p.Name, got.Signature(), p.Type)
		}
		var want any
		switch p.Name {
		case "CalendarSpec":
			want = s.Spec
		case "Unit":
			want = s.Unit()
		default:
			f := fields.FieldByName(p.Name)
			want = f.Interface()
			if f.Kind() == reflect.String {
				want = f.String()
			}
		}
		if got.Value() != want {
			t.Errorf("%s is %v, want %v", p.Name, got.Value(), want)
		}
	}
}

// Any field of the Snapshot that the XML names becomes a property, read
// from that field; a property the Snapshot lacks, or of another type, is
// an error naming it, which stops every test of this package.
func TestSnapshotPropsFromAnyXML(t *testing.T) {
	var declared []introspect.Property
	types := map[reflect.Kind]string{reflect.String: "s", reflect.Bool: "b", reflect.Uint64: "t", reflect.Int32: "i"}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[timers.Snapshot]()) {
		if typ, ok := types[f.Type.Kind()]; ok && f.IsExported() {
			declared = append(declared, introspect.Property{Name: f.Name, Type: typ, Access: "read"})
		}
	}
	props, err := snapshotProps(introspect.Interface{Name: "test.Everything", Properties: declared}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := filledSnapshot()
	v := reflect.ValueOf(s)
	for _, p := range props {
		got := fmt.Sprint(p.convert(v.FieldByIndex(p.index)).Value())
		if want := fmt.Sprint(v.FieldByName(p.name).Interface()); got != want {
			t.Errorf("%s reads %s, the field holds %s", p.name, got, want)
		}
	}
	if len(props) != len(declared) {
		t.Errorf("%d of %d declared fields became properties", len(props), len(declared))
	}

	for _, bad := range []introspect.Property{
		{Name: "NoSuchField", Type: "s"},
		{Name: "Enabled", Type: "s"},
	} {
		_, err := snapshotProps(introspect.Interface{Name: "test.Bad", Properties: []introspect.Property{bad}}, nil)
		if err == nil || !strings.Contains(err.Error(), bad.Name) {
			t.Errorf("property %s of type %s: error %v, want one naming it", bad.Name, bad.Type, err)
		}
	}
}
