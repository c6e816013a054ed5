package main

import "github.com/spf13/cobra"

// attachFlags are gui's flags for a remote image (guiattach.go).
type attachFlags struct {
	addr, tokenFile string
}

// addAttachFlags registers --attach and --token-file on gui.
func addAttachFlags(cmd *cobra.Command, f *attachFlags) {
	cmd.Flags().StringVar(&f.addr, "attach", "", "open the window on the image 'phoenix serve' serves at ADDR (host:port) instead of a local one")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "with --attach: the file holding the server's token (mode 0600)")
}
