// Package cli holds cloudkeep's commands, one file each. It turns flags and
// the config file into the domain objects of the other packages and prints
// for humans.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/cloudkeep/cloudkeep/cli.Version=…".
var Version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran, and some of its work failed
	exitUsage   = 2 // bad flags or a bad config file
	exitUnknown = 3
)

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{exitUsage, err} }

// globals are the flags every command takes.
type globals struct {
	configPath string
	logLevel   string
	logFormat  string
	stdout     io.Writer
	stderr     io.Writer
}

// Main runs the command line args and returns the process exit code.
func Main(ctx context.Context, args []string) int {
	return mainWith(ctx, args, os.Stdout, os.Stderr)
}

func mainWith(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "cloudkeep",
		Short:         "Back up photos and videos to your own S3-compatible storage",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "config", "c", "", "config file (default $CLOUDKEEP_CONFIG, the user's config, or /etc/cloudkeep/config.yaml)")
	pf.StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	pf.StringVar(&g.logFormat, "log-format", "", "auto, console or json (overrides log.format)")
	root.AddCommand(backupCmd(g), runCmd(g), lsCmd(g), restoreCmd(g), serviceCmd(g), loginCmd(g), logoutCmd(g), whoamiCmd(g), accountServerCmd(g), statusCmd(g), pauseCmd(g), resumeCmd(g), configCmd(g), versionCmd(g),
		verifyCmd(g), freeUpCmd(g), pruneCmd(g))

	failuresExit1(root)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(g.stderr, "cloudkeep:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Every error a command returns carries its code (failuresExit1): what
	// is left is cobra's own, a bad flag, argument or command name.
	return exitUsage
}

// failuresExit1 makes an error returned by cmd or any of its subcommands a
// failure (exit 1) unless it already carries a code (usageError).
func failuresExit1(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			err := run(c, args)
			var ee *exitError
			if err != nil && !errors.As(err, &ee) {
				return &exitError{exitFailed, err}
			}
			return err
		}
	}
	for _, sub := range cmd.Commands() {
		failuresExit1(sub)
	}
}
