package account

import "testing"

// TestSignup_EmailHiddenCharactersRefused: an address with text-direction,
// zero-width or replacement characters would show as another on the
// account page and in the code's mail; it is refused, and no mail goes.
func TestSignup_EmailHiddenCharactersRefused(t *testing.T) {
	e := newEnv(t)
	const msg = "Enter an email address such as name@example.com."
	for _, email := range []string{
		"a\u202eb@example.com",
		"ab@exa\u202emple.com",
		"a\u200bb@example.com",
		"a\u2066b@example.com",
		"\ufeffab@example.com",
		"\ufffd\ufffd@example.com",
		"a\u2028b@example.com",
	} {
		code, r := e.call("POST", "/api/v1/signup", map[string]string{"email": email, "region": "DE", "birth_date": "1990-04-01"})
		if fields, _ := r["fields"].(map[string]any); code != 400 || fields["email"] != msg {
			t.Errorf("sign-up with %q: %d %v, want 400 %q", email, code, r, msg)
		}
	}
	if n := len(e.mail.messages("")); n != 0 {
		t.Errorf("%d mails sent, want 0", n)
	}
	// International addresses stay welcome.
	if code, r := e.call("POST", "/api/v1/signup", map[string]string{"email": "jörg@bücher.example", "region": "DE", "birth_date": "1990-04-01"}); code != 200 {
		t.Errorf("sign-up with an international address: %d %v", code, r)
	}
}
