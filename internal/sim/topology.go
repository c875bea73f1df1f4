package sim

// Mesh connects peers ps in a ring plus extra random chords so every peer
// has about degree links.
func (s *Sim) Mesh(ps []int, degree int) {
	n := len(ps)
	if n < 2 {
		return
	}
	for i := range ps {
		s.Connect(ps[i], ps[(i+1)%n])
	}
	for i := range ps {
		for range max(0, (degree-2+1)/2) {
			j := s.rng.IntN(n)
			if j != i {
				s.Connect(ps[i], ps[j])
			}
		}
	}
}

// Star connects every peer of ps to the server.
func (s *Sim) Star(server int, ps []int) {
	for _, p := range ps {
		if p != server {
			s.Connect(server, p)
		}
	}
}

// Chain connects ps in a line: ps[0]–ps[1]–…, every entry relayed hop by hop.
func (s *Sim) Chain(ps []int) {
	for i := 1; i < len(ps); i++ {
		s.Connect(ps[i-1], ps[i])
	}
}
