package latchkeystack

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
)

// TestMailGrantIsTheSenderIdentityAlone: without mailFrom no role may send
// mail; with it only the sweeper may, and only as the sender's address and
// its domain, in the stack and in template.yaml deployed with MailFrom.
func TestMailGrantIsTheSenderIdentityAlone(t *testing.T) {
	tmpl, sam := loadSAM(t)
	from := rotating.settings.MailFrom
	samMail, err := fromSAM(tmpl.withDefaults(map[string]any{"MailFrom": from}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		sys      system
		mailFrom string
	}{
		{"defaults", model(t, defaults), ""},
		{"rotating", model(t, rotating), from},
		{"template.yaml", sam, ""},
		{"template.yaml with MailFrom", samMail, from},
	} {
		for _, f := range deploy.Functions {
			var got []string
			for _, g := range c.sys.Functions[f.Name].Grants {
				if strings.HasPrefix(g, "ses:") {
					got = append(got, g)
				}
			}
			var want []string
			if f.SendEmail && c.mailFrom != "" {
				want = []string{
					"ses:SendEmail on arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/tokens@mail.example.com",
					"ses:SendEmail on arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/mail.example.com",
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s may send mail %v, want %v", c.name, f.Name, got, want)
			}
		}
	}
}

// TestMailSettings: the stack passes the sender to the sweeper, and the
// console's URL on the API's own URL; a sender that is not one bare
// address stops the synth.
func TestMailSettings(t *testing.T) {
	for _, c := range []struct {
		s    *stackUnderTest
		want string
	}{{defaults, ""}, {rotating, rotating.settings.MailFrom}} {
		fn := sweeperFunction(t, c.s)
		if got := path(fn.Props, "Environment", "Variables", deploy.EnvMailFrom); got != c.want {
			t.Errorf("%s = %v, want %q", deploy.EnvMailFrom, got, c.want)
		}
		u := renderARN(path(fn.Props, "Environment", "Variables", deploy.EnvConsoleURL))
		if !strings.HasPrefix(u, "https://${") || !strings.HasSuffix(u, "/"+deploy.StageName+"/console") {
			t.Errorf("%s = %s, want the API's URL and /console", deploy.EnvConsoleURL, u)
		}
	}
	for _, bad := range []string{"Latchkey <tokens@example.com>", "tokens", "a@example.com,b@example.com"} {
		s := Defaults()
		s.MailFrom = bad
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), CtxMailFrom) {
			t.Errorf("mailFrom %q: %v", bad, err)
		}
	}
}

func sweeperFunction(t *testing.T, s *stackUnderTest) resource {
	t.Helper()
	for _, r := range s.tmpl.all("AWS::Lambda::Function") {
		if functionTagOf(r.Props) == deploy.FunctionSweeper {
			return r
		}
	}
	t.Fatal("no sweeper function")
	return resource{}
}
