package account

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// addressError is the *StoreConfigError for a PostgreSQL address dsn that
// pgx could not parse (err): pgx's reason, said so that the fix is plain,
// and never any password dsn holds.
func addressError(dsn string, err error) error {
	return &StoreConfigError{Key: KeyStore, Err: errors.New(scrub(addressProblem(dsn, err), dsn))}
}

// addressProblem says what is wrong in dsn according to err.
func addressProblem(dsn string, err error) string {
	pce, ok := errors.AsType[*pgconn.ParseConfigError](err)
	if !ok {
		return "not a valid postgres:// URL"
	}
	if strings.Contains(dsn, "#") { // pgx reads it into the last value
		return "a postgres:// URL takes no #fragment: remove it (a '#' in the password is written %23)"
	}
	q := queryOf(dsn)
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Sprintf("%s %s: %s", fileParam(q, pe.Path), pe.Path, fileProblem(pe.Err))
	}
	if ne, ok := errors.AsType[*strconv.NumError](err); ok {
		if key := paramWithValue(q, ne.Num); key != "" {
			return fmt.Sprintf("%s=%s is not a whole number", key, ne.Num)
		}
	}
	reason := pgxReason(pce)
	switch {
	case strings.Contains(reason, "sslmode is invalid"):
		return sslmodeProblem(q.Get("sslmode"))
	case reason == "invalid port":
		return "the port is not a number from 1 to 65535"
	case strings.HasSuffix(reason, " too small"):
		return strings.TrimSuffix(reason, " too small") + " is too small: want at least 1"
	}
	return reason
}

// pgxReason is pce's message without the connection string it quotes.
func pgxReason(pce *pgconn.ParseConfigError) string {
	c := *pce
	c.ConnString = ""
	return strings.TrimPrefix(c.Error(), "cannot parse ``: ")
}

// queryOf is the query of dsn, or none when dsn is no URL.
func queryOf(dsn string) url.Values {
	u, err := url.Parse(dsn)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// fileParam names the parameter of q that holds path.
func fileParam(q url.Values, path string) string {
	for _, key := range []string{"sslrootcert", "sslcert", "sslkey"} {
		if q.Get(key) == path {
			return key
		}
	}
	return "file"
}

// fileProblem is err, a file's open error, in a few words.
func fileProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read by this user (permission denied)"
	}
	return err.Error()
}

// paramWithValue is the key of q whose value is v, but never a password's.
func paramWithValue(q url.Values, v string) string {
	for key, vals := range q {
		if !strings.Contains(key, "password") && len(vals) > 0 && vals[0] == v {
			return key
		}
	}
	return ""
}

var plainWord = regexp.MustCompile(`^[a-z-]{1,20}$`)

// sslmodeProblem says that mode is not an sslmode PostgreSQL knows.
func sslmodeProblem(mode string) string {
	const want = "disable, allow, prefer, require, verify-ca or verify-full"
	if plainWord.MatchString(mode) {
		return fmt.Sprintf("sslmode=%s is not one of %s", mode, want)
	}
	return "sslmode is not one of " + want
}

// scrub replaces in msg every password that dsn holds (the URL's own and
// its password and sslpassword parameters) by xxxxx: a last guard, should
// a reason ever quote one.
func scrub(msg, dsn string) string {
	var secrets []string
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
		secrets = append(secrets, u.Query()["password"]...)
		secrets = append(secrets, u.Query()["sslpassword"]...)
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}
