package replicate

import "crypto/sha256"

func merkletreeSHA(b []byte) [32]byte { return sha256.Sum256(b) }
