package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/config"
)

func loginCmd(g *globals) *cobra.Command {
	var password bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Connect this device to your account",
		Long: `Connects this device to your account on the account service (account.url).
By default it shows a web address and a short code: open the address in a
browser, sign in (password, then the code sent to your email or phone) and
approve the device. With --password you sign in here instead: user name,
password, then the 6-digit code. Answers may come on standard input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadAccountMode()
			if err != nil {
				return err
			}
			client := &auth.Client{URL: cfg.Account.URL, ClientID: cfg.Account.ClientID}
			g.replaceSignin(cmd.Context(), credentialsPath(cfg))
			var t auth.Tokens
			if password {
				t, err = g.passwordLogin(cmd.Context(), client, cfg.Device.Name)
			} else {
				t, err = g.deviceLogin(cmd.Context(), client, cfg.Device.Name)
			}
			if err != nil {
				return &exitError{exitFailed, err}
			}
			now := time.Now()
			c := auth.Credentials{AccountURL: cfg.Account.URL, ClientID: cfg.Account.ClientID, AccountID: t.AccountID,
				DeviceID: t.DeviceID, DeviceName: cfg.Device.Name, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
				AccessIssued: now, AccessExpiry: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
			if err := (auth.File{Path: credentialsPath(cfg)}).Save(c); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "signed in as %s on %s\n", t.AccountID, cfg.Device.Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&password, "password", false, "sign in on this terminal with user name, password and code")
	return cmd
}

// replaceSignin disconnects the sign-in this device already has, if any:
// a new login replaces it (the account allows one connected device per
// name, and the old tokens should not outlive it).
func (g *globals) replaceSignin(ctx context.Context, path string) {
	old, err := (auth.File{Path: path}).LoadExposed()
	if err != nil {
		return
	}
	client := &auth.Client{URL: old.AccountURL, ClientID: old.ClientID}
	if err := client.Revoke(ctx, old.RefreshToken); err != nil && !auth.IsRevoked(err) {
		fmt.Fprintf(g.stderr, "could not disconnect the previous sign-in of %s (%v): disconnect it on the account page if the new one is refused\n",
			old.DeviceName, err)
		return
	}
	fmt.Fprintf(g.stdout, "replacing the previous sign-in of %s to %s\n", old.DeviceName, old.AccountID)
}

// loadAccountMode loads the config and requires credentials mode account.
func (g *globals) loadAccountMode() (*config.Agent, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Storage.Credentials.Mode != "account" {
		return nil, usageError(fmt.Errorf("%s: storage.credentials.mode is %q: set it to account, and account.url, to sign in with an account",
			cfg.File(), cfg.Storage.Credentials.Mode))
	}
	return cfg, nil
}

func (g *globals) deviceLogin(ctx context.Context, client *auth.Client, device string) (auth.Tokens, error) {
	d, err := client.AuthorizeDevice(ctx, device)
	if err != nil {
		return auth.Tokens{}, err
	}
	fmt.Fprintf(g.stdout, "To connect %s, open\n\n    %s\n\nand enter the code\n\n    %s\n\n", device, d.VerificationURI, d.UserCode)
	if isTerminal(g.stdout) {
		if qr, err := qrcode.New(d.VerificationURIComplete, qrcode.Medium); err == nil {
			fmt.Fprintf(g.stdout, "or scan this with your phone:\n%s\n", qr.ToSmallString(false))
		}
	}
	fmt.Fprintf(g.stdout, "Waiting for approval (the code expires in %d minutes)...\n", d.ExpiresIn/60)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.ExpiresIn)*time.Second)
	defer cancel()
	return client.WaitForApproval(ctx, d)
}

func (g *globals) passwordLogin(ctx context.Context, client *auth.Client, device string) (auth.Tokens, error) {
	in := bufio.NewReader(os.Stdin)
	user, err := g.prompt(in, "User name (email, phone or account ID): ", false)
	if err != nil {
		return auth.Tokens{}, err
	}
	pass, err := g.prompt(in, "Password: ", true)
	if err != nil {
		return auth.Tokens{}, err
	}
	ch, err := client.Signin(ctx, user, pass)
	if err != nil {
		return auth.Tokens{}, err
	}
	for {
		code, err := g.prompt(in, fmt.Sprintf("Code sent to %s: ", ch.SentTo), false)
		if err != nil {
			return auth.Tokens{}, err
		}
		t, err := client.SigninVerify(ctx, ch.ID, code, device)
		var e *auth.APIError
		if errors.As(err, &e) && e.Body.Code == wire.ErrCodeWrongCode {
			fmt.Fprintln(g.stderr, e.Body.Message)
			continue
		}
		return t, err
	}
}

// prompt reads a line from the terminal (without echo for secrets) or,
// when standard input is not a terminal, from it.
func (g *globals) prompt(in *bufio.Reader, label string, secret bool) (string, error) {
	fmt.Fprint(g.stdout, label)
	if secret && term.IsTerminal(int(os.Stdin.Fd())) {
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(g.stdout)
		return string(b), err
	}
	line, err := in.ReadString('\n')
	if errors.Is(err, io.EOF) && line != "" {
		err = nil
	}
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func logoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Disconnect this device: revoke its tokens and delete them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadAccountMode()
			if err != nil {
				return err
			}
			file := auth.File{Path: credentialsPath(cfg)}
			c, err := file.LoadExposed() // a file others could read is revoked all the more
			if auth.IsSignedOut(err) {
				fmt.Fprintln(g.stdout, "not signed in")
				return nil
			}
			if err != nil {
				return err
			}
			client := &auth.Client{URL: c.AccountURL, ClientID: c.ClientID}
			if err := client.Revoke(cmd.Context(), c.RefreshToken); err != nil {
				fmt.Fprintf(g.stderr, "could not reach the account service to revoke the tokens (%v); disconnect %s on the account page\n", err, c.DeviceName)
			}
			if err := file.Delete(); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "signed out: %s is no longer connected to %s\n", c.DeviceName, c.AccountID)
			return nil
		},
	}
}

func whoamiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the account and device this agent signs in as",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadAccountMode()
			if err != nil {
				return err
			}
			s := auth.NewSession(auth.File{Path: credentialsPath(cfg)}, cfg.Account.URL, cfg.Account.ClientID)
			tok, err := s.AccessToken(cmd.Context())
			if err != nil {
				return &exitError{exitFailed, err}
			}
			me, err := (&auth.Client{URL: cfg.Account.URL, ClientID: cfg.Account.ClientID}).Me(cmd.Context(), tok)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			fmt.Fprintf(g.stdout, "account: %s\ndevice:  %s\ntoken valid until: %s\n", me.AccountID, me.Device, me.Expires.Format(time.RFC3339))
			agentState := "not running"
			if st, err := agent.NewClient(cfg.Control.Socket).Status(cmd.Context()); err == nil {
				agentState = st.State
			}
			fmt.Fprintf(g.stdout, "agent:   %s\n", agentState)
			return nil
		},
	}
}
