package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/vm"
)

// findMethodOwner resolves a global object name for history and revert.
func findObject(v *vm.VM, name string) (*vm.Object, error) {
	if name == "Lobby" {
		return v.Lobby(), nil
	}
	o := v.Global(name)
	if o == nil {
		return nil, fmt.Errorf("no object named %q in the Lobby", name)
	}
	return o, nil
}

func historyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history OBJECT SELECTOR",
		Short: "List the changes of a method: when, by whom (human, agent, filein) and what",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			o, err := findObject(s.VM, args[0])
			if err != nil {
				return err
			}
			hs, err := s.VM.History(o, args[1])
			if err != nil {
				return err
			}
			if len(hs) == 0 {
				return fmt.Errorf("%s>>%s has no history", args[0], args[1])
			}
			for i, h := range hs {
				what := "changed"
				switch {
				case h.Old == "":
					what = "defined"
				case h.New == "":
					what = "removed"
				}
				fmt.Printf("#%d %s %s by %s\n", i+1, h.Time.Local().Format("2006-01-02 15:04:05"), what, h.Author)
				if h.New != "" {
					fmt.Println(indent(h.New))
				}
			}
			return nil
		},
	}
}

func revertCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revert OBJECT SELECTOR",
		Short: "Put back the version of a method before its last change",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			o, err := findObject(s.VM, args[0])
			if err != nil {
				return err
			}
			return s.VM.Do(cmd.Context(), vm.TxOptions{Author: vm.AuthorHuman}, func() error {
				return s.VM.Revert(o, args[1])
			})
		},
	}
}

func indent(s string) string {
	out := "    "
	for _, c := range s {
		out += string(c)
		if c == '\n' {
			out += "    "
		}
	}
	return out
}
