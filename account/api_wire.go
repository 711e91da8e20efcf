package account

import "github.com/cloudkeep/cloudkeep/account/wire"

// The service's values and the API's bodies are converted field by field,
// so that either side can grow a field without changing the other.

func signupRequest(r wire.SignupRequest) SignupRequest {
	return SignupRequest{Email: r.Email, DialCode: r.DialCode, Phone: r.Phone, Region: r.Region,
		BirthDate: r.BirthDate, CaptchaID: r.CaptchaID, Captcha: r.Captcha}
}

func wireChallenge(c Challenge) wire.Challenge {
	return wire.Challenge{ID: c.ID, SentTo: c.SentTo}
}

func wireTokens(t Tokens) wire.Tokens {
	return wire.Tokens{AccessToken: t.AccessToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn,
		RefreshToken: t.RefreshToken, AccountID: t.AccountID, DeviceID: t.DeviceID}
}

func wireDeviceAuthorization(d DeviceAuthorization) wire.DeviceAuthorization {
	return wire.DeviceAuthorization{DeviceCode: d.DeviceCode, UserCode: d.UserCode, VerificationURI: d.VerificationURI,
		VerificationURIComplete: d.VerificationURIComplete, ExpiresIn: d.ExpiresIn, Interval: d.Interval}
}
