// Package agent is Phoenix's agentic control plane: LLM objects, the
// doesNotUnderstand resolver, the planner and its tools, policy, approvals
// and the audit log. It sits above vm and image (and sandbox); it may import
// those, bootstrap, go-openai and the standard library; browser/workspace and
// cmd sit above it.
package agent
