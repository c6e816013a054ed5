package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/image"
)

func fileoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "fileout DIR",
		Short: "Write the image's code as readable Lua files, one per object",
		Long: `Write every named object and trait — prototype, traits, literal slots and
methods — as DIR/NAME.lua, plus _globals.lua, _links.lua and a MANIFEST
with the load order. The output is deterministic, for clean git diffs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := image.Fileout(s.VM, args[0])
			if err != nil {
				return err
			}
			fmt.Printf("filed out %d objects, %d methods into %d files in %s\n", rep.Objects, rep.Methods, len(rep.Files), args[0])
			for _, sk := range rep.Skipped {
				fmt.Printf("not filed out: %s\n", sk)
			}
			return nil
		},
	}
}

func fileinCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "filein DIR",
		Short: "Evaluate a fileout directory into the image, as one transaction",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			files, err := image.Filein(cmd.Context(), s.VM, args[0])
			if err != nil {
				return err
			}
			fmt.Printf("filed in %d files from %s\n", len(files), args[0])
			return nil
		},
	}
}
