"""Language-model providers behind one protocol, with pricing and usage accounting."""
