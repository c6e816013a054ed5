package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/bootstrap"
)

func testCmd(g *globals) *cobra.Command {
	var junitFile string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [PATTERN]",
		Short: "Run the tests that live in the image",
		Long: `Run every test in the image: each method whose name starts with "test" on
every object that uses the TestCase trait. PATTERN is a regular expression
matched against "Object>>selector". Each test runs between setUp and
tearDown in a transaction that is rolled back, so tests leave no trace.
Failures are printed with their tracebacks, then "N passed, N failed"; the
exit status is 1 if any test failed.`,
		Example: `  phoenix test --image my.image
  phoenix test --image my.image 'AccountTest>>testDep' --junit out/junit.xml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			opts := bootstrap.TestOptions{Budget: g.budget}
			if len(args) == 1 {
				opts.Pattern = args[0]
			}
			if verbose {
				opts.Progress = func(r bootstrap.TestResult) {
					fmt.Fprintf(g.console().Out, "%-5s %s (%v)\n", r.Status, r.Name(), r.Duration.Round(1000))
				}
			}
			rep, err := bootstrap.RunTests(cmd.Context(), s.VM, opts)
			if err != nil {
				return err
			}
			if junitFile != "" {
				f, err := os.Create(junitFile)
				if err != nil {
					return err
				}
				if err := rep.WriteJUnit(f, s.Path); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			rep.WriteText(g.console().Out)
			if rep.Failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&junitFile, "junit", "", "also write the results as JUnit XML to this file")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test as it runs")
	return cmd
}
