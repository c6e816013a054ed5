package main

// Preference feedback at the command line: phoenix approvals alternatives,
// pick and rate, and the "a: alternatives, r: rate" answers of the
// interactive approvers (terminal and shell).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/image"
)

// preferenceCmds are the approvals subcommands for alternatives, picking
// and rating.
func preferenceCmds(g *globals) []*cobra.Command {
	var n int
	alts := &cobra.Command{
		Use:   "alternatives ID",
		Short: "Ask the LLM for alternatives to a pending proposal, validate them and show them",
		Long: `Asks the image's LLM for N alternatives to the pending proposal ID (one
request each, told what was proposed so far and the person's preferences),
validates each in the sandbox as any proposal is, keeps them with the
approval and shows them with their sandbox results. Install one with
phoenix approvals pick ID ALT, rate them with phoenix approvals rate.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openWithAgent(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			progress := func(done, total int) {
				fmt.Fprintf(os.Stderr, "alternative %d of %d asked and validated\n", done, total)
			}
			a, alts, err := g.resolver.AlternativesQueued(cmd.Context(), s.VM, args[0], n, progress)
			if a == nil {
				return err
			}
			rec := agent.DecodeApproval(a)
			for _, alt := range alts {
				showAlternative(os.Stdout, alt)
			}
			fmt.Printf("\n%d alternative(s) to %s; install one with: phoenix approvals pick %s ALT (0 is the original, 1-%d the alternatives)\n",
				len(rec.Alternatives), a.ID, a.ID, len(rec.Alternatives))
			return err
		},
	}
	alts.Flags().IntVarP(&n, "n", "n", 3, fmt.Sprintf("how many alternatives (1 to %d)", agent.MaxAlternatives))

	var note string
	pick := &cobra.Command{
		Use:   "pick ID ALT",
		Short: "Approve a pending proposal with one of its alternatives (0: the original) and install it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := strconv.Atoi(args[1])
			if err != nil || k < 0 {
				return fmt.Errorf("approvals pick %s: ALT %q is not a number (0 is the original proposal, 1 and up its alternatives)", args[0], args[1])
			}
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := agent.PickQueued(cmd.Context(), s.VM, s.Image, args[0], k, "human", note)
			if err != nil {
				return err
			}
			rememberApproved(cmd.Context(), s, a)
			fmt.Printf("approved %s with %s: %s>>%s installed\n", a.ID, altName(k), a.Object, a.Selector)
			return nil
		},
	}
	pick.Flags().StringVar(&note, "note", "", "a note for the history and the audit log")

	var comment string
	var alt int
	rate := &cobra.Command{
		Use:   "rate ID SCORE",
		Short: "Rate a proposal from 1 to 5 (kept as a preference the agent reads in later prompts)",
		Args:  cobra.ExactArgs(2),
		RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
			score, err := strconv.Atoi(args[1])
			if err != nil {
				return fmt.Errorf("approvals rate %s: SCORE %q is not a number from 1 to 5", args[0], args[1])
			}
			a, err := agent.RateQueued(im, args[0], alt, score, comment)
			if err != nil {
				return err
			}
			fmt.Printf("rated %s>>%s of %s %d of 5\n", a.Object, a.Selector, a.ID, score)
			return nil
		}),
	}
	rate.Flags().StringVar(&comment, "comment", "", "what you liked or did not (the agent reads it in later prompts)")
	rate.Flags().IntVar(&alt, "alt", -1, "which proposal: 0 the original, 1 and up an alternative (default: the one installed, else the original)")
	return []*cobra.Command{alts, pick, rate}
}

func altName(k int) string {
	if k == 0 {
		return "the original proposal"
	}
	return fmt.Sprintf("alternative %d", k)
}

// showAlternative prints one alternative: its status, explanation,
// source, tests and the sandbox's test lines.
func showAlternative(w io.Writer, a agent.Alternative) {
	fmt.Fprintf(w, "\nalternative %d: %s\n", a.N, a.Status())
	if a.Proposal == nil {
		return
	}
	if a.Proposal.Explanation != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(a.Proposal.Explanation, "\n", "\n  "))
	}
	fmt.Fprintf(w, "%s\n", indent(a.Proposal.Source))
	if a.Sandbox != nil {
		for _, t := range a.Sandbox.Tests {
			fmt.Fprintf(w, "      %-5s %s %s\n", t.Status, t.Name, t.Message)
		}
	}
}

// showAlternatives prints the alternatives a queued proposal has (for
// phoenix approvals show).
func showAlternatives(w io.Writer, rec agent.ProposalRecord) {
	if len(rec.Alternatives) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d alternative(s)", len(rec.Alternatives))
	if rec.Picked > 0 {
		fmt.Fprintf(w, "; alternative %d was picked", rec.Picked)
	}
	fmt.Fprintln(w, ":")
	for _, a := range rec.Alternatives {
		showAlternative(w, a)
	}
}

// choose is the interactive approvers' dialogue: the proposal, then
// "Install it? [y/N] (a: alternatives, r: rate)". "a" (or "a 2") asks for
// alternatives, shows them and asks which to install and how good it is;
// "r" asks for a rating and comes back. ask shows a prompt and reads one
// line.
func choose(ctx context.Context, w io.Writer, ask func(string) (string, error), o *agent.Offer, where string) (agent.Choice, error) {
	c := agent.Choice{Note: where}
	showProposal(w, o.Proposal, o.Sandbox, o.Decision)
	for {
		line, err := ask("Install it? [y/N] (a: alternatives, r: rate) ")
		if err != nil {
			return c, nilIfEOF(err)
		}
		ans := strings.ToLower(strings.TrimSpace(line))
		switch {
		case ans == "y" || ans == "yes":
			c.Approved = true
			return c, nil
		case ans == "r":
			if err := rateAt(w, ask, &c); err != nil {
				return c, nilIfEOF(err)
			}
		case ans == "a" || strings.HasPrefix(ans, "a "):
			if o.More == nil {
				fmt.Fprintln(w, "No LLM is configured to ask for alternatives.")
				continue
			}
			n := 3
			if f := strings.Fields(ans); len(f) == 2 {
				if v, err := strconv.Atoi(f[1]); err == nil {
					n = v
				}
			}
			fmt.Fprintf(w, "Asking the LLM for %d alternative(s) and validating them…\n", n)
			alts, err := o.More(ctx, n)
			for _, a := range alts {
				showAlternative(w, a)
			}
			if err != nil {
				fmt.Fprintf(w, "alternatives: %v\n", err)
			}
			return pickAt(w, ask, o, c)
		default:
			return c, nil
		}
	}
}

func pickAt(w io.Writer, ask func(string) (string, error), o *agent.Offer, c agent.Choice) (agent.Choice, error) {
	for {
		line, err := ask(fmt.Sprintf("Install which? [0: the original, 1-%d, n: none] ", len(o.Alternatives)))
		if err != nil {
			return c, nilIfEOF(err)
		}
		ans := strings.ToLower(strings.TrimSpace(line))
		if ans == "" || ans == "n" || ans == "none" {
			c.Approved = false
			break
		}
		k, err := strconv.Atoi(ans)
		switch {
		case err != nil || k < 0 || k > len(o.Alternatives):
			fmt.Fprintf(w, "%q: answer 0 to %d, or n\n", ans, len(o.Alternatives))
			continue
		case k > 0 && !o.Alternatives[k-1].OK():
			fmt.Fprintf(w, "alternative %d cannot be installed: %s\n", k, o.Alternatives[k-1].Status())
			continue
		}
		c.Approved, c.Pick = true, k
		break
	}
	if err := rateAt(w, ask, &c); err != nil {
		return c, nilIfEOF(err)
	}
	return c, nil
}

// rateAt asks for a score (Enter skips) and a comment.
func rateAt(w io.Writer, ask func(string) (string, error), c *agent.Choice) error {
	for {
		line, err := ask("Rate it 1-5 (Enter to skip): ")
		if err != nil {
			return err
		}
		ans := strings.TrimSpace(line)
		if ans == "" {
			return nil
		}
		score, err := strconv.Atoi(ans)
		if err != nil || score < 1 || score > 5 {
			fmt.Fprintf(w, "%q: a rating is 1 to 5\n", ans)
			continue
		}
		c.Score = score
		break
	}
	line, err := ask("Comment (Enter for none): ")
	if err != nil {
		return err
	}
	c.Comment = strings.TrimSpace(line)
	return nil
}

func nilIfEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, readline.ErrInterrupt) {
		return nil
	}
	return err
}

var _ agent.Chooser = (*terminalApprover)(nil)
var _ agent.Chooser = (*shellApprover)(nil)

// Choose implements agent.Chooser at the terminal.
func (a *terminalApprover) Choose(ctx context.Context, o *agent.Offer) (agent.Choice, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := bufio.NewReader(a.tty)
	ask := func(prompt string) (string, error) {
		fmt.Fprint(a.tty, prompt)
		line, err := in.ReadString('\n')
		if err == io.EOF && line != "" {
			err = nil
		}
		return line, err
	}
	return choose(ctx, a.tty, ask, o, "at the terminal")
}

// Choose implements agent.Chooser in the shell, reading from its one input.
func (a *shellApprover) Choose(ctx context.Context, o *agent.Offer) (agent.Choice, error) {
	return choose(ctx, a.io.out, a.io.ask, o, "in the shell")
}
