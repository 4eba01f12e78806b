package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/iplist"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

// The browser suite drives `latchkey dev` (the same devserver, in process)
// in headless Chromium through every acceptance step of the console and
// the API docs, saving a screenshot of each step under screenshots/.
//
// It needs Chromium: $LATCHKEY_CHROMIUM, or chromium / chromium-browser /
// google-chrome on the PATH (`make test` installs Debian's chromium when
// it can). Without one it fails; it never skips.

// screenshotDir is where each step's screenshot goes (git-ignored).
const screenshotDir = "screenshots"

func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LATCHKEY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the console's browser tests need Chromium: install Debian's `chromium` package (apt-get install -y chromium; `make test` does it when it runs as root) or set LATCHKEY_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// tab is one browser tab on the console, with the test's helpers.
type tab struct {
	t         *testing.T
	ctx       context.Context
	base      string
	downloads string
	step      int

	mu       sync.Mutex
	urls     []string
	problems []string
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (b *tab) waitFor(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js)); err != nil {
		b.shot("failure")
		b.t.Fatalf("waiting for %s (%s): %v", what, js, err)
	}
}

// shot saves a screenshot of the whole page.
func (b *tab) shot(name string) {
	b.t.Helper()
	b.save(name, chromedp.FullScreenshot(100))
}

// shotOf saves a screenshot of one element (the docs page is too long for
// a whole-page picture to show anything).
func (b *tab) shotOf(name, sel string) {
	b.t.Helper()
	b.save(name, chromedp.Screenshot(chromedp.CSS(sel)))
}

func (b *tab) save(name string, capture chromedp.Action[[]byte]) {
	b.t.Helper()
	b.step++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(screenshotDir, fmt.Sprintf("%02d-%s.png", b.step, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Errorf("save %s: %v", file, err)
	}
}

func (b *tab) exists(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, sel))
}

func (b *tab) value(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q).value`, sel))
}

// setValue sets a control's value as a user's edit would, with the input
// and change events the page listens to.
func (b *tab) setValue(sel, v string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })()`, sel, v))
}

func (b *tab) click(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

func (b *tab) visible(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

// generation identifies the console's current rendering of a view.
func (b *tab) generation() int {
	b.t.Helper()
	return eval[int](b, `Number(document.querySelector('#main')?.dataset.generation ?? 0)`)
}

// rendered waits until the console has rendered a view after generation g
// and loaded its data, so the test never acts on the page it is leaving.
func (b *tab) rendered(g int) {
	b.t.Helper()
	b.waitFor("the next view", fmt.Sprintf(`(m => !!m && Number(m.dataset.generation) > %d && !m.hasAttribute('aria-busy'))(document.querySelector('#main'))`, g))
}

// goTo opens a console route and waits for it.
func (b *tab) goTo(hash string) {
	b.t.Helper()
	g := b.generation()
	eval[chromedp.Void](b, fmt.Sprintf(`location.hash = %q`, hash))
	b.rendered(g)
}

// clickThrough clicks something that renders a new view, and waits for it.
func (b *tab) clickThrough(sel string) {
	b.t.Helper()
	g := b.generation()
	b.click(sel)
	b.rendered(g)
}

// texts lists the trimmed text of every element the selector matches.
func (b *tab) texts(sel string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, sel))
}

