package vm

import (
	"strings"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Sends reports whether the Lua source src sends selector: whether its
// syntax tree (gopher-lua's parse package) holds a method call
// x:selector(...) — Lua's send, in any of its forms, x:selector "s" and
// x:selector {…} too — or a call of a field x.selector(...), the same
// message with the receiver passed by hand. The name in a string, a
// comment, a method definition (function X:selector) or a field read that
// is not called is not a send. A source that does not parse sends
// nothing (stored methods always parse).
func Sends(src, selector string) bool {
	chunk, err := parse.Parse(strings.NewReader(src), "senders")
	if err != nil {
		return false
	}
	f := sendFinder{selector: selector}
	f.stmts(chunk)
	return f.found
}

// sendFinder walks statements and expressions until it finds a send.
type sendFinder struct {
	selector string
	found    bool
}

func (f *sendFinder) stmts(ss []ast.Stmt) {
	for _, s := range ss {
		if f.found {
			return
		}
		f.stmt(s)
	}
}

func (f *sendFinder) exprs(es []ast.Expr) {
	for _, e := range es {
		if f.found {
			return
		}
		f.expr(e)
	}
}

func (f *sendFinder) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		f.exprs(s.Lhs)
		f.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		f.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		f.expr(s.Expr)
	case *ast.DoBlockStmt:
		f.stmts(s.Stmts)
	case *ast.WhileStmt:
		f.expr(s.Condition)
		f.stmts(s.Stmts)
	case *ast.RepeatStmt:
		f.stmts(s.Stmts)
		f.expr(s.Condition)
	case *ast.IfStmt:
		f.expr(s.Condition)
		f.stmts(s.Then)
		f.stmts(s.Else)
	case *ast.NumberForStmt:
		f.exprs([]ast.Expr{s.Init, s.Limit, s.Step})
		f.stmts(s.Stmts)
	case *ast.GenericForStmt:
		f.exprs(s.Exprs)
		f.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		// The name being defined (function X:sel) is not a send; the
		// receiver expression (function a:b().c:sel) cannot hold one in
		// Lua's grammar, so only the body is walked.
		if s.Func != nil {
			f.stmts(s.Func.Stmts)
		}
	case *ast.ReturnStmt:
		f.exprs(s.Exprs)
	}
}

func (f *sendFinder) expr(e ast.Expr) {
	switch e := e.(type) {
	case nil:
	case *ast.FuncCallExpr:
		if e.Receiver != nil && e.Method == f.selector {
			f.found = true
			return
		}
		if g, ok := e.Func.(*ast.AttrGetExpr); ok {
			if k, ok := g.Key.(*ast.StringExpr); ok && k.Value == f.selector {
				f.found = true
				return
			}
		}
		f.expr(e.Func)
		f.expr(e.Receiver)
		f.exprs(e.Args)
	case *ast.AttrGetExpr:
		f.expr(e.Object)
		f.expr(e.Key)
	case *ast.TableExpr:
		for _, fl := range e.Fields {
			f.expr(fl.Key)
			f.expr(fl.Value)
		}
	case *ast.LogicalOpExpr:
		f.expr(e.Lhs)
		f.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		f.expr(e.Lhs)
		f.expr(e.Rhs)
	case *ast.StringConcatOpExpr:
		f.expr(e.Lhs)
		f.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		f.expr(e.Lhs)
		f.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		f.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		f.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		f.expr(e.Expr)
	case *ast.FunctionExpr:
		f.stmts(e.Stmts)
	}
}
