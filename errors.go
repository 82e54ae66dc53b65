package gamemesh

import (
	"context"
	"errors"
	"fmt"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Code is a client-facing error code. The catalogue is the proto enum
// gamev1.ErrorCode, so the codes a function returns are the codes a client sees.
type Code = gamev1.ErrorCode

// The error codes, re-exported from the catalogue for readability.
const (
	CodeOK               = gamev1.ErrorCode_ERROR_CODE_OK
	CodeInternal         = gamev1.ErrorCode_ERROR_CODE_INTERNAL
	CodeBadRequest       = gamev1.ErrorCode_ERROR_CODE_BAD_REQUEST
	CodeInvalidArgument  = gamev1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT
	CodeUnknownRoute     = gamev1.ErrorCode_ERROR_CODE_UNKNOWN_ROUTE
	CodeNotLoggedIn      = gamev1.ErrorCode_ERROR_CODE_NOT_LOGGED_IN
	CodeBadTicket        = gamev1.ErrorCode_ERROR_CODE_BAD_TICKET
	CodeTicketExpired    = gamev1.ErrorCode_ERROR_CODE_TICKET_EXPIRED
	CodeTicketReplayed   = gamev1.ErrorCode_ERROR_CODE_TICKET_REPLAYED
	CodeBanned           = gamev1.ErrorCode_ERROR_CODE_BANNED
	CodeRateLimited      = gamev1.ErrorCode_ERROR_CODE_RATE_LIMITED
	CodeFrameTooLarge    = gamev1.ErrorCode_ERROR_CODE_FRAME_TOO_LARGE
	CodeBodyTooLarge     = gamev1.ErrorCode_ERROR_CODE_BODY_TOO_LARGE
	CodeServerFull       = gamev1.ErrorCode_ERROR_CODE_SERVER_FULL
	CodeKicked           = gamev1.ErrorCode_ERROR_CODE_KICKED
	CodeNotFound         = gamev1.ErrorCode_ERROR_CODE_NOT_FOUND
	CodePermissionDenied = gamev1.ErrorCode_ERROR_CODE_PERMISSION_DENIED
	CodeConflict         = gamev1.ErrorCode_ERROR_CODE_CONFLICT
	CodeDeadlineExceeded = gamev1.ErrorCode_ERROR_CODE_DEADLINE_EXCEEDED
	CodeUnavailable      = gamev1.ErrorCode_ERROR_CODE_UNAVAILABLE
	CodeFeatureDisabled  = gamev1.ErrorCode_ERROR_CODE_FEATURE_DISABLED
	CodeAlreadyDone      = gamev1.ErrorCode_ERROR_CODE_ALREADY_DONE
	CodeExpired          = gamev1.ErrorCode_ERROR_CODE_EXPIRED
	CodeLimitReached     = gamev1.ErrorCode_ERROR_CODE_LIMIT_REACHED
	CodeProtocol         = gamev1.ErrorCode_ERROR_CODE_PROTOCOL
	CodeTimeout          = gamev1.ErrorCode_ERROR_CODE_TIMEOUT
	CodeSlowConsumer     = gamev1.ErrorCode_ERROR_CODE_SLOW_CONSUMER
	CodeShuttingDown     = gamev1.ErrorCode_ERROR_CODE_SHUTTING_DOWN
	CodeMuted            = gamev1.ErrorCode_ERROR_CODE_MUTED
	CodeResumeFailed     = gamev1.ErrorCode_ERROR_CODE_RESUME_FAILED
)

// Error is an error with a client-facing code. Message is safe to show to a
// client; Err (optional) is the internal cause, logged but never sent.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", codeName(e.Code), e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", codeName(e.Code), e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrNotFound) matches any NOT_FOUND error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Err == nil
}

// Errorf returns an *Error with the given code and a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message whose internal cause is err.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Sentinels for errors.Is; they match any *Error with the same code.
var (
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrUnavailable = &Error{Code: CodeUnavailable}
)

// CodeOf returns the client-facing code of err: the code of the first *Error in
// its chain, DEADLINE_EXCEEDED for a context deadline, UNAVAILABLE for a
// cancelled context, INTERNAL otherwise (and OK for nil).
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return CodeUnavailable
	}
	return CodeInternal
}

// MessageOf returns the client-safe message of err: the message of its *Error,
// or a generic text for its code (internal causes are never exposed).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	switch CodeOf(err) {
	case CodeOK:
		return ""
	case CodeDeadlineExceeded:
		return "deadline exceeded"
	case CodeUnavailable:
		return "unavailable"
	}
	return "internal error"
}

func codeName(c Code) string {
	if n, ok := gamev1.ErrorCode_name[int32(c)]; ok {
		return n[len("ERROR_CODE_"):]
	}
	return fmt.Sprintf("CODE_%d", int32(c))
}
