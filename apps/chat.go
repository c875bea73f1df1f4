package apps

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sbfeed/sbfeed/identity"
)

// MaxChatText bounds the bytes of one chat message.
const MaxChatText = 4096

// ChatSay is the type of a chat action.
const ChatSay = "say"

// ChatAction is a chat action, {"type":"say","text":"hello"}. Author is not
// part of the JSON: the codec fills it from the entry's author, which the
// signature vouches for, so nobody can speak for someone else.
type ChatAction struct {
	Type   string      `json:"type"`
	Text   string      `json:"text"`
	Author identity.ID `json:"-"`
}

// UnmarshalJSON reads a chat action; it must be an object with a string
// "type". The author is never read from JSON.
func (a *ChatAction) UnmarshalJSON(b []byte) error {
	var p struct {
		Type *string `json:"type"`
		Text string  `json:"text"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return badAction(b, "not a chat action: %v", err)
	}
	if p.Type == nil {
		return badAction(b, "no \"type\" field")
	}
	*a = ChatAction{Type: *p.Type, Text: p.Text, Author: a.Author}
	return nil
}

// SetAuthor records the entry's author (sbfeed.Authored).
func (a *ChatAction) SetAuthor(id identity.ID) { a.Author = id }

// ChatMessage is one message of the chat state.
type ChatMessage struct {
	Author identity.ID `json:"author"`
	Text   string      `json:"text"`
}

// ChatState is the list of messages in the agreed order. Treat it as
// immutable: the reducer returns a new slice on every message.
type ChatState []ChatMessage

// ChatReduce is the chat reducer: "say" appends the message. Empty or
// oversized messages and unknown types are refused.
func ChatReduce(s ChatState, a ChatAction) (ChatState, error) {
	switch a.Type {
	case ChatSay:
	default:
		return s, fmt.Errorf("%w: chat: %q", ErrUnknownType, a.Type)
	}
	if strings.TrimSpace(a.Text) == "" {
		return s, fmt.Errorf("%w: chat: empty message", ErrRefused)
	}
	if len(a.Text) > MaxChatText {
		return s, fmt.Errorf("%w: chat: message of %d bytes, limit %d", ErrRefused, len(a.Text), MaxChatText)
	}
	// Copy rather than append in place: an older state (a snapshot, or a
	// value a caller still holds) may share the backing array.
	out := make(ChatState, len(s), len(s)+1)
	copy(out, s)
	return append(out, ChatMessage{Author: a.Author, Text: a.Text}), nil
}

// Chat is the built-in chat app. Its state is a JSON list of
// {"author":"sbf1…","text":"…"} in the agreed order.
var Chat = &App[ChatState, ChatAction]{
	Name:   "chat",
	Init:   ChatState{},
	Reduce: ChatReduce,
	Decode: func(author identity.ID, b []byte) (ChatAction, error) {
		var a ChatAction
		err := unmarshal(b, &a)
		a.Author = author
		return a, err
	},
	Encode: func(a ChatAction) ([]byte, error) { return json.Marshal(a) },
	Marshal: func(s ChatState) ([]byte, error) {
		if s == nil {
			s = ChatState{}
		}
		return json.Marshal(s)
	},
}
