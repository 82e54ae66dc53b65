package luavm

import (
	"errors"
	"fmt"

	"github.com/gamemesh/gamemesh"
)

// Budget names a budget a call can exhaust. A VM that hit any budget is
// thrown away and rebuilt, never reused.
type Budget string

// The budgets.
const (
	BudgetNone      Budget = ""
	BudgetDeadline  Budget = "deadline"   // wall-clock CallTimeout (or the caller's deadline)
	BudgetCPU       Budget = "cpu"        // CPUTime on the worker thread's clock
	BudgetCallStack Budget = "call_stack" // CallStackSize frames
	BudgetRegistry  Budget = "registry"   // RegistryMaxSize slots
	BudgetCancelled Budget = "cancelled"  // the caller's context was cancelled
	BudgetPanic     Budget = "panic"      // a Go panic inside the VM
)

// code is the client-facing code of a call that hit b.
func (b Budget) code() gamemesh.Code {
	switch b {
	case BudgetDeadline:
		return gamemesh.CodeDeadlineExceeded
	case BudgetCancelled:
		return gamemesh.CodeUnavailable
	case BudgetPanic:
		return gamemesh.CodeInternal
	}
	return gamemesh.CodeLimitReached
}

// ScriptError is the internal cause of a failed Lua call: which module,
// generation and function, and either the Lua error or the budget hit. It is
// the Err of the *gamemesh.Error a call returns.
type ScriptError struct {
	Module     string
	Generation int
	Hash       string
	Fn         string
	// Budget is set when the call was stopped by a budget; Message then
	// describes it. Otherwise the script raised an error.
	Budget  Budget
	Message string
}

// Error implements error.
func (e *ScriptError) Error() string {
	where := fmt.Sprintf("%s#%d(%s).%s", e.Module, e.Generation, short(e.Hash), e.Fn)
	if e.Budget != BudgetNone {
		return fmt.Sprintf("%s: budget %s exceeded: %s", where, e.Budget, e.Message)
	}
	return fmt.Sprintf("%s: %s", where, e.Message)
}

// BudgetOf returns the budget err hit, or BudgetNone.
func BudgetOf(err error) Budget {
	var se *ScriptError
	if errors.As(err, &se) {
		return se.Budget
	}
	return BudgetNone
}

// asError wraps a ScriptError into the *gamemesh.Error callers see.
func (e *ScriptError) asError() error {
	if e.Budget != BudgetNone {
		return gamemesh.Wrap(e.Budget.code(), e, fmt.Sprintf("script %s.%s stopped: %s budget exceeded", e.Module, e.Fn, e.Budget))
	}
	return gamemesh.Wrap(gamemesh.CodeInternal, e, fmt.Sprintf("script %s.%s failed", e.Module, e.Fn))
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
