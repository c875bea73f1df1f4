package apps

import (
	"encoding/json"
	"fmt"
	"testing"
)

func BenchmarkKVReduce(b *testing.B) {
	var acts []KVAction
	for i := range 1000 {
		acts = append(acts, KVAction{Type: KVSet, Key: fmt.Sprintf("k%d", i), Value: json.RawMessage(fmt.Sprint(i))})
	}
	var s KVState
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, _ = KVReduce(s, acts[i%len(acts)])
	}
}

func BenchmarkKVDecode(b *testing.B) {
	c := []byte(`{"type":"set","key":"k123","value":123}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var a KVAction
		if err := json.Unmarshal(c, &a); err != nil {
			b.Fatal(err)
		}
	}
}