// unlabelled lists the form controls on the page that have no label.
func (b *tab) unlabelled() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('input, select, textarea')]
		.filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
		.map(e => e.id || e.outerHTML.slice(0, 80))`)
}

func (b *tab) requireLabelled(view string) {
	b.t.Helper()
	if u := b.unlabelled(); len(u) > 0 {
		b.t.Errorf("%s: form controls without a label: %v", view, u)
	}
}

// rowOf opens the token list at the page that lists the token id.
func (b *tab) rowOf(id string) {
	b.t.Helper()
	if eval[string](b, `location.hash`) != "#/tokens" {
		b.goTo("#/tokens")
	}
	for !b.exists(`[data-action="previous-page"]:disabled`) {
		b.clickThrough(`[data-action="previous-page"]`)
	}
	row := fmt.Sprintf("[data-actions-for=%q]", id)
	for !b.exists(row) {
		if b.exists(`[data-action="next-page"]:disabled`) {
			b.t.Fatalf("no page lists token %s", id)
		}
		b.clickThrough(`[data-action="next-page"]`)
	}
}

// api calls the dev server directly, as a second client would.
type api struct {
	t     *testing.T
	base  string
	token string
}

func (a api) call(method, path, body string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// raw is a call's status and body as the API wrote it, numbers and all.
func (a api) raw(method, path string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func (a api) tokenCount() int {
	a.t.Helper()
	n := 0
	cursor := ""
	for {
		status, page := a.call("GET", "/v1/tokens?limit=200&cursor="+cursor, "")
		if status != 200 {
			a.t.Fatalf("list tokens: %d %v", status, page)
		}
		n += len(page["items"].([]any))
		next, _ := page["next_cursor"].(string)
		if next == "" {
			return n
		}
		cursor = next
	}
}

func opensslPublicKey(t *testing.T) (pemText string) {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ec.pem"},
		{"pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "privateKey.pem"},
		{"ec", "-in", "privateKey.pem", "-pubout", "-out", "publicKey.pem"},
	} {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "publicKey.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// canonicalKey is a PEM key as the API stores and shows it.
func canonicalKey(t *testing.T, pemText string) string {
	t.Helper()
	_, canonical, err := pubkey.Parse(pemText)
	if err != nil {
		t.Fatal(err)
	}
	return canonical
}

// secretOf is the part of a token string that must never leak.
func secretOf(token string) string {
	if i := strings.LastIndex(token, "_"); i >= 0 {
		return token[i+1:]
	}
	return token
}

func TestConsoleInBrowser(t *testing.T) {
	chromium := findChromium(t)
	if err := os.RemoveAll(screenshotDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	srv, err := devserver.Start(ctx, devserver.Config{
		Addr: "127.0.0.1:0", CacheTTL: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	root := api{t: t, base: srv.URL, token: srv.RootToken}
	rootCaller := caller.Caller{Principal: srv.RootTokenID, Account: "root", CredentialID: srv.RootTokenID,
		Permissions: permission.All(), Groups: []string{"admins"}, Kind: "secret", Auth: caller.AuthToken}
	secrets := []string{secretOf(srv.RootToken)}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	b := &tab{t: t, ctx: bctx, base: srv.URL, downloads: t.TempDir()}
	// Start the browser and open the tab on the tab's own context: the
	// first run binds the browser to its context, so not a timeout child.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}

	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(bctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: srv.URL,
		}); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("network events: %v", err)
	}
	// Every URL the page requests, and every console problem.
	requests := chromedp.Events(bctx, network.RequestWillBeSent)
	console := chromedp.Console(bctx)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.urls = append(b.urls, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			// Refused API calls (401, 400) are logged as failed loads; the
			// tests make those on purpose.
			if strings.Contains(m.Text, "Failed to load resource") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException ||
				strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				b.mu.Lock()
				b.problems = append(b.problems, string(m.Type)+": "+m.Text)
				b.mu.Unlock()
			}
		}
	}()

	now := time.Now().UTC()
	today := credential.Day(now)
	tomorrow := today.AddDate(0, 0, 1).Format(credential.DateLayout)
	yearAhead := today.AddDate(1, 0, 0).Format(credential.DateLayout)

	// ---- Sign in ----------------------------------------------------------
	b.do(chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#signin-token")))
	if got := eval[string](b, `document.activeElement.id`); got != "signin-token" {
		t.Errorf("focus on load is on %q, want the token field", got)
	}
	b.requireLabelled("sign-in")
	b.shot("sign-in")

	// The page runs under its CSP, and a violation would be seen: an
	// injected inline script is refused and reported.
	eval[chromedp.Void](b, `document.body.append(Object.assign(document.createElement('script'), {textContent: 'window.inlineRan = true'}))`)
	if eval[bool](b, `window.inlineRan === true`) {
		t.Error("an inline script ran: the Content-Security-Policy is not in force")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		seen := slices.ContainsFunc(b.problems, func(p string) bool { return strings.Contains(p, "Content Security Policy") })
		if seen {
			b.problems = nil
		}
		b.mu.Unlock()
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a CSP violation was not reported to the console, so the check for them would prove nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}

	b.do(chromedp.SendKeys(chromedp.CSS("#signin-token"), "lk_AAAAAAAAAAAAAAAA_notarealtoken\n"))
	b.waitFor("the refusal", `document.querySelector('[data-error-for="token"]')?.hidden === false`)
	if msg := b.text(`[data-error-for="token"]`); !strings.Contains(msg, "refused") {
		t.Errorf("a bad token shows %q", msg)
	}
	if eval[bool](b, `sessionStorage.length > 0`) {
		t.Error("a refused token was kept")
	}
	b.shot("sign-in-refused")

	// Sign in by keyboard alone: type the token, press Enter.
	b.setValue("#signin-token", "")
	b.do(chromedp.SendKeys(chromedp.CSS("#signin-token"), srv.RootToken+"\n"))
	b.visible("#tokens-table")
	if rows := b.texts("#tokens-table tbody tr td:first-child"); !slices.Equal(rows, []string{"dev root admin"}) {
		t.Errorf("token list %v", rows)
	}
	b.shot("signed-in")

	// ---- Create a secret token --------------------------------------------
	// Reach "Create token" with Tab and open it with Enter.
	for i := 0; i < 20 && eval[string](b, `document.activeElement.id`) != "new-token"; i++ {
		b.do(chromedp.KeyEvent("\t"))
	}
	if got := eval[string](b, `document.activeElement.id`); got != "new-token" {
		t.Fatalf("Tab never reached Create token (focus on %q)", got)
	}
	g := b.generation()
	b.do(chromedp.KeyEvent("\r"))
	b.rendered(g)
	b.visible("#create-form")
	b.requireLabelled("create")
	if b.exists("#expiry-never") {
		t.Error(`"Never expires" offered although the account's policy requires expiry`)
	}
	if min, max := eval[string](b, `document.querySelector('#expiry-day').min`), eval[string](b, `document.querySelector('#expiry-day').max`); min != tomorrow || max != yearAhead {
		t.Errorf("date picker bounds %s..%s, want %s..%s", min, max, tomorrow, yearAhead)
	}
	if !eval[bool](b, `document.querySelector('#expiry-preset-2').checked`) {
		t.Error("90 days is not the default expiry")
	}
	// By default the token gets the creator's permissions: every box ticked.
	if n := eval[int](b, `document.querySelectorAll('#permission-grid input:not(:checked)').length`); n != 0 {
		t.Errorf("%d permissions not ticked by default", n)
	}
	b.shot("create-form")

	b.click("#perm-clear")
	if n := eval[int](b, `document.querySelectorAll('#permission-grid input:checked').length`); n != 0 {
		t.Errorf("Clear left %d ticked", n)
	}
	b.click("#perm-apikeys-manage")
	if !eval[bool](b, `document.querySelector('#perm-apikeys-view').checked && document.querySelector('#perm-apikeys-view').disabled`) {
		t.Error("ticking Manage did not tick (and hold) View")
	}
	b.click("#perm-roles-view")
	b.shot("permission-grid")

	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "CI deploys"),
		chromedp.SendKeys(chromedp.CSS("#create-ips"), "10.0.0.1, 10.0.0.0/24;2001:db8::/32\n10.0.0.1"))
	wantIPs := []string{"10.0.0.1", "10.0.0.0/24", "2001:db8::/32"}
	if got := b.texts("#create-ips-list .ip-text"); !slices.Equal(got, wantIPs) {
		t.Errorf("allowed IPs shown %v, want %v", got, wantIPs)
	}
	if s := b.text("#create-ips-summary"); !strings.Contains(s, "3 entries") || !strings.Contains(s, "1 duplicate dropped") {
		t.Errorf("IP summary %q", s)
	}
	b.shot("allowed-ips")

	b.do(chromedp.SendKeys(chromedp.CSS("#create-ips"), "\n10.0.0.300"))
	if bad := b.texts(`#create-ips-list li[data-valid="false"]`); len(bad) != 1 || !strings.Contains(bad[0], "10.0.0.300") || !strings.Contains(bad[0], "Invalid IP address") {
		t.Errorf("invalid entry shown as %v", bad)
	}
	b.click("#create-submit")
	b.waitFor("the IP error", `document.querySelector('[data-error-for="allowed_ips"]')?.hidden === false`)
	if msg := b.text(`[data-error-for="allowed_ips"]`); !strings.Contains(msg, "Invalid IP address") {
		t.Errorf("allowed_ips error %q", msg)
	}
	if n := root.tokenCount(); n != 1 {
		t.Fatalf("%d tokens after a refused form, want only the root token", n)
	}
	b.shot("invalid-ip-refused")

	b.click(`#create-ips-list li[data-valid="false"] button`)
	if got := b.texts("#create-ips-list .ip-text"); !slices.Equal(got, wantIPs) {
		t.Errorf("after removing the invalid entry: %v", got)
	}
	b.click("#create-submit")
	b.visible("#secret-dialog")
	ciID, ciToken, ciSecret := b.value("#secret-id"), b.value("#secret-token"), b.value("#secret-client-secret")
	if !strings.HasPrefix(ciToken, "lk_"+ciID+"_") || !strings.HasSuffix(ciToken, ciSecret) {
		t.Fatalf("dialog shows id %q token %q secret %q", ciID, ciToken, ciSecret)
	}
	secrets = append(secrets, secretOf(ciToken))
	if w := b.text("#secret-warning"); !strings.Contains(w, "cannot be shown again") {
		t.Errorf("warning %q", w)
	}
	b.shot("secret-shown-once")

	// Copy the secret, then download the .token file.
	b.click(`[data-copy="secret-token"]`)
	b.waitFor("the copy", `document.querySelector('#secret-copy-status')?.textContent.includes('copied')`)
	if got := eval[string](b, `navigator.clipboard.readText()`); got != ciToken {
		t.Errorf("clipboard holds %q, want the token", got)
	}
	b.click("#secret-download")
	downloaded := waitForFile(t, filepath.Join(b.downloads, "CI-deploys.token"))
	status, ci := root.call("GET", "/v1/tokens/"+ciID, "")
	if status != 200 {
		t.Fatalf("get the new token: %d", status)
	}
	expires, _ := time.Parse(time.RFC3339, ci["expires_at"].(string))
	want := tokenfile.File{ID: ciID, Name: "CI deploys", Account: "root", ExpiresAt: expires, ClientSecret: ciSecret, Token: ciToken}.String()
	if downloaded != want {
		t.Errorf("downloaded file:\n%s\nwant (as ?format=file answers):\n%s", downloaded, want)
	}
	if got := ci["expires_at"]; got != credential.EndOfDay(today.AddDate(0, 0, 90)).Format(time.RFC3339) {
		t.Errorf("default expiry %v, want 90 days", got)
	}
	if got := fmt.Sprint(ci["permissions"]); got != "[apikeys:manage roles:view]" {
		t.Errorf("permissions %s", got)
	}
	if got := fmt.Sprint(ci["allowed_ips"]); got != "[10.0.0.1 10.0.0.0/24 2001:db8::/32]" {
		t.Errorf("allowed_ips %s", got)
	}
	b.clickThrough("#secret-done")
	b.visible("#edit-form")
	if eval[bool](b, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, ciSecret)) {
		t.Error("the secret is still in the page after the dialog closed")
	}
	if got := b.texts("#token-allowed-ips li"); !slices.Equal(got, wantIPs) {
		t.Errorf("detail shows allowed IPs %v", got)
	}
	b.requireLabelled("detail")
	b.shot("token-detail")

	// ---- Edit: name, more IPs, expiry extension ---------------------------
	b.setValue("#edit-name", "CI deploys (prod)")
	b.do(chromedp.SendKeys(chromedp.CSS("#edit-add-ips"), "192.0.2.7"))
	b.setValue("#edit-expires", today.AddDate(1, 0, 1).Format(credential.DateLayout))
	b.click("#edit-submit")
	b.waitFor("the expiry error", `document.querySelector('#edit-form [data-error-for="expires_at"]')?.hidden === false`)
	b.shot("extension-beyond-a-year-refused")
	extended := today.AddDate(0, 0, 200).Format(credential.DateLayout)
	b.setValue("#edit-expires", extended)
	b.click("#edit-submit")
	b.waitFor("the save", `(document.querySelector('#flash') || {}).textContent === 'Changes saved.'`)
	_, ci = root.call("GET", "/v1/tokens/"+ciID, "")
	if ci["name"] != "CI deploys (prod)" || fmt.Sprint(ci["allowed_ips"]) != "[10.0.0.1 10.0.0.0/24 2001:db8::/32 192.0.2.7]" ||
		!strings.HasPrefix(ci["expires_at"].(string), extended) {
		t.Errorf("after the edit: %v %v %v", ci["name"], ci["allowed_ips"], ci["expires_at"])
	}
	b.shot("token-edited")
	// A blank "Add allowed IPs" leaves the list alone; emptying it is its
	// own checkbox, and the form will not both add and empty.
	b.setValue("#edit-description", "deploys from CI")
	g = b.generation()
	b.click("#edit-submit")
	b.rendered(g)
	if _, ci = root.call("GET", "/v1/tokens/"+ciID, ""); fmt.Sprint(ci["allowed_ips"]) != "[10.0.0.1 10.0.0.0/24 2001:db8::/32 192.0.2.7]" {
		t.Errorf("an edit with no IPs to add changed the allowlist to %v", ci["allowed_ips"])
	}
	b.click("#edit-clear-ips")
	b.do(chromedp.SendKeys(chromedp.CSS("#edit-add-ips"), "192.0.2.8"))
	b.click("#edit-submit")
	b.waitFor("the conflict", `document.querySelector('#edit-form [data-error-for="add_allowed_ips"]')?.hidden === false`)
	if msg := b.text(`#edit-form [data-error-for="add_allowed_ips"]`); !strings.Contains(msg, "not both") {
		t.Errorf("emptying and adding at once shows %q", msg)
	}
	b.setValue("#edit-add-ips", "")
	g = b.generation()
	b.click("#edit-submit")
	b.rendered(g)
	if _, ci = root.call("GET", "/v1/tokens/"+ciID, ""); fmt.Sprint(ci["allowed_ips"]) != "[]" {
		t.Errorf("after emptying the allowlist: %v", ci["allowed_ips"])
	}
	if got := eval[string](b, `[...document.querySelectorAll('.props dt')].find(d => d.textContent === 'Allowed IPs').nextElementSibling.textContent`); got != "Any address" {
		t.Errorf("an emptied allowlist shows %q", got)
	}
	if b.exists("#edit-clear-ips") {
		t.Error("an empty allowlist is offered to be emptied")
	}
	b.shot("allowlist-emptied")

	// ---- Metadata and contact on the token's page -------------------------
	addMeta := func(form, key, kind, value string) {
		t.Helper()
		b.click("#" + form + "-meta-add")
		row := fmt.Sprintf("#%s-meta-rows .meta-row:last-child", form)
		b.setValue(row+" .meta-key", key)
		b.setValue(row+" .meta-kind", kind)
		if kind == "boolean" {
			b.setValue(row+" .meta-flag", value)
		} else {
			b.setValue(row+" .meta-value", value)
		}
	}
	addMeta("edit", "owner", "text", "payments")
	addMeta("edit", "floor", "number", "3")
	addMeta("edit", "trust", "boolean", "false")
	b.setValue("#edit-contact", "Ops@Example.COM")
	g = b.generation()
	b.click("#edit-submit")
	b.rendered(g)
	status, raw := root.raw("GET", "/v1/tokens/"+ciID)
	if status != 200 || !strings.Contains(raw, `"meta":{"floor":3,"owner":"payments","trust":false}`) || !strings.Contains(raw, `"contact_email":"Ops@example.com"`) {
		t.Errorf("after adding metadata and a contact: %s", raw)
	}
	if got := b.texts("#token-meta dt"); !slices.Equal(got, []string{"floor", "owner", "trust"}) {
		t.Errorf("the page lists metadata keys %v", got)
	}
	b.shot("token-metadata")
	// A key the API would refuse is marked on its row before anything is
	// sent; a value only the API refuses comes back to the row of its key.
	addMeta("edit", "Ticket", "text", "OPS-1")
	b.click("#edit-submit")
	b.waitFor("the key error", `[...document.querySelectorAll('#edit-meta-rows .field-error')].some(e => !e.hidden)`)
	b.setValue("#edit-meta-rows .meta-row:last-child .meta-key", "note")
	b.setValue("#edit-meta-rows .meta-row:last-child .meta-value", "a\u202eb")
	b.click("#edit-submit")
	b.waitFor("the API's error on the row", `document.querySelector('#edit-form [data-error-for="meta.note"]')?.hidden === false`)
	if msg := b.text(`#edit-form [data-error-for="meta.note"]`); !strings.Contains(msg, "U+202E") {
		t.Errorf("the note's error reads %q", msg)
	}
	// Remove the bad row and "owner"; change "floor": only those go, as merge_meta.
	b.click("#edit-meta-rows .meta-row:last-child button")
	eval[chromedp.Void](b, `[...document.querySelectorAll('#edit-meta-rows .meta-row')].find(r => r.querySelector('.meta-key').value === 'owner').querySelector('button').click()`)
	eval[chromedp.Void](b, `(() => { const r = [...document.querySelectorAll('#edit-meta-rows .meta-row')].find(r => r.querySelector('.meta-key').value === 'floor');
		const v = r.querySelector('.meta-value'); v.value = '4'; v.dispatchEvent(new Event('input', {bubbles: true})); })()`)
	// Meanwhile someone else sets a key; the page's save keeps it.
	if status, _ := root.call("PATCH", "/v1/tokens/"+ciID, `{"merge_meta":{"ticket":"OPS-9"}}`); status != 200 {
		t.Fatalf("merge from elsewhere: %d", status)
	}
	b.setValue("#edit-contact", "")
	g = b.generation()
	b.click("#edit-submit")
	b.rendered(g)
	if _, raw = root.raw("GET", "/v1/tokens/"+ciID); !strings.Contains(raw, `"meta":{"floor":4,"ticket":"OPS-9","trust":false}`) || !strings.Contains(raw, `"contact_email":null`) {
		t.Errorf("after removing and changing keys: %s", raw)
	}
	// A number JavaScript cannot hold exactly survives an edit of the page
	// that leaves its row alone.
	if status, _ := root.call("PATCH", "/v1/tokens/"+ciID, `{"merge_meta":{"big":123456789012345678901234567890}}`); status != 200 {
		t.Fatalf("set a big number: %d", status)
	}
	b.goTo("#/tokens")
	b.goTo("#/tokens/" + ciID)
	b.visible("#edit-form")
	addMeta("edit", "zone", "text", "eu")
	g = b.generation()
	b.click("#edit-submit")
	b.rendered(g)
	if _, raw = root.raw("GET", "/v1/tokens/"+ciID); !strings.Contains(raw, `"big":123456789012345678901234567890,`) || !strings.Contains(raw, `"zone":"eu"`) {
		t.Errorf("after an edit beside a big number: %s", raw)
	}

	// ---- Create a token inactive, with metadata and a contact --------------
	b.goTo("#/tokens/new")
	b.visible("#create-form")
	if got := b.value("#create-contact"); got != "" {
		t.Errorf("the contact field holds %q, but the signed-in token has none", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "staged kiosk"))
	b.setValue("#create-contact", "kiosk-team@example.com")
	addMeta("create", "site", "text", "berlin-3")
	addMeta("create", "allow_unauthenticated", "boolean", "true")
	b.click("#create-inactive")
	b.shot("create-metadata-inactive")
	b.click("#create-submit")
	b.visible("#secret-dialog")
	stagedID := b.value("#secret-id")
	secrets = append(secrets, secretOf(b.value("#secret-token")))
	b.clickThrough("#secret-done")
	b.visible("#edit-form")
	if _, raw = root.raw("GET", "/v1/tokens/"+stagedID); !strings.Contains(raw, `"status":"inactive"`) ||
		!strings.Contains(raw, `"meta":{"allow_unauthenticated":true,"site":"berlin-3"}`) || !strings.Contains(raw, `"contact_email":"kiosk-team@example.com"`) {
		t.Errorf("the staged token: %s", raw)
	}
	if s := b.text(".view-head .badge"); s != "Inactive" {
		t.Errorf("badge %q for a token created inactive", s)
	}

	// ---- A public-key token from an openssl-made publicKey.pem ------------
	pemText := opensslPublicKey(t)
	b.goTo("#/tokens/new")
	b.visible("#create-form")
	b.click("#kind-public-key")
	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "printer 7"))
	b.setValue("#create-public-key", pemText)
	b.click("#create-submit")
	b.visible("#secret-dialog")
	pkID := b.value("#secret-id")
	if b.exists("#secret-token") || !strings.Contains(b.text("#secret-warning"), "private key") {
		t.Error("a public_key token's dialog shows a secret or no explanation")
	}
	b.shot("public-key-token-created")
	b.clickThrough("#secret-done")
	b.visible("#rotate-form")
	_, pk := root.call("GET", "/v1/tokens/"+pkID, "")
	if pk["kind"] != "public_key" || pk["public_key"] != canonicalKey(t, pemText) {
		t.Errorf("public key token %v / %v", pk["kind"], pk["public_key"])
	}
	// Rotate its key with a PEM body that has no BEGIN/END lines.
	newPEM := opensslPublicKey(t)
	lines := strings.Split(strings.TrimSpace(newPEM), "\n")
	body := strings.Join(lines[1:len(lines)-1], "\n")
	b.setValue("#rotate-public-key", body)
	b.click("#rotate-submit")
	b.visible("#secret-dialog")
	b.clickThrough("#secret-done")
	b.visible("#rotate-form")
	if _, pk = root.call("GET", "/v1/tokens/"+pkID, ""); pk["public_key"] != canonicalKey(t, newPEM) {
		t.Errorf("key after rotation %v", pk["public_key"])
	}
	b.shot("public-key-rotated")

	// ---- Rotate the secret token with a grace period ----------------------
	b.goTo("#/tokens/" + ciID)
	b.visible("#rotate-form")
	b.setValue("#rotate-grace", "3600")
	b.click("#rotate-submit")
	b.visible("#secret-dialog")
	rotated := b.value("#secret-token")
	if b.value("#secret-id") != ciID || rotated == ciToken || !strings.HasPrefix(rotated, "lk_"+ciID+"_") {
		t.Errorf("rotation showed %q for %s", rotated, ciID)
	}
	secrets = append(secrets, secretOf(rotated))
	b.shot("rotated-secret-shown-once")
	b.clickThrough("#secret-done")
	b.visible("#rotate-form")
	if _, ci = root.call("GET", "/v1/tokens/"+ciID, ""); ci["previous_valid_until"] == nil {
		t.Error("no grace period after the rotation")
	}

	// ---- Revoke after a confirmation --------------------------------------
	b.click("#revoke")
	b.visible("#confirm-dialog")
	b.shot("revoke-confirmation")
	b.clickThrough("#confirm-yes")
	b.visible("#read-only-notice")
	if s := b.text(".view-head .badge"); s != "Revoked" {
		t.Errorf("badge %q after revoking", s)
	}
	if n := eval[int](b, `document.querySelectorAll('main form, main button, main input').length`); n != 0 {
		t.Errorf("a revoked token shows %d controls", n)
	}
	if _, ci = root.call("GET", "/v1/tokens/"+ciID, ""); ci["status"] != "revoked" {
		t.Errorf("status %v", ci["status"])
	}
	b.shot("revoked-read-only")

	// ---- An expired token: labelled Expired, no edit controls -------------
	past := admin.New(srv.Store, clock.NewManual(now.AddDate(0, -3, 0)))
	old, err := past.CreateToken(ctx, rootCaller, "", admin.CreateRequest{Spec: credential.Spec{
		Name: "legacy backup job", ExpiresAt: credential.Day(now.AddDate(0, -2, 0)).Format(credential.DateLayout),
	}})
	if err != nil {
		t.Fatal(err)
	}
	b.goTo("#/tokens?status=expired")
	b.waitFor("the expired list", `!!document.querySelector('#tokens-table') && document.querySelector('#tokens-status')?.value === 'expired'`)
	if rows := b.texts("#tokens-table tbody tr td:first-child"); !slices.Equal(rows, []string{"legacy backup job"}) {
		t.Errorf("expired filter lists %v", rows)
	}
	if s := b.text(`#tokens-table [data-status]`); s != "Expired" {
		t.Errorf("label %q", s)
	}
	b.shot("expired-in-list")
	b.clickThrough(fmt.Sprintf(`a[data-token-id="%s"]`, old.Credential.ID))
	b.visible("#read-only-notice")
	if n := eval[int](b, `document.querySelectorAll('main form, main button, main input, main textarea, main select').length`); n != 0 {
		t.Errorf("an expired token shows %d controls", n)
	}
	if s := b.text(".view-head .badge"); s != "Expired" {
		t.Errorf("badge %q", s)
	}
	b.shot("expired-read-only")

	// ---- Paging through next_cursor ---------------------------------------
	var bulkIDs []string
	for i := range 20 {
		c, err := srv.Admin.CreateToken(ctx, rootCaller, "", admin.CreateRequest{Spec: credential.Spec{Name: fmt.Sprintf("bulk %02d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		bulkIDs = append(bulkIDs, c.Credential.ID)
	}
	total := root.tokenCount()
	b.goTo("#/tokens")
	b.waitFor("page 1", `document.querySelectorAll('#tokens-table tbody tr').length === 20`)
	first := b.texts("#tokens-table tbody tr td:first-child")
	b.clickThrough(`[data-action="next-page"]`)
	b.waitFor("page 2", `document.querySelector('.page-number')?.textContent === 'Page 2'`)
	second := b.texts("#tokens-table tbody tr td:first-child")
	if len(second) != total-20 || slices.ContainsFunc(second, func(s string) bool { return slices.Contains(first, s) }) {
		t.Errorf("page 2 lists %d tokens (%v), want the other %d", len(second), second, total-20)
	}
	if !eval[bool](b, `document.querySelector('[data-action="next-page"]').disabled`) {
		t.Error("Next page enabled on the last page")
	}
	b.shot("tokens-page-2")
	b.clickThrough(`[data-action="previous-page"]`)
	b.waitFor("page 1 again", `document.querySelector('.page-number')?.textContent === 'Page 1'`)

	// Revoke from the list, after a confirmation.
	b.rowOf(bulkIDs[0])
	b.click(fmt.Sprintf(`[data-actions-for=%q] [data-action="revoke"]`, bulkIDs[0]))
	b.visible("#confirm-dialog")
	b.clickThrough("#confirm-yes")
	b.rowOf(bulkIDs[0])
	if got := b.text(fmt.Sprintf(`[data-actions-for=%q]`, bulkIDs[0])); got != "Read-only" {
		t.Errorf("a revoked token's row offers %q", got)
	}
	if _, bulk := root.call("GET", "/v1/tokens/"+bulkIDs[0], ""); bulk["status"] != "revoked" {
		t.Errorf("revoked from the list: status %v", bulk["status"])
	}

	// ---- Events ------------------------------------------------------------
	b.goTo("#/events?token_id=" + ciID)
	b.visible("#events-table")
	types := b.texts("#events-table .event-type")
	for _, want := range []string{"token.created", "token.updated", "token.rotated", "token.revoked"} {
		if !slices.Contains(types, want) {
			t.Errorf("events of the token %v lack %s", types, want)
		}
	}
	b.requireLabelled("events")
	b.shot("events-of-a-token")
	b.setValue("#events-type", "token.revoked")
	b.click("#events-apply")
	b.waitFor("the type filter", `(l => l.length > 0 && l.every(e => e.textContent === 'token.revoked'))([...document.querySelectorAll('#events-table .event-type')])`)
	if got := b.texts("#events-table .event-type"); !slices.Equal(got, []string{"token.revoked"}) {
		t.Errorf("revocations of the token: %v", got)
	}
	b.shot("events-filtered")
	b.setValue("#events-token", "AAAAAAAAAAAAAAAA")
	b.setValue("#events-type", "")
	b.click("#events-apply")
	b.waitFor("the token_id error", `document.querySelector('[data-error-for="token_id"]')?.hidden === false`)
	if msg := b.text(`[data-error-for="token_id"]`); !strings.Contains(msg, "no such token") {
		t.Errorf("an unknown token ID shows %q next to the field", msg)
	}
	b.shot("events-error-next-to-field")

	// ---- Accounts and roles ------------------------------------------------
	if status, _ := root.call("POST", "/v1/accounts", `{"id":"acme","name":"Acme Corp"}`); status != 201 {
		t.Fatalf("create sub-account: %d", status)
	}
	if status, _ := root.call("POST", "/v1/roles", `{"name":"read-only","description":"Sees tokens","permissions":["apikeys:view"]}`); status != 201 {
		t.Fatalf("create role: %d", status)
	}
	b.goTo("#/accounts")
	b.visible("#accounts-table")
	if rows := b.texts("#accounts-table tbody td:first-child"); !slices.Equal(rows, []string{"acme"}) {
		t.Errorf("sub-accounts %v", rows)
	}
	b.shot("accounts")
	b.goTo("#/roles")
	b.visible("#roles-table")
	if rows := b.texts("#roles-table tbody td:first-child"); !slices.Equal(rows, []string{"read-only"}) {
		t.Errorf("roles %v", rows)
	}
	b.shot("roles")
	if got := eval[[]string](b, `[...document.querySelectorAll('#roles-table .defined-by')].map(e => e.textContent + '|' + e.dataset.inherited)`); !slices.Equal(got, []string{"root|false"}) {
		t.Errorf("the root account's own role shows as %v", got)
	}
	// Roles of the accounts above are marked inherited, whether the API
	// says so (inherited) or leaves the field out; this answer stands in
	// for an account below one that defines roles.
	eval[chromedp.Void](b, `(() => {
		const role = (name, account, extra) => ({name, account, description: '', permissions: ['apikeys:view'],
			created_at: '2026-01-02T03:04:05Z', created_by: 'x', ...extra});
		const page = {items: [role('auditor', 'vendor', {inherited: true}), role('legacy', 'vendor', {}), role('local', 'root', {inherited: false})], next_cursor: null};
		window.realFetch = window.fetch;
		window.fetch = (url, opts) => String(url).includes('/v1/roles')
			? Promise.resolve(new Response(JSON.stringify(page), {status: 200, headers: {'Content-Type': 'application/json'}}))
			: window.realFetch(url, opts);
	})()`)
	b.goTo("#/accounts")
	b.goTo("#/roles")
	b.visible("#roles-table")
	if got := eval[[]string](b, `[...document.querySelectorAll('#roles-table .defined-by')].map(e => e.textContent + '|' + e.dataset.inherited)`); !slices.Equal(got, []string{"vendor Inherited|true", "vendor Inherited|true", "root|false"}) {
		t.Errorf("inherited roles show as %v", got)
	}
	b.shot("roles-inherited")
	eval[chromedp.Void](b, `window.fetch = window.realFetch`)
	// ---- Expiry bounds: the form refuses, and so does the API --------------
	before := root.tokenCount()
	b.goTo("#/tokens/new")
	b.visible("#create-form")
	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "bounds"))
	for _, day := range []string{today.Format(credential.DateLayout), today.AddDate(1, 0, 1).Format(credential.DateLayout)} {
		b.setValue("#expiry-day", day)
		if !eval[bool](b, `document.querySelector('#expiry-date').checked`) {
			t.Fatal(`picking a date did not choose "On a date"`)
		}
		b.click("#create-submit")
		b.waitFor("the expiry error", `document.querySelector('#create-form [data-error-for="expires_at"]')?.hidden === false`)
		if msg := b.text(`#create-form [data-error-for="expires_at"]`); !strings.Contains(msg, tomorrow) || !strings.Contains(msg, yearAhead) {
			t.Errorf("expiry %s: error %q", day, msg)
		}
		if b.exists("#secret-dialog") {
			t.Fatalf("expiry %s was submitted", day)
		}
		status, out := root.call("POST", "/v1/tokens", `{"name":"bounds","expires_at":"`+day+`"}`)
		if status != 400 || out["field"] != "expires_at" {
			t.Errorf("the API took expires_at %s: %d %v", day, status, out)
		}
	}
	if n := root.tokenCount(); n != before {
		t.Errorf("%d tokens after refused expiries, want %d", n, before)
	}
	b.shot("expiry-out-of-bounds")

	// ---- The IP list preview agrees with the API's parser ------------------
	tricky := "10.0.0.1/24 ::ffff:10.0.0.1 2001:DB8:0:0:0:0:0:1 2001:db8::1/64 fe80::1%eth0 010.0.0.1 1.2.3.4/33 ::/0 0.0.0.0/0 " +
		"2001:0db8::/32 ::ffff:10.0.0.9/120 1:2:3:4:5:6:7:8 1::2:0:0:3 10.0.0.0/24;10.0.0.7/24, 256.1.1.1 ::1 ::"
	b.setValue("#create-ips", tricky)
	type entry struct {
		Valid bool   `json:"valid"`
		Text  string `json:"text"`
	}
	shown := eval[[]entry](b, `[...document.querySelectorAll('#create-ips-list li')].map(li => ({valid: li.dataset.valid === 'true', text: li.querySelector('.ip-text').textContent}))`)
	var wantEntries []entry
	seen := map[string]bool{}
	for _, raw := range iplist.Split(tricky) {
		l, err := iplist.Parse([]string{raw})
		e := entry{Valid: err == nil, Text: raw}
		if err == nil {
			e.Text = l.Entries()[0]
		}
		if key := fmt.Sprint(e); !seen[key] {
			seen[key] = true
			wantEntries = append(wantEntries, e)
		}
	}
	if !slices.Equal(shown, wantEntries) {
		t.Errorf("the console reads the IP list as\n%v\nthe API as\n%v", shown, wantEntries)
	}

	// ---- A caller with fewer rights is offered only those ------------------
	limited, err := srv.Admin.CreateToken(ctx, rootCaller, "", admin.CreateRequest{Spec: credential.Spec{
		Name: "helpdesk", Permissions: []string{"apikeys:view", "apikeys:modify"}, PermsGiven: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, secretOf(limited.Token.String()))
	b.click("#sign-out")
	b.visible("#signin-token")
	if eval[bool](b, `sessionStorage.getItem('latchkey.token') !== null`) {
		t.Error("Sign out left the token in sessionStorage")
	}
	// Sign in by opening a .token file this time.
	file := filepath.Join(t.TempDir(), "helpdesk.token")
	content := tokenfile.File{ID: limited.Credential.ID, Name: "helpdesk", Account: "root", ExpiresAt: limited.Credential.ExpiresAt,
		ClientSecret: limited.Token.ClientSecret(), Token: limited.Token.String()}.String()
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#signin-file"), []string{file}))
	b.visible("#tokens-table")
	b.clickThrough("#new-token")
	b.visible("#create-form")
	offered := eval[[]string](b, `[...document.querySelectorAll('#permission-grid input')].map(e => e.dataset.permission)`)
	if !slices.Equal(offered, []string{"apikeys:view", "apikeys:modify"}) {
		t.Errorf("a caller with apikeys:view and apikeys:modify is offered %v", offered)
	}
	if b.exists("#perm-apikeys-manage") || b.exists("#perm-accounts-view") || b.exists("#perm-roles-view") {
		t.Error("permissions the caller lacks are offered")
	}
	b.shot("limited-caller-create")
	// ---- A blank allowed-IPs input creates an open token -------------------
	// A view-only token, made by this caller, with no allowed_ips sent.
	eval[chromedp.Void](b, `(() => {
		window.sentBodies = [];
		const f = window.fetch;
		window.fetch = (url, opts) => { if (opts && opts.body) window.sentBodies.push(opts.body); return f(url, opts); };
	})()`)
	b.click("#perm-apikeys-modify")
	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "viewer"))
	b.click("#create-submit")
	b.visible("#secret-dialog")
	viewerID := b.value("#secret-id")
	secrets = append(secrets, secretOf(b.value("#secret-token")))
	var sent map[string]any
	if err := json.Unmarshal([]byte(eval[string](b, `window.sentBodies.at(-1)`)), &sent); err != nil {
		t.Fatalf("the create request's body: %v", err)
	}
	if ips, ok := sent["allowed_ips"]; ok && fmt.Sprint(ips) != "[]" {
		t.Errorf("a blank allowed-IPs input sent allowed_ips %#v", ips)
	}
	if _, viewer := root.call("GET", "/v1/tokens/"+viewerID, ""); fmt.Sprint(viewer["allowed_ips"]) != "[]" || fmt.Sprint(viewer["permissions"]) != "[apikeys:view]" {
		t.Errorf("viewer token: allowed_ips %v, permissions %v", viewer["allowed_ips"], viewer["permissions"])
	}
	b.clickThrough("#secret-done")
	b.visible("#edit-form")

	// ---- It may change only tokens whose permissions it holds -------------
	if b.exists("#update-refused") || b.exists("#rotate-refused") || eval[bool](b, `document.querySelector('#edit-form fieldset').disabled || document.querySelector('#rotate-form fieldset').disabled`) {
		t.Error("editing or rotating a token within the caller's rights is refused")
	}
	if note := b.text("#revoke-refused"); note != "Your token lacks apikeys:delete." || !b.exists("#revoke:disabled") {
		t.Errorf("revoke without apikeys:delete: note %q, button disabled %v", note, b.exists("#revoke:disabled"))
	}
	b.shot("limited-caller-own-token")

	// The list: on the root admin's row nothing is offered, each with the
	// reason; on the viewer's, Edit and Rotate but not Revoke.
	type action struct {
		Disabled bool   `json:"disabled"`
		Title    string `json:"title"`
		Said     string `json:"said"`
	}
	actions := func(id string) map[string]action {
		return eval[map[string]action](b, fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll('[data-actions-for=%q] button')].map(e => [e.dataset.action, {
			disabled: e.getAttribute('aria-disabled') === 'true', title: e.title,
			said: (document.getElementById(e.getAttribute('aria-describedby')) || {textContent: ''}).textContent}]))`, id))
	}
	rootWhy := "This token holds accounts:manage, apikeys:manage and roles:manage, which your token lacks."
	wantRoot := map[string]action{
		"edit":   {true, rootWhy, rootWhy},
		"rotate": {true, rootWhy, rootWhy},
		"revoke": {true, "Your token lacks apikeys:delete.", "Your token lacks apikeys:delete."},
	}
	b.rowOf(srv.RootTokenID)
	if got := actions(srv.RootTokenID); !maps.Equal(got, wantRoot) {
		t.Errorf("the root admin's row offers %+v, want %+v", got, wantRoot)
	}
	wantViewer := map[string]action{
		"edit": {}, "rotate": {},
		"revoke": {true, "Your token lacks apikeys:delete.", "Your token lacks apikeys:delete."},
	}
	b.rowOf(viewerID)
	if got := actions(viewerID); !maps.Equal(got, wantViewer) {
		t.Errorf("the viewer's row offers %+v, want %+v", got, wantViewer)
	}
	b.shot("limited-caller-row-actions")
	// A refused action does nothing; an offered one opens its form.
	b.click(fmt.Sprintf(`[data-actions-for=%q] [data-action="revoke"]`, viewerID))
	if b.exists("#confirm-dialog") {
		t.Error("a refused Revoke asked for confirmation")
	}
	b.rowOf(srv.RootTokenID)
	g = b.generation()
	b.click(fmt.Sprintf(`[data-actions-for=%q] [data-action="rotate"]`, srv.RootTokenID))
	if b.generation() != g || eval[string](b, `location.hash`) != "#/tokens" || b.exists("#confirm-dialog") {
		t.Error("a refused Rotate did something")
	}
	b.click(fmt.Sprintf(`[data-actions-for=%q] [data-action="revoke"]`, srv.RootTokenID))
	if b.exists("#confirm-dialog") {
		t.Error("a refused Revoke asked for confirmation")
	}
	b.rowOf(viewerID)
	b.clickThrough(fmt.Sprintf(`[data-actions-for=%q] [data-action="rotate"]`, viewerID))
	if got := eval[string](b, `document.activeElement.id`); got != "rotate-grace" {
		t.Errorf("Rotate on the row focuses %q, want the rotate form", got)
	}

	// The root admin's page: every form disabled with the reason. Forced
	// anyway (as a page left open while rights changed would), the API
	// refuses and the console shows its reason and the missing permissions.
	b.goTo("#/tokens/" + srv.RootTokenID + "?focus=rotate")
	if got := eval[string](b, `document.activeElement.id`); got != "rotate-refused" {
		t.Errorf("Rotate of the root admin focuses %q, want the reason", got)
	}
	for _, change := range []string{"update", "rotate"} {
		if note := b.text("#" + change + "-refused"); note != rootWhy {
			t.Errorf("%s note %q", change, note)
		}
	}
	if !eval[bool](b, `['#edit-form', '#rotate-form'].every(f => document.querySelector(f + ' fieldset').disabled) && document.querySelector('#revoke').matches(':disabled')`) {
		t.Error("a form the API would refuse is enabled")
	}
	b.shot("limited-caller-root-token")
	eval[chromedp.Void](b, `document.querySelector('#rotate-form fieldset').disabled = false`)
	b.click("#rotate-submit")
	b.waitFor("the refusal", `document.querySelector('#rotate-form .form-error')?.hidden === false`)
	msg := b.text("#rotate-form .form-error")
	for _, want := range []string{"you cannot rotate token " + srv.RootTokenID, "Missing permissions: accounts:manage, apikeys:manage, roles:manage."} {
		if !strings.Contains(msg, want) {
			t.Errorf("the forced rotation shows %q, which lacks %q", msg, want)
		}
	}
	if b.exists("#secret-dialog") {
		t.Fatal("the root admin's token was rotated")
	}
	eval[chromedp.Void](b, `document.querySelector('#edit-form fieldset').disabled = false`)
	b.setValue("#edit-name", "taken over")
	b.click("#edit-submit")
	b.waitFor("the refusal", `document.querySelector('#edit-form .form-error')?.hidden === false`)
	if msg := b.text("#edit-form .form-error"); !strings.Contains(msg, "you cannot update token "+srv.RootTokenID) || !strings.Contains(msg, "Missing permissions: accounts:manage") {
		t.Errorf("the forced edit shows %q", msg)
	}
	b.shot("limited-caller-forced-403")
	if status, me := root.call("GET", "/v1/tokens/"+srv.RootTokenID, ""); status != 200 || me["name"] != "dev root admin" {
		t.Errorf("the root admin's token after the forced changes: %d %v", status, me)
	}

	// ---- "Never expires" where the account allows it -----------------------
	open, err := srv.Admin.Bootstrap(ctx, admin.BootstrapRequest{Account: "open", AllowNeverExpires: true, Permissions: permission.All()})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, secretOf(open.Token.String()))
	b.click("#sign-out")
	b.visible("#signin-token")
	b.do(chromedp.SendKeys(chromedp.CSS("#signin-token"), open.Token.String()+"\n"))
	b.visible("#new-token")
	b.clickThrough("#new-token")
	b.visible("#expiry-never")
	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "forever"))
	b.click("#expiry-never")
	b.click("#create-submit")
	b.visible("#secret-dialog")
	foreverID := b.value("#secret-id")
	secrets = append(secrets, secretOf(b.value("#secret-token")))
	b.clickThrough("#secret-done")
	b.visible("#rotate-form")
	if got := eval[string](b, `[...document.querySelectorAll('.props dt')].find(d => d.textContent === 'Expires').nextElementSibling.textContent`); got != "Never" {
		t.Errorf("token %s expires %q", foreverID, got)
	}
	b.shot("never-expires-allowed")

	// ---- The account's token policy and admin e-mails -----------------------
	// Changed on the account page; the create form then offers exactly what
	// the policy allows, and the server's refusals show next to the field.
	b.goTo("#/accounts")
	b.visible("#account-form")
	if got := b.text("#account-policy"); got != "never expire by default, at most 1 year; tokens may never expire" && got != "90 days by default, at most 1 year; tokens may never expire" {
		t.Errorf("the open account's policy reads %q", got)
	}
	b.setValue("#account-default-days", "50")
	b.setValue("#account-max-days", "45")
	b.click("#account-submit")
	b.waitFor("the refused default", `document.querySelector('[data-error-for="token_policy.default_expiry_days"]')?.hidden === false`)
	if msg := b.text(`[data-error-for="token_policy.default_expiry_days"]`); !strings.Contains(msg, "at most max_expiry_days (45)") {
		t.Errorf("the refused default says %q", msg)
	}
	b.setValue("#account-default-days", "14")
	b.click("#account-allow-never")
	b.setValue("#account-emails-input", "Sec@OPEN.example\nops@open.example, sec@open.example")
	g = b.generation()
	b.click("#account-submit")
	b.rendered(g)
	b.visible("#account-form")
	if got := b.text("#account-policy"); got != "14 days by default, at most 45 days; tokens must expire" {
		t.Errorf("the saved policy reads %q", got)
	}
	if got := b.text("#account-emails"); got != "Sec@open.example, ops@open.example" {
		t.Errorf("the saved admin e-mails read %q", got)
	}
	b.shot("account-policy")
	b.goTo("#/tokens/new")
	b.visible("#create-form")
	if b.exists("#expiry-never") {
		t.Error(`"Never expires" offered after the policy stopped allowing it`)
	}
	if got := b.texts(".expiry .choices > .choice label"); !slices.Equal(got, []string{
		"14 days — the default (until " + today.AddDate(0, 0, 14).Format(credential.DateLayout) + ")",
		"30 days (until " + today.AddDate(0, 0, 30).Format(credential.DateLayout) + ")",
		"45 days (until " + today.AddDate(0, 0, 45).Format(credential.DateLayout) + ")",
		"On a date",
	}) {
		t.Errorf("presets under the policy: %q", got)
	}
	if !eval[bool](b, `document.querySelector('#expiry-preset-0').checked`) {
		t.Error("the policy's default (14 days) is not chosen")
	}
	if max := eval[string](b, `document.querySelector('#expiry-day').max`); max != today.AddDate(0, 0, 45).Format(credential.DateLayout) {
		t.Errorf("the date picker ends %s, want the 45-day limit", max)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#create-name"), "by policy"))
	b.click("#create-submit")
	b.visible("#secret-dialog")
	secrets = append(secrets, secretOf(b.value("#secret-token")))
	b.clickThrough("#secret-done")
	if got := eval[string](b, `[...document.querySelectorAll('.props dt')].find(d => d.textContent === 'Expires').nextElementSibling.textContent`); got != today.AddDate(0, 0, 14).Format(credential.DateLayout)+" 23:59:59 UTC" {
		t.Errorf("token made under the policy expires %q, want the 14-day default", got)
	}

	// ---- Readable at 375 px -------------------------------------------------
	b.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	for _, view := range []struct{ hash, ready, name string }{
		{"#/tokens", "#tokens-table", "mobile-tokens"},
		{"#/tokens/new", "#create-form", "mobile-create"},
		{"#/tokens/" + foreverID, "#edit-form", "mobile-detail"},
		{"#/events", "#events-table", "mobile-events"},
	} {
		b.goTo(view.hash)
		b.visible(view.ready)
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 375 {
			wide := eval[[]string](b, `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)
				.map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`)
			t.Errorf("%s is %d px wide at 375 px; too wide: %v", view.hash, w, wide)
		}
		b.shot(view.name)
	}
	b.do(chromedp.EmulateViewport(1280, 900))

	// ---- The token never reaches localStorage, a cookie or a URL ----------
	current := open.Token.String()
	if got := eval[string](b, `sessionStorage.getItem('latchkey.token')`); got != current {
		t.Errorf("sessionStorage holds %q, want the signed-in token", got)
	}
	if n := eval[int](b, `localStorage.length`); n != 0 {
		t.Errorf("localStorage has %d items", n)
	}
	if c := eval[string](b, `document.cookie`); c != "" {
		t.Errorf("document.cookie = %q", c)
	}
	cookies, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 0 {
		t.Errorf("the browser holds %d cookies for the console", len(cookies.Cookies))
	}
	b.click("#sign-out")
	b.visible("#signin-token")
	if eval[int](b, `sessionStorage.length`) != 0 {
		t.Error("Sign out left something in sessionStorage")
	}

	// ---- /docs: Swagger UI, "Try it out" with the bearer token ------------
	b.do(chromedp.Navigate(srv.URL + "/docs"))
	b.visible("#operations-tokens-listTokens")
	b.requireLabelled("docs")
	b.save("docs", chromedp.CaptureScreenshot())
	b.do(chromedp.SendKeys(chromedp.CSS("#docs-token"), srv.RootToken+"\n"))
	b.waitFor("the token", `document.querySelector('#docs-auth-status')?.textContent.includes('is set')`)
	b.click("#operations-tokens-listTokens .opblock-summary-control")
	b.visible("#operations-tokens-listTokens .try-out__btn")
	b.click("#operations-tokens-listTokens .try-out__btn")
	b.visible("#operations-tokens-listTokens .execute")
	b.click("#operations-tokens-listTokens .execute")
	b.waitFor("the response", `!!document.querySelector('#operations-tokens-listTokens .live-responses-table tbody .response-col_status')`)
	if got := b.text("#operations-tokens-listTokens .live-responses-table tbody .response-col_status"); strings.TrimSpace(got) != "200" {
		t.Errorf(`"Try it out" on GET /v1/tokens answered %q`, got)
	}
	if n := eval[int](b, `localStorage.length`); n != 0 {
		t.Errorf("the docs page put %d items in localStorage", n)
	}
	b.shotOf("docs-try-it-out", "#operations-tokens-listTokens")

	history, err := chromedp.Run(bctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatal(err)
	}
	// Every URL the tab has been at or requested, the docs page's too.
	var seenURLs []string
	for _, e := range history.Entries {
		seenURLs = append(seenURLs, e.URL)
	}
	seenURLs = append(seenURLs, eval[string](b, `location.href`))
	b.mu.Lock()
	defer b.mu.Unlock()
	seenURLs = append(seenURLs, b.urls...)
	for _, u := range seenURLs {
		for _, s := range secrets {
			if strings.Contains(u, s) {
				t.Errorf("a token's secret is in the URL %s", u)
			}
		}
		if !strings.HasPrefix(u, srv.URL+"/") && !strings.HasPrefix(u, "blob:"+srv.URL+"/") && !strings.HasPrefix(u, "data:") && u != "about:blank" {
			t.Errorf("the page loaded %s, which is not this origin", u)
		}
	}
	for _, p := range b.problems {
		t.Errorf("browser console: %s", p)
	}
}

// waitForFile waits for a download to finish and returns its content.
func waitForFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return string(b)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("no download %s (the folder holds %v)", filepath.Base(path), names)
	return ""
}
