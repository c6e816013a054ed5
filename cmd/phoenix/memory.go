package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/memory"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
)

// memoryFor is the session's long-term memory as the image's Memory object
// configures it, opened on first use (so that commands that never prompt
// an LLM do not index it), and how many past items a prompt gets.
func memoryFor(ctx context.Context, s *bootstrap.Session) (memory.Store, int) {
	mc := agent.MemoryConfigOf(s.VM)
	var e memory.Embedder
	if emb := agent.EmbedderFor(s.VM, coderObject(s.VM), mc); emb != nil {
		e = emb
	}
	k := mc.Results
	if k <= 0 {
		k = -1
	}
	return agent.LazyMemory(func() (memory.Store, error) {
		return agent.OpenMemory(context.WithoutCancel(ctx), mc, s.Image, e, slog.Default(), nil)
	}), k
}

// rememberApproved puts a method a person approved from the queue into
// the image's memory, as the resolver does for the methods it installs.
func rememberApproved(ctx context.Context, s *bootstrap.Session, a *image.Approval) {
	m, _ := memoryFor(ctx, s)
	defer m.Close()
	agent.RememberApproved(ctx, m, a, slog.Default())
}

func memoryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "memory",
		Short: "List, search or prune the agent's long-term memory",
		Long: `The agent remembers the methods it installed (with what they were for), the
plans the person approved and the conversation turns of the shell and chat.
It puts the most similar past work into its prompts. The image's Memory
object configures where the memory lives: Memory.backend = "embedded" (the
default, kept in the image) or "weaviate" (with Memory.weaviateURL), and
Memory.embeddingModel for vectors (BM25 alone without one).`,
	}
	// withMemory opens the image and its memory store for one command.
	withMemory := func(run func(ctx context.Context, m memory.Store) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := agent.InstallObjects(ctx, s.VM); err != nil {
				return err
			}
			mc := agent.MemoryConfigOf(s.VM)
			var e memory.Embedder
			if emb := agent.EmbedderFor(s.VM, coderObject(s.VM), mc); emb != nil {
				e = emb
			}
			m, err := agent.OpenMemory(ctx, mc, s.Image, e, slog.Default(), nil)
			if err != nil {
				return fmt.Errorf("opening the memory of %s: %w", s.Path, err)
			}
			defer m.Close()
			return run(ctx, m)
		}
	}
	var kind string
	var olderThan time.Duration
	var ids []string
	filter := func() (memory.Filter, error) {
		var f memory.Filter
		if kind != "" {
			k, err := memory.ParseKind(kind)
			if err != nil {
				return f, fmt.Errorf("--kind: %w", err)
			}
			f.Kind = k
		}
		if olderThan < 0 {
			return f, fmt.Errorf("--older-than %s: must not be negative", olderThan)
		}
		if olderThan > 0 {
			f.OlderThan = time.Now().Add(-olderThan)
		}
		f.IDs = ids
		return f, nil
	}
	addFilterFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&kind, "kind", "", "only items of this kind: method, conversation or plan")
		c.Flags().DurationVar(&olderThan, "older-than", 0, "only items remembered longer ago than this (e.g. 720h)")
		c.Flags().StringSliceVar(&ids, "id", nil, "only the items with these ids (repeatable)")
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List remembered items, newest first",
		Args:  cobra.NoArgs,
		RunE: withMemory(func(ctx context.Context, m memory.Store) error {
			f, err := filter()
			if err != nil {
				return err
			}
			items, err := m.List(ctx, f)
			if err != nil {
				return err
			}
			for _, it := range items {
				fmt.Println(formatItem(it))
			}
			if len(items) == 0 {
				fmt.Println("nothing remembered")
			}
			return nil
		}),
	}
	addFilterFlags(list)
	var k int
	search := &cobra.Command{
		Use:   "search QUERY",
		Short: "The remembered items most similar to QUERY, best first, with their scores",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMemory(func(ctx context.Context, m memory.Store) error {
				if k <= 0 {
					return fmt.Errorf("-k %d: must be at least 1", k)
				}
				hits, err := m.Search(ctx, strings.Join(args, " "), k)
				if err != nil {
					return err
				}
				for _, h := range hits {
					fmt.Printf("%.4f  %s\n", h.Score, formatItem(h.Item))
				}
				if len(hits) == 0 {
					fmt.Println("nothing similar remembered")
				}
				return nil
			})(cmd, args)
		},
	}
	search.Flags().IntVarP(&k, "k", "k", 5, "how many items")
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Forget the items that match --kind, --older-than and --id (at least one is required)",
		Args:  cobra.NoArgs,
		RunE: withMemory(func(ctx context.Context, m memory.Store) error {
			f, err := filter()
			if err != nil {
				return err
			}
			if f.Kind == "" && f.OlderThan.IsZero() && len(f.IDs) == 0 {
				return fmt.Errorf("prune: give --kind, --older-than or --id (refusing to forget everything)")
			}
			n, err := m.Prune(ctx, f)
			if err != nil {
				return err
			}
			left, err := m.Count(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("forgot %d items; %d remembered\n", n, left)
			return nil
		}),
	}
	addFilterFlags(prune)
	cmd.AddCommand(list, search, prune)
	return cmd
}

// formatItem renders one item on one line.
func formatItem(it memory.Item) string {
	what := string(it.Kind)
	if it.Object != "" || it.Selector != "" {
		what += " " + it.Object + ":" + it.Selector
	}
	purpose := strings.Join(strings.Fields(it.Purpose), " ")
	if len(purpose) > 100 {
		purpose = purpose[:100] + "..."
	}
	return fmt.Sprintf("%s  %s  %-28s %s", it.ID, it.Time.Local().Format("2006-01-02 15:04"), what, purpose)
}
