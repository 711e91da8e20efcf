// Command cloudkeep backs up photos and videos to S3-compatible storage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudkeep/cloudkeep/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
