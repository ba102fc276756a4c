package sessfile

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseSavePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SavePath
		err  string // substring of the error; "" = no error
	}{
		{"/var/lib/php/sessions", SavePath{0, 0o600, "/var/lib/php/sessions"}, ""},
		{"rel/dir", SavePath{0, 0o600, "rel/dir"}, ""},
		{"2;/tmp/s", SavePath{2, 0o600, "/tmp/s"}, ""},
		{"0;/tmp/s", SavePath{0, 0o600, "/tmp/s"}, ""},
		{"1;0640;/tmp/s", SavePath{1, 0o640, "/tmp/s"}, ""},
		{"0;777;/d", SavePath{0, 0o777, "/d"}, ""},
		{"0;7;/d", SavePath{0, 0o007, "/d"}, ""},
		{"0;4600;/d", SavePath{0, 0o600 | os.ModeSetuid, "/d"}, ""},
		{"2;0600;/a;b;c", SavePath{2, 0o600, "/a;b;c"}, ""}, // third field keeps ';'
		{"/dir/", SavePath{0, 0o600, "/dir/"}, ""},
		{"", SavePath{}, "empty"},
		{"x;/dir", SavePath{}, "not a decimal number"},
		{"-1;/dir", SavePath{}, "not a decimal number"},
		{" 2;/dir", SavePath{}, "not a decimal number"},
		{";/dir", SavePath{}, "not a decimal number"},
		{"250;/dir", SavePath{}, "larger than 249"},
		{"99999999999999999999;/dir", SavePath{}, "not a decimal number"},
		{"2;", SavePath{}, "empty directory"},
		{"2;0600;", SavePath{}, "empty directory"},
		{"2;0800;/d", SavePath{}, "octal"},
		{"2;;/d", SavePath{}, "octal"},
		{"2;10000;/d", SavePath{}, "octal"},
		{"2;0;/d", SavePath{}, "no one"},
		{"2;7000;/d", SavePath{}, "no one"},
		{"/a\x00b", SavePath{}, "NUL"},
	} {
		got, err := ParseSavePath(tc.in)
		if tc.err != "" {
			var spe *SavePathError
			if !errors.As(err, &spe) || spe.Value != tc.in || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSavePath(%q) = %v, %v; want *SavePathError containing %q", tc.in, got, err, tc.err)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\n\x00") {
				t.Errorf("error spans lines or has raw bytes: %q", err.Error())
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSavePath(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		back, err := ParseSavePath(got.String())
		if err != nil || back != got {
			t.Errorf("round trip of %q via %q = %+v, %v", tc.in, got.String(), back, err)
		}
	}
}

func TestSavePathString(t *testing.T) {
	for _, tc := range []struct {
		p    SavePath
		want string
	}{
		{SavePath{0, 0o600, "/d"}, "/d"},
		{SavePath{0, 0, "/d"}, "/d"}, // zero Mode is the default
		{SavePath{2, 0o600, "/d"}, "2;/d"},
		{SavePath{2, 0o640, "/d"}, "2;0640;/d"},
		{SavePath{0, 0o600, "/a;b"}, "0;0600;/a;b"},
		{SavePath{1, 0o700 | os.ModeSticky, "/d"}, "1;1700;/d"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestValidateID(t *testing.T) {
	long := strings.Repeat("a", 250)
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abc", true},
		{"a", true},
		{"AZaz09,-", true},
		{long, true},
		{long + "b", false},
		{strings.Repeat("x", 300), false},
		{"", false},
		{"../../etc/passwd", false},
		{"a/b", false},
		{"a.b", false},
		{"a b", false},
		{"a\x00b", false},
		{"é", false},
		{"a\nb", false},
	} {
		err := ValidateID(tc.id)
		var ie *InvalidIDError
		if tc.ok != (err == nil) || !tc.ok && (!errors.As(err, &ie) || ie.ID != tc.id) {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\x00") {
			t.Errorf("error for %q spans lines: %q", tc.id, err.Error())
		}
	}
}

func TestRelPath(t *testing.T) {
	for _, tc := range []struct {
		sp      string
		id      string
		want    string
		wantErr bool
	}{
		{"/d", "abcdef", "sess_abcdef", false},
		{"2;/d", "abcdef", "a/b/sess_abcdef", false},
		{"3;/d", "Z,-x", "Z/,/-/sess_Z,-x", false},
		{"2;/d", "ab", "", true}, // must be longer than the depth
		{"2;/d", "abc", "a/b/sess_abc", false},
		{"2;/d", "a/b/c", "", true},
		{"/d", "", "", true},
	} {
		sp, err := ParseSavePath(tc.sp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sp.RelPath(tc.id)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s RelPath(%q) = %q, %v; want %q", tc.sp, tc.id, got, err, tc.want)
		}
		if err == nil {
			full, _ := sp.Path(tc.id)
			if full != sp.Dir+"/"+tc.want {
				t.Errorf("Path = %q", full)
			}
		}
	}
}
