//go:build !cgo

package main

import "github.com/spf13/cobra"

// addGUIAttach gives the stub gui command the flags of the real one, so
// that phoenix gui --attach says this build has no GUI.
func addGUIAttach(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() == "gui" {
			addAttachFlags(c, &attachFlags{})
		}
	}
}
