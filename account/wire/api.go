package wire

import "time"

// Paths of the account service's JSON API. Every call is a POST of a JSON
// body unless its comment says otherwise; every error answer is an Error.
const (
	PathSignup          = "/api/v1/signup"           // SignupRequest → SignupResponse
	PathSignupVerify    = "/api/v1/signup/verify"    // SignupVerifyRequest → SignupVerifyResponse
	PathSignupResend    = "/api/v1/signup/resend"    // SignupResendRequest → SignupResendResponse
	PathSignupPassword  = "/api/v1/signup/password"  // SignupPasswordRequest → SignupPasswordResponse
	PathCaptcha         = "/api/v1/captcha"          // GET → Captcha
	PathSignin          = "/api/v1/signin"           // SigninRequest → Challenge
	PathSigninVerify    = "/api/v1/signin/verify"    // SigninVerifyRequest → Tokens
	PathDeviceAuthorize = "/api/v1/device/authorize" // DeviceAuthorizeRequest → DeviceAuthorization
	PathToken           = "/api/v1/token"            // TokenRequest → Tokens
	PathRevoke          = "/api/v1/revoke"           // RevokeRequest → RevokeResponse
	PathMe              = "/api/v1/me"               // GET with "Authorization: Bearer <access token>" → Me
)

// Grant types of PathToken.
const (
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code" // RFC 8628
	GrantRefresh    = "refresh_token"
)

// Error codes of the sign-up, sign-in and token calls that a client acts
// on; the others are for people, through Error.Message.
const (
	ErrCodeWrongCode            = "wrong_code"            // 400; TriesLeft says how many are left
	ErrCodeAuthorizationPending = "authorization_pending" // 400: the person has not answered yet; poll again
	ErrCodeSlowDown             = "slow_down"             // 400: poll every Interval seconds from now on
	ErrCodeExpiredToken         = "expired_token"         // 400: the device code expired
	ErrCodeInvalidGrant         = "invalid_grant"         // 400: the refresh token is spent, revoked or unknown
	ErrCodeInvalidFields        = "invalid_fields"        // 400; Fields maps each form field to its problem
	ErrCodeCaptchaRequired      = "captcha_required"      // 403: solve a captcha (PathCaptcha) and send it along
	ErrCodeServer               = "server_error"          // 500 or 503: the service failed (503: its database); retry after RetryAfter seconds
)

// SignupRequest starts a sign-up: an email address, or a phone number with
// its dial code (then the captcha too), the region and the birth date.
type SignupRequest struct {
	Email     string `json:"email,omitempty"`
	DialCode  string `json:"dial_code,omitempty"` // "+49"
	Phone     string `json:"phone,omitempty"`
	Region    string `json:"region"`     // ISO 3166-1 alpha-2
	BirthDate string `json:"birth_date"` // YYYY-MM-DD
	CaptchaID string `json:"captcha_id,omitempty"`
	Captcha   string `json:"captcha,omitempty"`
}

// SignupResponse names the sign-up and where its PIN went (masked).
type SignupResponse struct {
	SignupID string `json:"signup_id"`
	SentTo   string `json:"sent_to"`
}

// SignupVerifyRequest proves the address with the PIN sent to it.
type SignupVerifyRequest struct {
	SignupID string `json:"signup_id"`
	PIN      string `json:"pin"`
}

// SignupVerifyResponse answers a right PIN.
type SignupVerifyResponse struct {
	Verified bool `json:"verified"`
}

// SignupResendRequest asks for a new PIN. A PIN that goes by text message
// needs a solved captcha (PathCaptcha).
type SignupResendRequest struct {
	SignupID  string `json:"signup_id"`
	CaptchaID string `json:"captcha_id,omitempty"`
	Captcha   string `json:"captcha,omitempty"`
}

// SignupResendResponse says a new PIN was sent.
type SignupResendResponse struct {
	Sent bool `json:"sent"`
}

// SignupPasswordRequest finishes a verified sign-up.
type SignupPasswordRequest struct {
	SignupID string `json:"signup_id"`
	Password string `json:"password"`
	Confirm  string `json:"confirm"`
}

// SignupPasswordResponse names the new account.
type SignupPasswordResponse struct {
	AccountID string `json:"account_id"`
}

// Captcha is a new captcha: show ImageURL, or play AudioURL, and send
// CaptchaID with the digits typed.
type Captcha struct {
	CaptchaID string `json:"captcha_id"`
	ImageURL  string `json:"image_url"` // a PNG
	AudioURL  string `json:"audio_url"` // a WAV reading the same digits
}

// SigninRequest is step one of a password sign-in. Username is an email
// address, a phone number or an account ID.
type SigninRequest struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	CaptchaID string `json:"captcha_id,omitempty"`
	Captcha   string `json:"captcha,omitempty"`
}

// Challenge is what step one returns: the handle for step two and where
// the code went (masked).
type Challenge struct {
	ID     string `json:"challenge_id"`
	SentTo string `json:"sent_to"`
}

// SigninVerifyRequest is step two: the code, for a device's tokens.
type SigninVerifyRequest struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
	ClientID    string `json:"client_id"`
	DeviceName  string `json:"device_name"`
}

// DeviceAuthorizeRequest starts the device flow (RFC 8628 section 3.1).
type DeviceAuthorizeRequest struct {
	ClientID   string `json:"client_id"`
	DeviceName string `json:"device_name"`
}

// DeviceAuthorization is the answer to a DeviceAuthorizeRequest (RFC 8628
// section 3.2): the person enters UserCode at VerificationURI while the
// device polls PathToken every Interval seconds.
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"` // seconds
	Interval                int    `json:"interval"`   // seconds
}

// TokenRequest polls the device flow (GrantDeviceCode with DeviceCode) or
// trades a refresh token for new tokens (GrantRefresh with RefreshToken).
type TokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	DeviceCode   string `json:"device_code,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Tokens is what a device receives when it connects or refreshes. A
// refresh token is single use: the answer carries the next one.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"` // "Bearer"
	ExpiresIn    int    `json:"expires_in"` // seconds the access token is valid
	RefreshToken string `json:"refresh_token"`
	AccountID    string `json:"account_id"`
	DeviceID     string `json:"device_id"`
}

// RevokeRequest disconnects the device holding the refresh token.
type RevokeRequest struct {
	Token string `json:"token"`
}

// RevokeResponse says the device is disconnected.
type RevokeResponse struct {
	Revoked bool `json:"revoked"`
}

// Me describes the bearer of an access token.
type Me struct {
	AccountID string    `json:"account_id"`
	Device    string    `json:"device"` // the device's name
	DeviceID  string    `json:"device_id"`
	Expires   time.Time `json:"expires"` // when the access token stops working
}
