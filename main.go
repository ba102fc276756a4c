// Command sesstool inspects and administers PHP session storage (the files
// save handler). See README.md for every command.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesstool/sesstool/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := cmd.NewFactory()
	err := cmd.Execute(ctx, cmd.NewCmdRoot(f), os.Args[1:])
	stop()
	if line := cmd.ErrorLine(err); line != "" {
		fmt.Fprintln(os.Stderr, "sesstool: "+line)
	}
	os.Exit(cmd.ExitCode(err))
}
