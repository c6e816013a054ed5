package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/image"
)

func approvalsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List, show, approve or reject the agent's proposals that wait for a person",
		Long: `Proposals that the policy does not let the agent install by itself wait in
the image's approval queue: a change to a core object, a risky change, or any
change when no person was at a terminal to ask. Approving installs the
method (with the agent's provenance) as one transaction.

Not happy with a proposal? "alternatives" asks the LLM for other versions
(each validated in the sandbox), "pick" installs the one you prefer, and
"rate" scores a proposal from 1 to 5 with a comment. Your choices and
ratings are kept in the image and the agent reads them in later prompts.`,
	}
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List pending approvals (--all for every one)",
		Args:  cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
			status := image.ApprovalPending
			if all {
				status = ""
			}
			as, err := im.Approvals(status)
			if err != nil {
				return err
			}
			for _, a := range as {
				rec := decodeRecord(a)
				more := ""
				if n := len(rec.Alternatives); n > 0 {
					more = fmt.Sprintf(" (+%d alternatives)", n)
				}
				fmt.Printf("%-6s %-9s %s>>%s%s  %s  %s\n", a.ID, a.Status, a.Object, a.Selector, more, a.Created.Local().Format("2006-01-02 15:04"), rec.Decision)
			}
			if len(as) == 0 {
				fmt.Println("no approvals waiting")
			}
			return nil
		}),
	}
	list.Flags().BoolVar(&all, "all", false, "include decided approvals")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a proposal: source, tests, sandbox result and reasoning",
		Args:  cobra.ExactArgs(1),
		RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
			a, err := im.GetApproval(args[0])
			if err != nil {
				return err
			}
			rec := decodeRecord(a)
			fmt.Printf("approval %s (%s), created %s\n", a.ID, a.Status, a.Created.Local().Format("2006-01-02 15:04:05"))
			if a.DecidedBy != "" {
				fmt.Printf("decided by %s at %s %s\n", a.DecidedBy, a.Decided.Local().Format("2006-01-02 15:04:05"), a.Note)
			}
			p := rec.Proposal
			fmt.Printf("method %s>>%s, proposed by %s via %s\n", p.Target, p.Selector, orDash(p.Model), p.Via)
			fmt.Printf("why a person: %s\n", rec.Decision)
			if p.Explanation != "" {
				fmt.Printf("explanation: %s\n", p.Explanation)
			}
			fmt.Printf("\n%s\n\ntests:\n%s\n", indent(p.Source), indent(p.Tests))
			if r := rec.Sandbox; r != nil {
				fmt.Printf("\nsandbox (%s): %d passed, %d failed, call: %s %s\n", r.Boundary, r.Passed, r.Failed, orDash(r.CallResult), r.CallError)
				for _, t := range r.Tests {
					fmt.Printf("  %-5s %s %s\n", t.Status, t.Name, t.Message)
				}
			}
			showAlternatives(os.Stdout, rec)
			return nil
		}),
	}
	var note string
	approve := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve a pending proposal and install its method",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := agent.ApproveQueued(cmd.Context(), s.VM, s.Image, args[0], "human", note)
			if err != nil {
				return err
			}
			rememberApproved(cmd.Context(), s, a)
			subject := a.Object + ">>" + a.Selector
			fmt.Printf("approved %s: %s installed\n", a.ID, subject)
			return nil
		},
	}
	approve.Flags().StringVar(&note, "note", "", "a note for the history and the audit log")
	reject := &cobra.Command{
		Use:   "reject ID",
		Short: "Reject a pending proposal",
		Args:  cobra.ExactArgs(1),
		RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
			a, err := agent.RejectQueued(im, args[0], "human", note)
			if err != nil {
				return err
			}
			fmt.Printf("rejected %s\n", a.ID)
			return nil
		}),
	}
	reject.Flags().StringVar(&note, "note", "", "why (kept in the queue and the audit log)")
	cmd.AddCommand(list, show, approve, reject)
	cmd.AddCommand(preferenceCmds(g)...) // alternatives, pick, rate (preferences.go)
	return cmd
}

func decodeRecord(a *image.Approval) agent.ProposalRecord { return agent.DecodeApproval(a) }

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The agent's append-only, hash-chained audit log",
	}
	var n int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the last entries (prompts as hash and size, tool calls, sandbox results, approvals, installs)",
		Args:  cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
			es, err := im.AuditTail(n)
			if err != nil {
				return err
			}
			for _, e := range es {
				fmt.Println(agent.FormatAudit(e))
			}
			return nil
		}),
	}
	list.Flags().IntVarP(&n, "n", "n", 50, "how many entries")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the hash chain and report tampering",
		Args:  cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
			rep, err := im.VerifyAudit()
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Println("problem:", p)
			}
			if !rep.OK {
				fmt.Printf("%d entries: the audit log has been tampered with\n", rep.Entries)
				return exitError{1}
			}
			fmt.Printf("%d entries: ok\n", rep.Entries)
			return nil
		}),
	}
	cmd.AddCommand(list, verify)
	return cmd
}
